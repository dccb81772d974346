"""Room and private messages, kept only for the window in which chatters can see them.

The purge deletes without exception: content that must outlive the window (a report, an
escalation, a preservation order) is copied into the separate evidence store when that happens,
so this table never needs to know about legal holds.

Writes go through a group commit (:class:`GroupCommit`): one writer per node takes every row
waiting, writes them in one transaction and wakes each caller once that transaction is
committed. An idle node commits a message at once; under load the messages that queued while the
previous commit ran share the next one (one fsync for all of them). On a SQLite file the writer
is a thread with its own plain ``sqlite3`` connection (a point insert and commit costs ~80 µs
there against ~550 µs through the async engine); elsewhere (PostgreSQL, an in-memory SQLite
database) it is one ``executemany`` insert per batch through the engine.

A chat message's id is reserved first (:meth:`MessageStore.reserve_id`, from a block this node
holds: :class:`MessageIds`), so its traffic record and its frames can name it; its row is
written once, visible, as the last step before its ack (causerie.chat.delivery). A node that
dies before that leaves no row at all. A row's ``request_key`` is unique: a client's retry of a
request finds the first ack (:meth:`MessageStore.acknowledged`) instead of making a second
message. (``pending`` rows, hidden from every history, were written by earlier versions, which
stored a row first and confirmed it before the ack; the purge removes what is left of them.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie import metrics
from causerie.store.database import SqliteWriter, insert_rows, read_rows, sqlite_file
from causerie.store.schema import message_ids, messages

log = logging.getLogger(__name__)


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


class RequestAcknowledged(Exception):
    """Another message of the same request was confirmed first: ``first`` is the one to ack."""

    def __init__(self, first: StoredMessage) -> None:
        super().__init__(f"request already acknowledged as message {first.id}")
        self.first = first


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


# A join's history (parameters room_id, since, limit): read backwards along
# ``ix_messages_room_created``, ``limit`` rows.
#

# Ordered by the index's own columns, the database walks the room's newest entries and stops
# after ``limit``; ordered by ``id`` it had to fetch the whole visible window and sort it (a
# temporary B-tree of 10,000 rows on SQLite). ``id`` breaks ties between equal times: on SQLite
# the index ends with the rowid, so it costs nothing; PostgreSQL sorts only the rows that share
# a timestamp (an incremental sort).
RECENT_IN_ROOM = (
    select(*_COLUMNS)
    .where(
        messages.c.room_id == bindparam("room_id"),
        messages.c.created_at > bindparam("since"),
        ~messages.c.pending,
    )
    .order_by(messages.c.created_at.desc(), messages.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_BY_ID = select(*_COLUMNS).where(messages.c.id == bindparam("message_id"))
_BY_REQUEST = select(*_COLUMNS).where(
    messages.c.request_key == bindparam("request_key"), ~messages.c.pending
)


# The columns a new message row gets, in the order of an insert's values.
_INSERT_COLUMNS = (
    "id",
    "room_id",
    "sender_session",
    "sender_nickname",
    "recipient_session",
    "recipient_nickname",
    "text",
    "blurred",
    "photo_id",
    "created_at",
    "expires_at",
    "request_key",
)
_INSERT_SQL = (
    f"INSERT INTO messages ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})"
)
# At most this many rows in one transaction; more wait for the next one.
_BATCH = 500
_Row = tuple[Any, ...]
# Ids a node reserves at once: one small transaction per this many messages, and a restart
# leaves at most this many unused.
ID_BLOCK = 1000
_ID_SEQUENCE = "messages"


class MessageIds:
    """Message ids handed out before anything is written, unique across nodes and processes.

    Each store reserves a block of ``block`` ids at a time in ``message_ids`` (one ``UPDATE ...
    RETURNING``, committed) and hands them out from memory, so a message has its id for its
    traffic record and its frames before its row exists. Ids grow within a node; across nodes
    they interleave, so order by ``created_at`` where time order matters.
    """

    def __init__(self, engine: AsyncEngine, block: int = ID_BLOCK) -> None:
        self.engine = engine
        self.block = block
        self._next = 0
        self._end = 0
        self._refill = asyncio.Lock()

    async def take(self) -> int:
        if self._next >= self._end:
            async with self._refill:
                if self._next >= self._end:
                    self._next, self._end = await self._reserve()
        taken = self._next
        self._next += 1
        return taken

    async def _reserve(self) -> tuple[int, int]:
        bump = (
            update(message_ids)
            .where(message_ids.c.name == _ID_SEQUENCE)
            .values(next_id=message_ids.c.next_id + self.block)
            .returning(message_ids.c.next_id)
        )
        for attempt in range(2):
            try:
                async with self.engine.begin() as conn:
                    end = (await conn.execute(bump)).scalar_one_or_none()
                    if end is not None:
                        return int(end) - self.block, int(end)
                    # No row (a database emptied by hand): start past every id in use.
                    highest = select(func.coalesce(func.max(messages.c.id), 0))
                    start = int((await conn.execute(highest)).scalar_one()) + 1
                    await conn.execute(
                        insert(message_ids).values(name=_ID_SEQUENCE, next_id=start + self.block)
                    )
                    return start, start + self.block
            except IntegrityError:
                if attempt:
                    raise
                # Another process created the row at the same time: bump it instead.
        raise AssertionError("unreachable")


class GroupCommit:
    """The node's one message writer: every row waiting, one transaction, then the callers.

    :meth:`run` is the writer, a task the node owns. A caller appends its row and awaits its
    future, which is answered only after the commit that holds it returned (on SQLite: WAL,
    ``synchronous=FULL``, see :mod:`causerie.store.database`). Nothing waits for a timer: the
    writer commits as soon as something is waiting, and what arrives while a commit runs goes
    into the next one. A batch that fails is retried one row at a time, so one bad row (or one
    that would acknowledge a request twice) fails only its own caller. Without a running writer
    (a command-line tool, a stopped node) each row commits on its own.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        path = sqlite_file(engine.url)
        self._thread = SqliteWriter(path) if path is not None else None
        self._pending: list[tuple[_Row, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._running = False
        # Counters for the bench and the tests: transactions and rows committed.
        self.commits = 0
        self.rows = 0

    @property
    def running(self) -> bool:
        return self._running

    async def insert(self, row: _Row) -> None:
        """Insert ``row`` (its id included); returns once it is committed."""
        if not self._running or self._wake is None:
            await self._write([row])
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wake.set()
        await future

    async def run(self) -> None:
        """The writer; when cancelled, it finishes the commit under way and what is waiting."""
        self._wake = asyncio.Event()
        if self._thread is not None:
            self._thread.start()
        self._running = True
        inflight: asyncio.Task[None] | None = None
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    inflight = asyncio.create_task(self._commit(self._take()))
                    # Shielded: a shutdown must not abandon a transaction whose callers wait.
                    await asyncio.shield(inflight)
        finally:
            self._running = False
            if inflight is not None and not inflight.done():
                with contextlib.suppress(Exception):
                    await inflight
            while self._pending:
                await self._commit(self._take())
            if self._thread is not None:
                await self._thread.stop()

    def _take(self) -> list[tuple[_Row, asyncio.Future[None]]]:
        """The next batch of waiting rows, oldest first."""
        batch = self._pending[:_BATCH]
        del self._pending[:_BATCH]
        return batch

    async def _commit(self, batch: list[tuple[_Row, asyncio.Future[None]]]) -> None:
        try:
            await self._write([row for row, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not _is_integrity_error(exc):
                    log.exception("could not store a message")
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            # One bad row must not fail the others: each on its own.
            for item in batch:
                await self._commit([item])
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    @metrics.timed(metrics.commit_seconds)
    async def _write(self, rows: list[_Row]) -> None:
        if self._thread is not None and self._running:
            await self._thread.call(lambda connection: insert_rows(connection, _INSERT_SQL, rows))
        else:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(messages), [dict(zip(_INSERT_COLUMNS, row, strict=True)) for row in rows]
                )
        self.commits += 1
        self.rows += len(rows)


def _is_integrity_error(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError | sqlite3.IntegrityError)


class MessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.writer = GroupCommit(engine)
        self.ids = MessageIds(engine)

    async def reserve_id(self) -> int:
        """An id for a message about to be written (:meth:`add` with ``message_id``)."""
        return await self.ids.take()

    async def add(
        self,
        *,
        sender_session: str,
        sender_nickname: str,
        text: str,
        created_at: float,
        expires_at: float,
        message_id: int | None = None,
        room_id: str | None = None,
        recipient_session: str | None = None,
        recipient_nickname: str | None = None,
        blurred: bool = False,
        photo_id: str | None = None,
        request_key: str | None = None,
    ) -> int:
        """Store a message durably, visible in history, and return its id; the caller
        acknowledges only after this.

        ``message_id`` is one from :meth:`reserve_id` (else one is taken here). The insert shares
        a transaction with whatever else is waiting (:class:`GroupCommit`) and returns once that
        transaction is committed. Raises :class:`RequestAcknowledged` when a message of the same
        ``request_key`` was stored first (a retry raced its original).
        """
        if message_id is None:
            message_id = await self.ids.take()
        row = (
            message_id,
            room_id,
            sender_session,
            sender_nickname,
            recipient_session,
            recipient_nickname,
            text,
            blurred,
            photo_id,
            created_at,
            expires_at,
            request_key,
        )
        try:
            await self.writer.insert(row)
        except Exception as exc:
            if request_key is None or not _is_integrity_error(exc):
                raise
            first = await self.acknowledged(request_key)
            if first is None:
                raise
            raise RequestAcknowledged(first) from None
        return message_id

    async def acknowledged(self, request_key: str) -> StoredMessage | None:
        """The stored message of a request, if there is one (its row is still kept)."""
        rows = await read_rows(self.engine, _BY_REQUEST, {"request_key": request_key})
        return StoredMessage(*rows[0]) if rows else None

    async def recent_in_room(self, room_id: str, since: float, limit: int) -> list[StoredMessage]:
        """The newest ``limit`` messages of a room created after ``since``, oldest first."""
        found = await read_rows(
            self.engine, RECENT_IN_ROOM, {"room_id": room_id, "since": since, "limit": limit}
        )
        rows = [StoredMessage(*r) for r in found]
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
                ~messages.c.pending,
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
        rows = [StoredMessage(*r) for r in await read_rows(self.engine, query)]
        rows.reverse()
        return rows

    async def get(self, message_id: int) -> StoredMessage | None:
        rows = await read_rows(self.engine, _BY_ID, {"message_id": message_id})
        return StoredMessage(*rows[0]) if rows else None

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
            # In time order: ids grow within a node, but the nodes' blocks interleave.
            at, ident = subject.created_at, subject.id
            earlier = await conn.execute(
                select(*_COLUMNS)
                .where(
                    same_thread,
                    or_(
                        messages.c.created_at < at,
                        and_(messages.c.created_at == at, messages.c.id < ident),
                    ),
                )
                .order_by(messages.c.created_at.desc(), messages.c.id.desc())
                .limit(before)
            )
            later = await conn.execute(
                select(*_COLUMNS)
                .where(
                    same_thread,
                    or_(
                        messages.c.created_at > at,
                        and_(messages.c.created_at == at, messages.c.id > ident),
                    ),
                )
                .order_by(messages.c.created_at, messages.c.id)
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
