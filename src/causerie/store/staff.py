"""Staff accounts, their console sessions and lockouts, and the staff audit log.

Staff are not chatters: they have an account (name, role, argon2id password hash, TOTP secret)
and sign in to the console (:mod:`causerie.console`). A session row is keyed by the SHA-256 of
the random token the browser holds in its cookie, so a copy of this table opens no session; it
carries the session's CSRF token and expires. Failed sign-ins are counted on the account and
lock it for a while.

The staff audit log (``staff_audit``) is only ever appended to, and hash-chained: each row's
``hash`` is a keyed link over its fields and the previous row's hash, computed by the caller
(:mod:`causerie.console.audit`), which holds the key. This store assigns sequence numbers and
keeps rows; it never sees the key, so an edited, removed or reordered row shows on verification.

Migration ``k0001`` (branch ``staff``) creates exactly these tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.domain import ReviewQueue
from causerie.store.schema import metadata


class Role(StrEnum):
    """What a staff member may do (docs/moderation.md has the table)."""

    MODERATOR = "moderator"
    # The only role that sees the child-safety queue.
    CHILD_SAFETY = "child_safety"
    # Appeals, bans, suspensions, bulk actions, trusted flaggers.
    SENIOR = "senior"
    # Referrals to authorities and judicial requests.
    LEGAL = "legal"
    # Staff accounts and settings.
    ADMIN = "admin"

    @property
    def queues(self) -> frozenset[ReviewQueue]:
        """The review queues this role sees; child safety only for its own moderators."""
        return _QUEUES[self]

    @property
    def reviews(self) -> bool:
        """Takes decisions on review jobs."""
        return self in (Role.MODERATOR, Role.CHILD_SAFETY, Role.SENIOR)

    @property
    def senior(self) -> bool:
        return self is Role.SENIOR


_ORDINARY = frozenset({ReviewQueue.GENERAL, ReviewQueue.VIOLENCE})
_QUEUES: Mapping[Role, frozenset[ReviewQueue]] = {
    Role.MODERATOR: _ORDINARY,
    Role.CHILD_SAFETY: _ORDINARY | {ReviewQueue.CHILD_SAFETY},
    Role.SENIOR: _ORDINARY | {ReviewQueue.APPEALS},
    Role.LEGAL: _ORDINARY,
    Role.ADMIN: frozenset(),
}

ROLES = tuple(r.value for r in Role)
_ROLE_CHECK = "role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")"

staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("role", String(16), nullable=False),
    # argon2id, in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    Column("password_hash", String(200), nullable=False),
    # Sealed ("s1:" + base64, console.auth.TotpVault); migration k0002 widened it.
    Column("totp_secret", String(200), nullable=False),
    # The last TOTP time step accepted: a code is good once.
    Column("totp_last_step", Integer, nullable=False, server_default="0"),
    Column("created_at", Double, nullable=False),
    Column("disabled_at", Double, nullable=True),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("locked_until", Double, nullable=True),
    Column("last_login_at", Double, nullable=True),
    CheckConstraint(_ROLE_CHECK, name="role"),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    # SHA-256 of the cookie's token.
    Column("id", String(64), primary_key=True),
    Column(
        "staff_name",
        String(40),
        ForeignKey("staff_accounts.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

staff_audit = Table(
    "staff_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Double, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(120), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class StaffAccount:
    name: str
    role: Role
    password_hash: str
    totp_secret: str
    totp_last_step: int
    created_at: float
    disabled_at: float | None
    failures: int
    locked_until: float | None
    last_login_at: float | None

    def locked(self, now: float) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True, slots=True)
class StaffSession:
    id: str
    staff_name: str
    csrf: str
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    target: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str


class StaffExists(ValueError):
    """A staff account of that name exists already."""


def session_key(token: str) -> str:
    """The row id of the session a cookie token opens."""
    return hashlib.sha256(token.encode()).hexdigest()


def _account(m: Mapping[Any, Any]) -> StaffAccount:
    return StaffAccount(
        name=m["name"],
        role=Role(m["role"]),
        password_hash=m["password_hash"],
        totp_secret=m["totp_secret"],
        totp_last_step=int(m["totp_last_step"]),
        created_at=m["created_at"],
        disabled_at=m["disabled_at"],
        failures=int(m["failures"]),
        locked_until=m["locked_until"],
        last_login_at=m["last_login_at"],
    )


def _entry(m: Mapping[Any, Any]) -> AuditEntry:
    return AuditEntry(**{c.name: m[c.name] for c in staff_audit.c})


# The link of a new audit row: (seq, prev_hash) -> hash, computed by the keyholder.
Linker = Callable[[int, str], str]
GENESIS = "0" * 64


class StaffStore:
    """Accounts, sessions and the audit rows; every query about staff is here."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- accounts -------------------------------------------------------------------------------

    async def add(
        self, name: str, role: Role, password_hash: str, totp_secret: str, *, now: float
    ) -> StaffAccount:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(staff_accounts).values(
                        name=name,
                        role=role.value,
                        password_hash=password_hash,
                        totp_secret=totp_secret,
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise StaffExists(f"a staff account named {name!r} exists already") from None
        account = await self.get(name)
        assert account is not None
        return account

    async def get(self, name: str) -> StaffAccount | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(staff_accounts).where(staff_accounts.c.name == name))
            ).first()
        return _account(row._mapping) if row is not None else None

    async def accounts(self) -> list[StaffAccount]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(staff_accounts).order_by(staff_accounts.c.name))
            ).all()
        return [_account(r._mapping) for r in rows]

    async def _set(self, name: str, **values: Any) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(staff_accounts).where(staff_accounts.c.name == name).values(**values)
            )
            return (result.rowcount or 0) == 1

    async def set_role(self, name: str, role: Role) -> bool:
        return await self._set(name, role=role.value)

    async def set_password(self, name: str, password_hash: str) -> bool:
        return await self._set(name, password_hash=password_hash)

    async def set_totp(self, name: str, secret: str) -> bool:
        return await self._set(name, totp_secret=secret, totp_last_step=0)

    async def set_totp_sealed(self, name: str, sealed: str) -> bool:
        """The same secret, sealed (its last used step stays: no replay through this)."""
        return await self._set(name, totp_secret=sealed)

    async def disable(self, name: str, *, now: float) -> bool:
        """Disable an account and end its sessions."""
        done = await self._set(name, disabled_at=now)
        async with self.engine.begin() as conn:
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_name == name))
        return done

    async def enable(self, name: str) -> bool:
        return await self._set(name, disabled_at=None, failures=0, locked_until=None)

    async def record_failure(
        self, name: str, *, now: float, limit: int, lock_seconds: float
    ) -> int:
        """Count a failed sign-in; at ``limit`` failures the account locks. Returns the count.

        One UPDATE increments, so concurrent failures all count.
        """
        async with self.engine.begin() as conn:
            await conn.execute(
                update(staff_accounts)
                .where(staff_accounts.c.name == name)
                .values(failures=staff_accounts.c.failures + 1)
            )
            failures = (
                await conn.execute(
                    select(staff_accounts.c.failures).where(staff_accounts.c.name == name)
                )
            ).scalar_one_or_none()
            if failures is None:
                return 0
            if failures >= limit:
                await conn.execute(
                    update(staff_accounts)
                    .where(staff_accounts.c.name == name)
                    .values(failures=0, locked_until=now + lock_seconds)
                )
            return int(failures)

    async def accept_totp_step(self, name: str, step: int) -> bool:
        """Record the TOTP step used; False if it (or a later one) was used already (replay)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(staff_accounts)
                .where(staff_accounts.c.name == name, staff_accounts.c.totp_last_step < step)
                .values(totp_last_step=step)
            )
            return (result.rowcount or 0) == 1

    async def record_login(self, name: str, *, now: float) -> None:
        await self._set(name, failures=0, locked_until=None, last_login_at=now)

    # -- sessions -------------------------------------------------------------------------------

    async def open_session(
        self, token: str, staff_name: str, csrf: str, *, now: float, ttl_seconds: float
    ) -> StaffSession:
        session = StaffSession(
            id=session_key(token),
            staff_name=staff_name,
            csrf=csrf,
            created_at=now,
            expires_at=now + ttl_seconds,
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(staff_sessions).values(
                    id=session.id,
                    staff_name=staff_name,
                    csrf=csrf,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session

    async def session(self, token: str, *, now: float) -> tuple[StaffSession, StaffAccount] | None:
        """The unexpired session a cookie token opens, with its enabled account."""
        query = (
            select(staff_sessions, *[c.label(f"a_{c.name}") for c in staff_accounts.c])
            .join_from(
                staff_sessions,
                staff_accounts,
                staff_accounts.c.name == staff_sessions.c.staff_name,
            )
            .where(
                staff_sessions.c.id == session_key(token),
                staff_sessions.c.expires_at > now,
                staff_accounts.c.disabled_at.is_(None),
            )
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        session = StaffSession(
            id=m["id"],
            staff_name=m["staff_name"],
            csrf=m["csrf"],
            created_at=m["created_at"],
            expires_at=m["expires_at"],
        )
        return session, _account({c.name: m[f"a_{c.name}"] for c in staff_accounts.c})

    async def close_session(self, token: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(staff_sessions).where(staff_sessions.c.id == session_key(token))
            )

    async def purge_sessions(self, now: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(staff_sessions).where(staff_sessions.c.expires_at <= now)
            )
            return result.rowcount or 0

    # -- audit ----------------------------------------------------------------------------------

    async def append_audit(self, values: Mapping[str, Any], link: Linker) -> AuditEntry:
        """Append one audit row after the last; ``link(seq, prev_hash)`` gives its hash.

        The sequence number is the primary key: of two nodes appending at once one insert fails
        on it and is retried after the other, so the chain never forks.
        """
        for attempt in range(10):
            try:
                async with self.engine.begin() as conn:
                    last = (
                        await conn.execute(
                            select(staff_audit.c.seq, staff_audit.c.hash)
                            .order_by(staff_audit.c.seq.desc())
                            .limit(1)
                        )
                    ).first()
                    seq = (last.seq if last is not None else 0) + 1
                    prev = last.hash if last is not None else GENESIS
                    row = {**values, "seq": seq, "prev_hash": prev, "hash": link(seq, prev)}
                    await conn.execute(insert(staff_audit).values(**row))
                    return _entry(row)
            except IntegrityError:
                if attempt == 9:
                    raise
        raise AssertionError("unreachable")

    async def audit_page(self, after: int, limit: int) -> list[AuditEntry]:
        query = (
            select(staff_audit)
            .where(staff_audit.c.seq > after)
            .order_by(staff_audit.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_entry(r._mapping) for r in await conn.execute(query)]

    async def audit_latest(
        self, limit: int = 100, *, actor: str | None = None, target: str | None = None
    ) -> list[AuditEntry]:
        query = select(staff_audit).order_by(staff_audit.c.seq.desc()).limit(limit)
        if actor is not None:
            query = query.where(staff_audit.c.actor == actor)
        if target is not None:
            query = query.where(staff_audit.c.target == target)
        async with self.engine.connect() as conn:
            return [_entry(r._mapping) for r in await conn.execute(query)]

    async def audit_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(staff_audit))).scalar_one()
            )
