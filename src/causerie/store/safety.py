"""Safety decisions, strikes and sanctions: the durable record of the policy engine.

A decision row is written for every subject screened (message, private message, nickname, room
name, topic). It keeps a hash of the text, not the text: what was said stays in the messages table
and expires with it. An escalation or a hold keeps the text, because a moderator must read it
after the message has expired: it is a job of the one review queue (:mod:`causerie.store.review`),
where this store puts it and reads it back. Migration ``s0001`` creates the decision tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import (
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.domain import Category, JobStatus
from causerie.store.database import Write, read_rows, write_in_thread
from causerie.store.review import ItemKind, Job, NewItem, NewJob, ReviewStore, Source, queue_of
from causerie.store.schema import metadata

safety_decisions = Table(
    "safety_decisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", Double, nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    # "m<message id>" once the message is stored; NULL for what was never stored.
    Column("content_id", String(40), nullable=True, index=True),
    Column("subject_hash", String(64), nullable=False),
    Column("author_key", String(80), nullable=False, index=True),
    Column("room_id", String(80), nullable=True),
    Column("recipient_key", String(80), nullable=True),
    Column("audience", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("category", String(32), nullable=True),
    Column("escalated", Boolean, nullable=False, server_default="0"),
    # JSON: {"category": score}, ["rule id", ...], {"stage": milliseconds}.
    Column("scores", Text, nullable=False),
    Column("rules", Text, nullable=False),
    Column("stages", Text, nullable=False),
    Column("policy_version", String(80), nullable=False),
    Column("elapsed_ms", Double, nullable=False),
)

safety_strikes = Table(
    "safety_strikes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author_key", String(80), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("points", Double, nullable=False),
    Column("category", String(32), nullable=True),
    Column("decision_id", String(32), nullable=False),
    Index("ix_safety_strikes_author", "author_key", "created_at"),
)

safety_sanctions = Table(
    "safety_sanctions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("author_key", String(80), nullable=False, index=True),
    # "mute" or "ban".
    Column("kind", String(8), nullable=False),
    Column("starts_at", Double, nullable=False),
    # NULL: for ever.
    Column("ends_at", Double, nullable=True),
    Column("lifted_at", Double, nullable=True),
    Column("reason", String(200), nullable=False),
    Column("decision_id", String(32), nullable=True),
    # A ban also holds the banned chatter's device token and, only when a moderator chose it,
    # their address, both as the minors fence's keyed hashes (``MinorsFence.memory_keys``), so
    # that another nickname from the same device is refused at entry. An address is shared
    # (families, CGNAT): its part of the ban ends at ``address_ends_at``, sooner (migration b0001).
    Column("device_key", String(64), nullable=True, index=True),
    Column("address_key", String(64), nullable=True, index=True),
    Column("address_ends_at", Double, nullable=True),
)

# The hashed device and address keys each session entered with, kept ENTRY_KEYS_SECONDS, so that
# a moderator's ban can reach the device a chatter used even after they left (migration b0001).
safety_entry_keys = Table(
    "safety_entry_keys",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("nickname_key", String(80), nullable=False),
    Column("device_key", String(64), nullable=True),
    Column("address_key", String(64), nullable=True),
    Column("entered_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Index("ix_safety_entry_keys_nickname", "nickname_key", "entered_at"),
)
# Thirty days: time enough for a report to be decided (and a ban to find the device).
ENTRY_KEYS_SECONDS = 30 * 86_400


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: str
    created_at: float
    subject_kind: str
    subject_hash: str
    author_key: str
    audience: str
    action: str
    category: str | None
    escalated: bool
    scores: dict[str, float]
    rules: list[str]
    stages: dict[str, float]
    policy_version: str
    elapsed_ms: float
    room_id: str | None = None
    recipient_key: str | None = None
    content_id: str | None = None

    def row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "subject_kind": self.subject_kind,
            "content_id": self.content_id,
            "subject_hash": self.subject_hash,
            "author_key": self.author_key,
            "room_id": self.room_id,
            "recipient_key": self.recipient_key,
            "audience": self.audience,
            "action": self.action,
            "category": self.category,
            "escalated": self.escalated,
            "scores": _json_text(self.scores),
            "rules": _json_text(self.rules),
            "stages": _json_text(self.stages),
            "policy_version": self.policy_version,
            "elapsed_ms": self.elapsed_ms,
        }


# A decision row is written for every message: msgspec encodes its JSON columns about 8x
# faster than the standard library, keys sorted as before.
_json_encoder = msgspec.json.Encoder(order="sorted")


def _json_text(value: object) -> str:
    return _json_encoder.encode(value).decode()


@dataclass(frozen=True, slots=True)
class Escalation:
    """A decision a moderator must look at, as the pipeline hands it over and reads it back.

    It is stored as a review job (``id`` is the job's id) whose item is the decision's subject.
    """

    decision_id: str
    created_at: float
    # "escalate" (a moderator must look) or "hold" (the content waits for a moderator's release).
    reason: str
    category: str | None
    # Lower is more urgent: child safety comes first in the moderation queue.
    priority: int
    subject_kind: str
    author_key: str
    author_nickname: str
    text: str
    room_id: str | None = None
    recipient_key: str | None = None
    status: str = "open"
    id: int | None = None
    # The stage that escalated; by default a hold's is "hold", and an escalation's "rules" when
    # rules fired for its decision, else "model".
    source: Source | None = None

    def review_item(self) -> NewItem:
        return NewItem(
            kind=ItemKind(self.subject_kind),
            # One job per decision: each held message waits for its own release.
            key=f"decision:{self.decision_id}",
            author_key=self.author_key,
            author_nickname=self.author_nickname,
            text=self.text,
            room_id=self.room_id,
            recipient_key=self.recipient_key,
            decision_id=self.decision_id,
        )

    def review_job(self, record: DecisionRecord | None) -> NewJob:
        category = Category(self.category) if self.category is not None else None
        source = self.source
        if source is None:
            if self.reason == "hold":
                source = Source.HOLD
            else:
                source = Source.RULES if record is None or record.rules else Source.MODEL
        label = "held for review" if self.reason == "hold" else "escalated"
        return NewJob(
            queue=queue_of(category),
            priority=self.priority,
            source=source,
            kind=self.reason,
            reason=f"{label}: {self.category or 'uncategorised'}",
            category=category,
        )

    @classmethod
    def of_job(cls, job: Job) -> Escalation:
        item = job.item
        return cls(
            id=job.id,
            decision_id=item.decision_id or "",
            created_at=job.created_at,
            reason=job.kind,
            category=job.category.value if job.category else None,
            priority=job.priority,
            subject_kind=item.kind.value,
            author_key=item.author_key,
            author_nickname=item.author_nickname,
            text=item.text,
            room_id=item.room_id,
            recipient_key=item.recipient_key,
            status=job.status.value,
            source=job.source,
        )


# The review job sources this store's escalations come from.
SAFETY_SOURCES = (Source.RULES, Source.MODEL, Source.HOLD)


@dataclass(frozen=True, slots=True)
class SanctionRow:
    author_key: str
    kind: str
    starts_at: float
    ends_at: float  # math.inf for ever
    reason: str
    device_key: str | None = None
    address_key: str | None = None
    address_ends_at: float | None = None


@dataclass(frozen=True, slots=True)
class EntryKeys:
    """The hashed device and address a session entered from."""

    session_id: str
    nickname_key: str
    device_key: str | None
    address_key: str | None
    entered_at: float


def _sanction(m: Any) -> SanctionRow:
    return SanctionRow(
        author_key=m["author_key"],
        kind=m["kind"],
        starts_at=m["starts_at"],
        ends_at=math.inf if m["ends_at"] is None else m["ends_at"],
        reason=m["reason"],
        device_key=m["device_key"],
        address_key=m["address_key"],
        address_ends_at=m["address_ends_at"],
    )


def _decision(row: object) -> DecisionRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return DecisionRecord(
        id=m["id"],
        created_at=m["created_at"],
        subject_kind=m["subject_kind"],
        subject_hash=m["subject_hash"],
        author_key=m["author_key"],
        audience=m["audience"],
        action=m["action"],
        category=m["category"],
        escalated=bool(m["escalated"]),
        scores=json.loads(m["scores"]),
        rules=json.loads(m["rules"]),
        stages=json.loads(m["stages"]),
        policy_version=m["policy_version"],
        elapsed_ms=m["elapsed_ms"],
        room_id=m["room_id"],
        recipient_key=m["recipient_key"],
        content_id=m["content_id"],
    )


# The hot reads, built once (causerie.store.database.read_rows).
_STRIKES_SINCE = select(safety_strikes.c.created_at, safety_strikes.c.points).where(
    safety_strikes.c.author_key == bindparam("author_key"),
    safety_strikes.c.created_at >= bindparam("since"),
)
_IN_FORCE = (
    safety_sanctions.c.lifted_at.is_(None),
    safety_sanctions.c.starts_at <= bindparam("now"),
    safety_sanctions.c.ends_at.is_(None) | (safety_sanctions.c.ends_at > bindparam("now")),
)
_ACTIVE_SANCTIONS = select(safety_sanctions).where(*_IN_FORCE)
_ACTIVE_SANCTIONS_OF = _ACTIVE_SANCTIONS.where(
    safety_sanctions.c.author_key == bindparam("author_key")
)
# Built once, filled from a dict (see causerie.store.presence).
_INSERT_ENTRY_KEYS = insert(safety_entry_keys)
# A NULL device or address key matches no row, so one statement serves every entry.
_ENTRY_BANS = select(safety_sanctions).where(
    safety_sanctions.c.kind == "ban",
    *_IN_FORCE,
    or_(
        safety_sanctions.c.author_key == bindparam("nickname_key"),
        safety_sanctions.c.device_key == bindparam("device_key"),
        (safety_sanctions.c.address_key == bindparam("address_key"))
        & (safety_sanctions.c.address_ends_at > bindparam("now")),
    ),
)


class SafetyStore:
    def __init__(self, engine: AsyncEngine, review: ReviewStore | None = None) -> None:
        self.engine = engine
        self.review = review or ReviewStore(engine)

    # -- decisions -----------------------------------------------------------------------------

    async def add_decisions(
        self, records: Sequence[DecisionRecord], escalations: Sequence[Escalation] = ()
    ) -> None:
        """Insert decisions, and queue their escalations for review, in one transaction."""
        if not records and not escalations:
            return
        by_id = {r.id: r for r in records}
        async with self.engine.begin() as conn:
            if records:
                await conn.execute(insert(safety_decisions), [r.row() for r in records])
            for e in escalations:
                await self.review.enqueue(
                    e.review_item(),
                    e.review_job(by_id.get(e.decision_id)),
                    now=e.created_at,
                    conn=conn,
                )

    async def link_content(self, links: Sequence[tuple[str, str]]) -> None:
        """Attach stored content ids to decisions recorded before the content was stored."""
        if not links:
            return
        async with self.engine.begin() as conn:
            for decision_id, content_id in links:
                await conn.execute(
                    update(safety_decisions)
                    .where(safety_decisions.c.id == decision_id)
                    .values(content_id=content_id)
                )
            await self.review.link_content(links, conn=conn)

    async def decision(self, decision_id: str) -> DecisionRecord | None:
        query = select(safety_decisions).where(safety_decisions.c.id == decision_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _decision(row) if row else None

    async def decisions(
        self, *, author_key: str | None = None, content_id: str | None = None, limit: int = 100
    ) -> list[DecisionRecord]:
        """The newest decisions first, optionally about one author or one piece of content."""
        query = select(safety_decisions).order_by(safety_decisions.c.created_at.desc())
        if author_key is not None:
            query = query.where(safety_decisions.c.author_key == author_key)
        if content_id is not None:
            query = query.where(safety_decisions.c.content_id == content_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [_decision(r) for r in rows]

    # -- escalations ---------------------------------------------------------------------------

    async def open_escalations(self, limit: int = 100) -> list[Escalation]:
        """The policy's undecided jobs in the review queue: most urgent first, then oldest."""
        jobs = await self.review.jobs(
            status=(JobStatus.OPEN, JobStatus.CLAIMED), sources=SAFETY_SOURCES, limit=limit
        )
        return [Escalation.of_job(job) for job in jobs]

    # -- strikes and sanctions -----------------------------------------------------------------

    async def add_strike(
        self, author_key: str, points: float, category: str | None, decision_id: str, at: float
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(safety_strikes).values(
                    author_key=author_key,
                    created_at=at,
                    points=points,
                    category=category,
                    decision_id=decision_id,
                )
            )

    async def strikes_since(self, author_key: str, since: float) -> list[tuple[float, float]]:
        rows = await read_rows(
            self.engine, _STRIKES_SINCE, {"author_key": author_key, "since": since}
        )
        return [(r.created_at, r.points) for r in rows]

    async def add_sanction(self, sanction: SanctionRow, decision_id: str | None = None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(safety_sanctions).values(
                    author_key=sanction.author_key,
                    kind=sanction.kind,
                    starts_at=sanction.starts_at,
                    ends_at=None if math.isinf(sanction.ends_at) else sanction.ends_at,
                    reason=sanction.reason[:200],
                    decision_id=decision_id,
                    device_key=sanction.device_key,
                    address_key=sanction.address_key,
                    address_ends_at=sanction.address_ends_at,
                )
            )

    async def lift_sanctions(self, author_key: str, kind: str, at: float) -> int:
        t = safety_sanctions
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.author_key == author_key, t.c.kind == kind, t.c.lifted_at.is_(None))
                .values(lifted_at=at)
            )
            return result.rowcount or 0

    async def active_sanctions(
        self, now: float, author_key: str | None = None
    ) -> list[SanctionRow]:
        if author_key is None:
            rows = await read_rows(self.engine, _ACTIVE_SANCTIONS, {"now": now})
        else:
            rows = await read_rows(
                self.engine, _ACTIVE_SANCTIONS_OF, {"now": now, "author_key": author_key}
            )
        return [_sanction(m) for m in (r._mapping for r in rows)]

    async def entry_ban(
        self, nickname_key: str, device_key: str | None, address_key: str | None, now: float
    ) -> SanctionRow | None:
        """The ban in force on this nickname key, device or (chosen, unexpired) address; the
        longest one when several apply."""
        params = {
            "nickname_key": nickname_key,
            "device_key": device_key,
            "address_key": address_key,
            "now": now,
        }
        rows = [_sanction(r._mapping) for r in await read_rows(self.engine, _ENTRY_BANS, params)]
        if not rows:
            return None

        def ends(row: SanctionRow) -> float:
            # What refuses this entry: the address part alone ends sooner.
            if row.author_key == nickname_key or row.device_key == device_key:
                return row.ends_at
            return row.address_ends_at or 0.0

        return max(rows, key=ends)

    async def record_entry_keys(self, keys: EntryKeys, *, keep_seconds: float) -> None:
        """Keep the keys a session entered with (:meth:`purge_entry_keys` forgets them)."""
        await write_in_thread(self.engine, self.entry_keys_write(keys, keep_seconds=keep_seconds))

    def entry_keys_write(self, keys: EntryKeys, *, keep_seconds: float) -> Write:
        """:meth:`record_entry_keys` as a write for a transaction the caller opens."""
        row = {
            "session_id": keys.session_id,
            "nickname_key": keys.nickname_key,
            "device_key": keys.device_key,
            "address_key": keys.address_key,
            "entered_at": keys.entered_at,
            "expires_at": keys.entered_at + keep_seconds,
        }
        return lambda conn: conn.execute(_INSERT_ENTRY_KEYS, row)

    async def purge_entry_keys(self, now: float) -> int:
        """Forget the entry keys past their time (the node's purge, not every entry)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(safety_entry_keys).where(safety_entry_keys.c.expires_at <= now)
            )
            return result.rowcount or 0

    async def entries_from(
        self, device_key: str | None, address_key: str | None, since: float
    ) -> list[EntryKeys]:
        """The sessions that entered from this device (or address) since ``since``."""
        t = safety_entry_keys
        matches = []
        if device_key is not None:
            matches.append(t.c.device_key == device_key)
        if address_key is not None:
            matches.append(t.c.address_key == address_key)
        if not matches:
            return []
        query = select(t).where(or_(*matches), t.c.entered_at >= since).limit(200)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            EntryKeys(
                m["session_id"],
                m["nickname_key"],
                m["device_key"],
                m["address_key"],
                m["entered_at"],
            )
            for m in (r._mapping for r in rows)
        ]

    async def entry_keys(
        self, nickname_key: str, session_id: str | None = None
    ) -> EntryKeys | None:
        """The keys of ``session_id`` if known, else of this nickname key's latest entry."""
        t = safety_entry_keys
        async with self.engine.connect() as conn:
            row = None
            if session_id:
                row = (await conn.execute(select(t).where(t.c.session_id == session_id))).first()
            if row is None:
                row = (
                    await conn.execute(
                        select(t)
                        .where(t.c.nickname_key == nickname_key)
                        .order_by(t.c.entered_at.desc())
                        .limit(1)
                    )
                ).first()
        if row is None:
            return None
        m = row._mapping
        return EntryKeys(
            m["session_id"], m["nickname_key"], m["device_key"], m["address_key"], m["entered_at"]
        )
