"""The protection of minors' own tables (remembered ages, conversation risk), and its escalations.

Kept apart from the chat tables (their own metadata and Alembic branch ``trust``) because they
outlive the chat's visible window. Escalations and incidents are the one review queue's
(:mod:`causerie.store.review`): an escalation is a job whose item is the conversation, with a
frozen copy of its history kept until moderators close it (the chat's messages are purged after
a few hours); an incident is an event of that conversation. This store keeps the fence's words
for them (:class:`EscalationRow`, :class:`IncidentRow`, whose ``escalation_id`` is the job's id).

What is identifying here, and why (docs/safety.md):

- ``trust_band_memory`` holds a keyed hash (HMAC-SHA256, truncated) of a device token or of an
  address, never the token or the address, and only until the memory window ends.
- incidents keep the text of refused attempts: evidence for moderators. Those no escalation took
  up are deleted after ``minors.incident_retention_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from causerie.domain import AgeBand, Category, ConversationKey, JobStatus
from causerie.store.database import read_rows
from causerie.store.review import (
    Event,
    HistoryMessage,
    ItemKind,
    Job,
    NewEvent,
    NewItem,
    NewJob,
    ReviewStore,
    Source,
    joined,
)
from causerie.store.schema import messages

trust_metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = BigInteger().with_variant(Integer, "sqlite")

band_memory = Table(
    "trust_band_memory",
    trust_metadata,
    Column("key", String(64), primary_key=True),
    # The youngest age declared or claimed under this key; under 13 means "refused entry".
    Column("age", Integer, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
)

used_age_tokens = Table(
    "trust_used_age_tokens",
    trust_metadata,
    Column("replay_key", String(64), primary_key=True),
    Column("expires_at", Double, nullable=False, index=True),
)

conversations = Table(
    "trust_conversations",
    trust_metadata,
    Column("key", String(240), primary_key=True),
    Column("score", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("frozen_at", Double, nullable=True),
    # The review job the conversation's escalation opened, while it is escalated.
    Column("escalation_id", _ID, nullable=True),
)


@dataclass(frozen=True, slots=True)
class Offender:
    session: str
    nickname: str
    key: str
    band: str


@dataclass(frozen=True, slots=True)
class NewIncident:
    kind: str
    action: str
    signals: tuple[str, ...]
    offender: Offender
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class History:
    """Which stored messages make up a conversation's history."""

    room_id: str | None = None
    # Both sides of a private conversation.
    sessions: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class EscalationRequest:
    kind: str
    reason: str
    offender: Offender
    target: str
    signals: tuple[str, ...]
    history: History


@dataclass(frozen=True, slots=True)
class ConversationState:
    key: str
    score: float
    updated_at: float
    frozen_at: float | None
    escalation_id: int | None


@dataclass(frozen=True, slots=True)
class Recorded:
    escalation_id: int | None
    # True when this call opened the escalation (the caller hands it to the evidence locker).
    opened: bool
    frozen: bool


@dataclass(frozen=True, slots=True)
class EscalationRow:
    id: int
    conversation_key: str
    kind: str
    status: str
    reason: str
    offender_session: str
    offender_nickname: str
    offender_key: str
    offender_band: str
    target: str
    score: float
    signals: str
    created_at: float
    updated_at: float
    evidence_ref: str | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    escalation_id: int | None
    conversation_key: str
    kind: str
    action: str
    signals: str
    offender_session: str
    offender_nickname: str
    offender_key: str
    offender_band: str
    target: str
    text: str
    created_at: float


# The frozen history kept with an escalation is the review item's.
PreservedMessage = HistoryMessage

# The review job sources of the fence's escalations.
TRUST_SOURCES = (Source.FENCE, Source.FREEZE, Source.AGE_CLAIM)
AGE_KINDS = frozenset({"age_inconsistency", "under_13_claim"})


def _band(value: str) -> AgeBand | None:
    try:
        return AgeBand(value)
    except ValueError:
        return None


def _escalation_row(job: Job) -> EscalationRow:
    item = job.item
    # Undecided jobs read "open" as they always did; a decided one reads the decision's word.
    status = "open" if job.status is not JobStatus.DECIDED else (job.action or "closed")
    return EscalationRow(
        id=job.id,
        conversation_key=item.conversation_key or item.key,
        kind=job.kind,
        status=status,
        reason=job.reason,
        offender_session=item.author_session or "",
        offender_nickname=item.author_nickname,
        offender_key=item.author_key,
        offender_band=item.author_band.value if item.author_band else "",
        target=item.place or "",
        score=job.score or 0.0,
        signals=joined(item.signals),
        created_at=job.created_at,
        updated_at=job.updated_at,
        evidence_ref=item.evidence_ref,
    )


def _incident_row(event: Event) -> IncidentRow:
    return IncidentRow(
        id=event.id,
        escalation_id=event.job_id,
        conversation_key=event.conversation_key,
        kind=event.kind,
        action=event.action,
        signals=joined(event.signals),
        offender_session=event.author_session,
        offender_nickname=event.author_nickname,
        offender_key=event.author_key,
        offender_band=event.author_band,
        target=event.place,
        text=event.text,
        created_at=event.created_at,
    )


