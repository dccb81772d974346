"""Room and private messages, kept only for the window in which chatters can see them.

The purge deletes without exception: content that must outlive the window (a report, an
escalation, a preservation order) is copied into the separate evidence store when that happens,
so this table never needs to know about legal holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.schema import messages


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    room_id: str | None
    sender_session: str
    sender_nickname: str
    recipient_session: str | None
    recipient_nickname: str | None
    text: str
    created_at: float
    blurred: bool = False
    photo_id: str | None = None


_COLUMNS = (
    messages.c.id,
    messages.c.room_id,
    messages.c.sender_session,
    messages.c.sender_nickname,
    messages.c.recipient_session,
    messages.c.recipient_nickname,
    messages.c.text,
    messages.c.created_at,
    messages.c.blurred,
    messages.c.photo_id,
)


def recent_in_room_query(room_id: str, since: float, limit: int) -> Select[Any]:
    """A join's history: read backwards along ``ix_messages_room_created``, ``limit`` rows.

    Ordered by the index's own columns, the database walks the room's newest entries and stops
    after ``limit``; ordered by ``id`` it had to fetch the whole visible window and sort it
    (a temporary B-tree of 10,000 rows on SQLite). ``id`` breaks ties between equal times: on
    SQLite the index ends with the rowid, so it costs nothing; PostgreSQL sorts only the rows
    that share a timestamp (an incremental sort).
    """
    return (
        select(*_COLUMNS)
        .where(messages.c.room_id == room_id, messages.c.created_at > since)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )


class MessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(
        self,
        *,
        sender_session: str,
        sender_nickname: str,
        text: str,
        created_at: float,
        expires_at: float,
        room_id: str | None = None,
        recipient_session: str | None = None,
        recipient_nickname: str | None = None,
        blurred: bool = False,
        photo_id: str | None = None,
    ) -> int:
        """Store a message durably and return its id; the caller acknowledges only after this."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(messages)
                .values(
                    room_id=room_id,
                    sender_session=sender_session,
                    sender_nickname=sender_nickname,
                    recipient_session=recipient_session,
                    recipient_nickname=recipient_nickname,
                    text=text,
                    blurred=blurred,
                    photo_id=photo_id,
                    created_at=created_at,
                    expires_at=expires_at,
                )
                .returning(messages.c.id)
            )
            return int(result.scalar_one())

    async def recent_in_room(self, room_id: str, since: float, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages of a room created after ``since``, oldest first."""
        async with self.engine.connect() as conn:
            rows = [
                StoredMessage(**r._mapping)
                for r in await conn.execute(recent_in_room_query(room_id, since, limit))
            ]
        rows.reverse()
        return rows

    async def private_between(
        self, sessions: Sequence[str], nickname: str, since: float, limit: int
    ) -> list[StoredMessage]:
        """The newest ``limit`` private messages between any of ``sessions`` (one chatter,
        resumed) and ``nickname``, created after ``since``, oldest first."""
        ours = list(sessions)
        query = (
            select(*_COLUMNS)
            .where(
                messages.c.room_id.is_(None),
                messages.c.created_at > since,
                or_(
                    and_(
                        messages.c.sender_session.in_(ours),
                        messages.c.recipient_nickname == nickname,
                    ),
                    and_(
                        messages.c.recipient_session.in_(ours),
                        messages.c.sender_nickname == nickname,
                    ),
                ),
            )
            .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = [StoredMessage(**r._mapping) for r in await conn.execute(query)]
        rows.reverse()
        return rows

    async def get(self, message_id: int) -> StoredMessage | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(messages.c.id == message_id))).first()
            return StoredMessage(**row._mapping) if row else None

    async def around(self, message_id: int, before: int, after: int) -> list[StoredMessage]:
        """A message with up to ``before``/``after`` neighbours of its room or conversation.

        Used to preserve reported or escalated content with its context, oldest first; empty
        when the message is gone.
        """
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(messages.c.id == message_id))).first()
            if row is None:
                return []
            subject = StoredMessage(**row._mapping)
            if subject.room_id is not None:
                same_thread = messages.c.room_id == subject.room_id
            else:
                one, other = subject.sender_session, subject.recipient_session
                same_thread = or_(
                    and_(messages.c.sender_session == one, messages.c.recipient_session == other),
                    and_(messages.c.sender_session == other, messages.c.recipient_session == one),
                )
            earlier = await conn.execute(
                select(*_COLUMNS)
                .where(same_thread, messages.c.id < message_id)
                .order_by(messages.c.id.desc())
                .limit(before)
            )
            later = await conn.execute(
                select(*_COLUMNS)
                .where(same_thread, messages.c.id > message_id)
                .order_by(messages.c.id)
                .limit(after)
            )
            preceding = [StoredMessage(**r._mapping) for r in earlier]
            preceding.reverse()
            return [*preceding, subject, *(StoredMessage(**r._mapping) for r in later)]

    async def discard(self, message_id: int) -> None:
        """Delete one message that must not stay (its delivery could not be completed)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(messages).where(messages.c.id == message_id))

    async def purge_expired(self, now: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(messages).where(messages.c.expires_at <= now))
            return result.rowcount or 0
