"""Staff sign-in: argon2id passwords, TOTP second factor, lockouts and expiring sessions.

A sign-in needs the account's password *and* a current TOTP code (RFC 6238, 30-second steps,
one step of clock drift either way, each step good once). Five failures in a row, of either
factor, lock the account for fifteen minutes; a locked account refuses even right answers, and
the refusal does not say which factor was wrong. Every outcome is in the staff audit log.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from causerie.console.audit import StaffAudit
from causerie.store.staff import Role, StaffAccount, StaffSession, StaffStore

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 3600
TOTP_STEP = 30
ISSUER = "causerie console"
MIN_PASSWORD = 12
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

# argon2id with the library's defaults (RFC 9106 "second recommended" parameters).
_hasher = PasswordHasher()
# Checked against when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AuthError(Exception):
    """A refused sign-in or account change, in words for the person at the keyboard."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"a staff password has at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def totp_step(code: str, secret: str, now: float) -> int | None:
    """The time step ``code`` is valid for at ``now`` (one step of drift allowed), or None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    current = int(now // TOTP_STEP)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_now(secret: str, now: float) -> str:
    """The code an authenticator shows at ``now`` (tests and the first sign-in check)."""
    return pyotp.TOTP(secret, interval=TOTP_STEP).generate_otp(int(now // TOTP_STEP))


def provisioning_uri(name: str, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_STEP).provisioning_uri(name=name, issuer_name=ISSUER)


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    session: StaffSession
    account: StaffAccount


@dataclass(frozen=True, slots=True)
class NewStaff:
    account: StaffAccount
    provisioning_uri: str


class StaffAuth:
    """Accounts and sessions, with every outcome in the audit log."""

    def __init__(
        self,
        store: StaffStore,
        audit: StaffAudit,
        *,
        clock: Callable[[], float] = time.time,
        session_seconds: float = SESSION_SECONDS,
    ) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock
        self.session_seconds = session_seconds

    async def add(self, name: str, role: Role, password: str, *, by: str) -> NewStaff:
        name = name.strip().lower()
        if not (2 <= len(name) <= 40) or not set(name) <= NAME_CHARS:
            raise AuthError("a staff name is 2 to 40 of a-z, 0-9, '.', '_' and '-'")
        secret = pyotp.random_base32()
        account = await self.store.add(
            name, role, hash_password(password), secret, now=self.clock()
        )
        await self.audit.record(by, "staff.add", name, role=role.value)
        return NewStaff(account, provisioning_uri(name, secret))

    async def reset_totp(self, name: str, *, by: str) -> str:
        secret = pyotp.random_base32()
        if not await self.store.set_totp(name, secret):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.totp_reset", name)
        return provisioning_uri(name, secret)

    async def set_password(self, name: str, password: str, *, by: str) -> None:
        if not await self.store.set_password(name, hash_password(password)):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.password", name)

    async def set_role(self, name: str, role: Role, *, by: str) -> None:
        if not await self.store.set_role(name, role):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.role", name, role=role.value)

    async def disable(self, name: str, *, by: str) -> None:
        if not await self.store.disable(name, now=self.clock()):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.disable", name)

    async def enable(self, name: str, *, by: str) -> None:
        if not await self.store.enable(name):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.enable", name)

    async def sign_in(self, name: str, password: str, code: str) -> SignedIn:
        """Open a session, or raise :class:`AuthError` without saying which factor failed."""
        name = name.strip().lower()[:40]
        now = self.clock()
        account = await self.store.get(name)
        refused = AuthError("wrong name, password or code")
        if account is None:
            password_matches(_DUMMY_HASH, password)
            await self.audit.record(name or "(empty)", "login", outcome="unknown")
            raise refused
        if account.disabled_at is not None:
            await self.audit.record(name, "login", outcome="disabled")
            raise refused
        if account.locked(now):
            await self.audit.record(name, "login", outcome="locked")
            raise AuthError("this account is locked after repeated failures: try again later")
        step = totp_step(code, account.totp_secret, now)
        good = password_matches(account.password_hash, password) and step is not None
        if good and step is not None and not await self.store.accept_totp_step(name, step):
            good = False  # a code already used: a replay
        if not good:
            failures = await self.store.record_failure(
                name, now=now, limit=MAX_FAILURES, lock_seconds=LOCK_SECONDS
            )
            locked = failures >= MAX_FAILURES
            await self.audit.record(name, "login", outcome="locked_now" if locked else "failed")
            if locked:
                raise AuthError("this account is locked after repeated failures: try again later")
            raise refused
        await self.store.record_login(name, now=now)
        token = secrets.token_urlsafe(32)
        session = await self.store.open_session(
            token, name, secrets.token_urlsafe(32), now=now, ttl_seconds=self.session_seconds
        )
        await self.audit.record(name, "login")
        refreshed = await self.store.get(name)
        assert refreshed is not None
        return SignedIn(token, session, refreshed)

    async def session(self, token: str) -> tuple[StaffSession, StaffAccount] | None:
        if not token:
            return None
        return await self.store.session(token, now=self.clock())

    async def sign_out(self, token: str, name: str) -> None:
        await self.store.close_session(token)
        await self.audit.record(name, "logout")