# The hot reads, built once (causerie.store.database.read_rows).
_REMEMBERED = select(band_memory.c.key, band_memory.c.age, band_memory.c.expires_at).where(
    band_memory.c.key.in_(bindparam("keys", expanding=True)),
    band_memory.c.expires_at > bindparam("now"),
)
_CONVERSATION = select(
    conversations.c.key,
    conversations.c.score,
    conversations.c.updated_at,
    conversations.c.frozen_at,
    conversations.c.escalation_id,
).where(conversations.c.key == bindparam("key"))


class TrustStore:
    def __init__(self, engine: AsyncEngine, review: ReviewStore | None = None) -> None:
        self.engine = engine
        self.review = review or ReviewStore(engine)

    # -- remembered ages -----------------------------------------------------------------------

    async def remember_age(self, keys: Sequence[str], age: int, expires_at: float) -> None:
        """Remember ``age`` under each key, keeping the youngest and the latest expiry."""
        for key in keys:
            for _attempt in range(3):
                try:
                    async with self.engine.begin() as conn:
                        row = (
                            await conn.execute(
                                select(band_memory.c.age, band_memory.c.expires_at).where(
                                    band_memory.c.key == key
                                )
                            )
                        ).first()
                        if row is None:
                            await conn.execute(
                                insert(band_memory).values(key=key, age=age, expires_at=expires_at)
                            )
                        else:
                            await conn.execute(
                                update(band_memory)
                                .where(band_memory.c.key == key)
                                .values(
                                    age=min(row.age, age),
                                    expires_at=max(row.expires_at, expires_at),
                                )
                            )
                    break
                except IntegrityError:
                    # Another node inserted the same key meanwhile: read it again.
                    continue

    async def remembered_ages(self, keys: Sequence[str], now: float) -> dict[str, int]:
        return {key: age for key, (age, _) in (await self.remembered(keys, now)).items()}

    async def remembered(self, keys: Sequence[str], now: float) -> dict[str, tuple[int, float]]:
        """The remembered age under each key still in force, and when it lapses."""
        if not keys:
            return {}
        rows = await read_rows(self.engine, _REMEMBERED, {"keys": list(keys), "now": now})
        return {key: (age, expires_at) for key, age, expires_at in rows}

    # -- age tokens ----------------------------------------------------------------------------

    async def use_age_token(self, replay_key: str, expires_at: float) -> bool:
        """Mark a verification token used; False if it was used before (a replay)."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(used_age_tokens).values(replay_key=replay_key, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    # -- conversations -------------------------------------------------------------------------

    async def conversation(self, key: str) -> ConversationState | None:
        rows = await read_rows(self.engine, _CONVERSATION, {"key": key})
        return ConversationState(*rows[0]) if rows else None

    async def record(
        self,
        conversation_key: str,
        *,
        score: float,
        at: float,
        incident: NewIncident | None = None,
        escalate: EscalationRequest | None = None,
        freeze: bool = False,
        history_limit: int = 50,
    ) -> Recorded:
        """Set a conversation's score, record an incident, escalate and freeze, in one commit.

        An escalation is opened once per conversation; later incidents join it. Opening one
        links the conversation's earlier incidents to it and copies its recent history.
        """
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    return await self._record(
                        conn,
                        conversation_key,
                        score=score,
                        at=at,
                        incident=incident,
                        escalate=escalate,
                        freeze=freeze,
                        history_limit=history_limit,
                    )
            except IntegrityError:
                # Two nodes created the same conversation row at once: the second one retries.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _record(
        self,
        conn: AsyncConnection,
        conversation_key: str,
        *,
        score: float,
        at: float,
        incident: NewIncident | None,
        escalate: EscalationRequest | None,
        freeze: bool,
        history_limit: int,
    ) -> Recorded:
        row = (
            await conn.execute(
                select(conversations.c.frozen_at, conversations.c.escalation_id).where(
                    conversations.c.key == conversation_key
                )
            )
        ).first()
        frozen_at = row.frozen_at if row else None
        escalation_id: int | None = row.escalation_id if row else None
        opened = False
        item_id: int | None = None
        if escalate is not None:
            enqueued = await self.review.enqueue(
                _item_of(conversation_key, escalate),
                _job_of(escalate, score, freeze),
                now=at,
                conn=conn,
            )
            escalation_id, item_id, opened = enqueued.job_id, enqueued.item_id, enqueued.opened
            if opened:
                history = await _history(conn, escalate.history, history_limit)
                await self.review.add_history(item_id, history, conn=conn)
        elif escalation_id is not None:
            item_id = await self.review.item_of(escalation_id, conn=conn)
        if freeze and frozen_at is None:
            frozen_at = at
        values = {
            "score": score,
            "updated_at": at,
            "frozen_at": frozen_at,
            "escalation_id": escalation_id,
        }
        if row is None:
            await conn.execute(insert(conversations).values(key=conversation_key, **values))
        else:
            await conn.execute(
                update(conversations)
                .where(conversations.c.key == conversation_key)
                .values(**values)
            )
        if incident is not None:
            await self.review.add_event(
                NewEvent(
                    conversation_key=conversation_key,
                    kind=incident.kind,
                    action=incident.action,
                    signals=incident.signals,
                    author_session=incident.offender.session,
                    author_nickname=incident.offender.nickname,
                    author_key=incident.offender.key,
                    author_band=incident.offender.band,
                    place=incident.target,
                    text=incident.text,
                ),
                at=at,
                item_id=item_id,
                conn=conn,
            )
        if opened and item_id is not None:
            # The conversation's earlier attempts are the new job's evidence too.
            await self.review.attach_events(conversation_key, item_id, conn=conn)
        return Recorded(escalation_id=escalation_id, opened=opened, frozen=frozen_at is not None)

    async def set_evidence_ref(self, escalation_id: int, reference: str) -> None:
        await self.review.set_evidence_ref(escalation_id, reference)

    async def release(self, conversation_key: str, *, status: str, at: float) -> None:
        """A moderator's decision: unfreeze the conversation and close its escalation."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(conversations.c.escalation_id).where(
                        conversations.c.key == conversation_key
                    )
                )
            ).first()
            if row is None:
                return
            if row.escalation_id is not None:
                await self.review.close(row.escalation_id, status, now=at, conn=conn)
            await conn.execute(
                update(conversations)
                .where(conversations.c.key == conversation_key)
                .values(frozen_at=None, escalation_id=None, score=0.0, updated_at=at)
            )

    # -- reading, for moderators and tests -----------------------------------------------------

    async def escalations(self, *, status: str | None = None) -> list[EscalationRow]:
        """The fence's escalations in the order they were opened."""
        statuses: tuple[JobStatus, ...] | None = None
        if status == "open":
            statuses = (JobStatus.OPEN, JobStatus.CLAIMED)
        elif status is not None:
            statuses = (JobStatus.DECIDED,)
        jobs = await self.review.jobs(
            status=statuses, sources=TRUST_SOURCES, limit=None, by_id=True
        )
        rows = [_escalation_row(job) for job in jobs]
        return [r for r in rows if status is None or r.status == status]

    async def incidents(
        self, *, conversation_key: str | None = None, offender_key: str | None = None
    ) -> list[IncidentRow]:
        events = await self.review.events(
            conversation_key=conversation_key, author_key=offender_key
        )
        return [_incident_row(e) for e in events]

    async def preserved(self, escalation_id: int) -> list[PreservedMessage]:
        return await self.review.history(escalation_id)

    # -- housekeeping --------------------------------------------------------------------------

    async def purge(self, now: float, *, incidents_before: float, quiet_before: float) -> int:
        """Forget expired memories and tokens, stale incidents and quiet conversations.

        Escalated incidents and frozen or escalated conversations stay until moderators close
        them; the rest goes once its window has passed.
        """
        async with self.engine.begin() as conn:
            removed = 0
            for statement in (
                delete(band_memory).where(band_memory.c.expires_at <= now),
                delete(used_age_tokens).where(used_age_tokens.c.expires_at <= now),
                delete(conversations).where(
                    conversations.c.frozen_at.is_(None),
                    conversations.c.escalation_id.is_(None),
                    conversations.c.updated_at < quiet_before,
                ),
            ):
                removed += (await conn.execute(statement)).rowcount or 0
            removed += await self.review.purge_events(incidents_before, conn=conn)
            return removed


