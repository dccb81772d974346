"""The protection of minors' own tables: remembered ages, conversation risk, incidents, escalations.

Kept apart from the chat tables (their own metadata and Alembic branch ``trust``) because they
outlive the chat's visible window: an escalation keeps a copy of the conversation's history until
moderators close it, while the chat's messages are purged after a few hours.

What is identifying here, and why (docs/safety.md):

- ``trust_band_memory`` holds a keyed hash (HMAC-SHA256, truncated) of a device token or of an
  address, never the token or the address, and only until the memory window ends.
- ``trust_incidents`` keeps the text of refused attempts: evidence for moderators. Those no
  escalation took up are deleted after ``minors.incident_retention_days``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
    Column("escalation_id", _ID, nullable=True),
)

escalations = Table(
    "trust_escalations",
    trust_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("conversation_key", String(240), nullable=False, index=True),
    # grooming, contact_attempt, age_inconsistency, under_13_claim
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("reason", String(400), nullable=False),
    Column("offender_session", String(40), nullable=False),
    Column("offender_nickname", String(40), nullable=False),
    Column("offender_key", String(80), nullable=False, index=True),
    Column("offender_band", String(8), nullable=False),
    # The room, or the nickname of the person written to.
    Column("target", String(80), nullable=False),
    Column("score", Double, nullable=False),
    Column("signals", String(400), nullable=False, server_default=""),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    # The evidence locker's reference, once the content is sealed there.
    Column("evidence_ref", String(200), nullable=True),
)

incidents = Table(
    "trust_incidents",
    trust_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("escalation_id", _ID, nullable=True, index=True),
    Column("conversation_key", String(240), nullable=False, index=True),
    # message, private_attempt, teen_room_attempt, typing_attempt, frozen_attempt, age_claim
    Column("kind", String(32), nullable=False),
    # refused, delivered, rebanded
    Column("action", String(16), nullable=False),
    Column("signals", String(400), nullable=False, server_default=""),
    Column("offender_session", String(40), nullable=False),
    Column("offender_nickname", String(40), nullable=False),
    Column("offender_key", String(80), nullable=False),
    Column("offender_band", String(8), nullable=False),
    Column("target", String(80), nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("created_at", Double, nullable=False, index=True),
)

preserved_messages = Table(
    "trust_preserved_messages",
    trust_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("escalation_id", _ID, nullable=False, index=True),
    Column("message_id", _ID, nullable=True),
    Column("room_id", String(80), nullable=True),
    Column("sender_nickname", String(40), nullable=False),
    Column("recipient_nickname", String(40), nullable=True),
    Column("text", Text, nullable=False),
    Column("created_at", Double, nullable=False),
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


@dataclass(frozen=True, slots=True)
class PreservedMessage:
    message_id: int | None
    room_id: str | None
    sender_nickname: str
    recipient_nickname: str | None
    text: str
    created_at: float


def _joined(values: Iterable[str]) -> str:
    return ",".join(sorted(set(values)))[:400]


class TrustStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

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
        if not keys:
            return {}
        query = select(band_memory.c.key, band_memory.c.age).where(
            band_memory.c.key.in_(list(keys)), band_memory.c.expires_at > now
        )
        async with self.engine.connect() as conn:
            return {key: age for key, age in await conn.execute(query)}

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
        query = select(
            conversations.c.key,
            conversations.c.score,
            conversations.c.updated_at,
            conversations.c.frozen_at,
            conversations.c.escalation_id,
        ).where(conversations.c.key == key)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return ConversationState(*row) if row else None

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
        if escalate is not None:
            if escalation_id is None:
                escalation_id = await self._open_escalation(
                    conn, conversation_key, escalate, score, at, history_limit
                )
                opened = True
            else:
                await conn.execute(
                    update(escalations)
                    .where(escalations.c.id == escalation_id)
                    .values(score=max(score, 0.0), updated_at=at)
                )
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
            await conn.execute(
                insert(incidents).values(
                    escalation_id=escalation_id,
                    conversation_key=conversation_key,
                    kind=incident.kind,
                    action=incident.action,
                    signals=_joined(incident.signals),
                    offender_session=incident.offender.session,
                    offender_nickname=incident.offender.nickname,
                    offender_key=incident.offender.key,
                    offender_band=incident.offender.band,
                    target=incident.target[:80],
                    text=incident.text,
                    created_at=at,
                )
            )
        if opened:
            await conn.execute(
                update(incidents)
                .where(
                    incidents.c.conversation_key == conversation_key,
                    incidents.c.escalation_id.is_(None),
                )
                .values(escalation_id=escalation_id)
            )
        return Recorded(escalation_id=escalation_id, opened=opened, frozen=frozen_at is not None)

    async def _open_escalation(
        self,
        conn: AsyncConnection,
        conversation_key: str,
        request: EscalationRequest,
        score: float,
        at: float,
        history_limit: int,
    ) -> int:
        result = await conn.execute(
            insert(escalations)
            .values(
                conversation_key=conversation_key,
                kind=request.kind,
                status="open",
                reason=request.reason[:400],
                offender_session=request.offender.session,
                offender_nickname=request.offender.nickname,
                offender_key=request.offender.key,
                offender_band=request.offender.band,
                target=request.target[:80],
                score=max(score, 0.0),
                signals=_joined(request.signals),
                created_at=at,
                updated_at=at,
            )
            .returning(escalations.c.id)
        )
        escalation_id = int(result.scalar_one())
        history = await _history(conn, request.history, history_limit)
        if history:
            await conn.execute(
                insert(preserved_messages),
                [
                    {
                        "escalation_id": escalation_id,
                        "message_id": m.message_id,
                        "room_id": m.room_id,
                        "sender_nickname": m.sender_nickname,
                        "recipient_nickname": m.recipient_nickname,
                        "text": m.text,
                        "created_at": m.created_at,
                    }
                    for m in history
                ],
            )
        return escalation_id

    async def set_evidence_ref(self, escalation_id: int, reference: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(escalations)
                .where(escalations.c.id == escalation_id)
                .values(evidence_ref=reference[:200])
            )

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
                await conn.execute(
                    update(escalations)
                    .where(escalations.c.id == row.escalation_id)
                    .values(status=status, updated_at=at)
                )
            await conn.execute(
                update(conversations)
                .where(conversations.c.key == conversation_key)
                .values(frozen_at=None, escalation_id=None, score=0.0, updated_at=at)
            )

    # -- reading, for moderators and tests -----------------------------------------------------

    async def escalations(self, *, status: str | None = None) -> list[EscalationRow]:
        query = select(*escalations.c).order_by(escalations.c.id)
        if status is not None:
            query = query.where(escalations.c.status == status)
        async with self.engine.connect() as conn:
            return [EscalationRow(**r._mapping) for r in await conn.execute(query)]

    async def incidents(
        self, *, conversation_key: str | None = None, offender_key: str | None = None
    ) -> list[IncidentRow]:
        query = select(*incidents.c).order_by(incidents.c.id)
        if conversation_key is not None:
            query = query.where(incidents.c.conversation_key == conversation_key)
        if offender_key is not None:
            query = query.where(incidents.c.offender_key == offender_key)
        async with self.engine.connect() as conn:
            return [IncidentRow(**r._mapping) for r in await conn.execute(query)]

    async def preserved(self, escalation_id: int) -> list[PreservedMessage]:
        query = (
            select(
                preserved_messages.c.message_id,
                preserved_messages.c.room_id,
                preserved_messages.c.sender_nickname,
                preserved_messages.c.recipient_nickname,
                preserved_messages.c.text,
                preserved_messages.c.created_at,
            )
            .where(preserved_messages.c.escalation_id == escalation_id)
            .order_by(preserved_messages.c.id)
        )
        async with self.engine.connect() as conn:
            return [PreservedMessage(*r) for r in await conn.execute(query)]

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
                delete(incidents).where(
                    incidents.c.escalation_id.is_(None), incidents.c.created_at < incidents_before
                ),
                delete(conversations).where(
                    conversations.c.frozen_at.is_(None),
                    conversations.c.escalation_id.is_(None),
                    conversations.c.updated_at < quiet_before,
                ),
            ):
                removed += (await conn.execute(statement)).rowcount or 0
            return removed


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