def _item_of(conversation_key: str, request: EscalationRequest) -> NewItem:
    return NewItem(
        kind=ItemKind.of_conversation(conversation_key),
        key=conversation_key,
        author_key=request.offender.key,
        author_nickname=request.offender.nickname,
        author_session=request.offender.session,
        author_band=_band(request.offender.band),
        place=request.target,
        conversation_key=ConversationKey(conversation_key),
        signals=request.signals,
    )


def _job_of(request: EscalationRequest, score: float, freeze: bool) -> NewJob:
    if request.kind in AGE_KINDS:
        source = Source.AGE_CLAIM
    else:
        source = Source.FREEZE if freeze else Source.FENCE
    # Everything the fence escalates is about a minor: the child-safety queue, first.
    return NewJob.for_category(
        Category.CHILD_SAFETY,
        source=source,
        kind=request.kind,
        reason=request.reason,
        score=max(score, 0.0),
    )


async def _history(conn: AsyncConnection, history: History, limit: int) -> list[PreservedMessage]:
    if history.room_id is not None:
        where = messages.c.room_id == history.room_id
    elif history.sessions is not None:
        first, second = history.sessions
        where = or_(
            and_(messages.c.sender_session == first, messages.c.recipient_session == second),
            and_(messages.c.sender_session == second, messages.c.recipient_session == first),
        )
    else:
        return []
    query = (
        select(
            messages.c.id,
            messages.c.room_id,
            messages.c.sender_nickname,
            messages.c.recipient_nickname,
            messages.c.text,
            messages.c.created_at,
        )
        .where(where)
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    rows = [PreservedMessage(*r) for r in await conn.execute(query)]
    rows.reverse()
    return rows
