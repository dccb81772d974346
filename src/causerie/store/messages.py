"""Room and private messages, kept only for the window in which chatters can see them.

The purge deletes without exception: content that must outlive the window (a report, an
escalation, a preservation order) is copied into the separate evidence store when that happens,
so this table never needs to know about legal holds.

Writes go through a group commit (:class:`GroupCommit`): one writer per node takes every insert
that is pending, writes them in one transaction and wakes each caller with its id once that
transaction is committed. An idle node commits a message at once; under load the messages that
queued while the previous commit ran share the next one (one fsync for all of them). On a SQLite
file the writer is a thread with its own plain ``sqlite3`` connection (a point insert and commit
costs ~80 µs there against ~550 µs through the async engine); elsewhere (PostgreSQL, an
in-memory SQLite database) it is one ``INSERT ... RETURNING`` per batch through the engine.

A chat message is stored *pending* (:meth:`MessageStore.add` with ``pending=True``) and
*confirmed* by the last step before its ack (:meth:`MessageStore.confirm`, through the same
writer, so under load a confirmation shares the commit of the next inserts). Histories read only
confirmed rows: a node that dies between the two leaves a row nobody is shown, which the purge
removes with the rest. A confirmed row's ``request_key`` is unique: a client's retry of a request
finds the first ack (:meth:`MessageStore.acknowledged`) instead of making a second message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie import metrics
from causerie.store.database import SqliteWriter, sqlite_file
from causerie.store.schema import messages

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
        .where(messages.c.room_id == room_id, messages.c.created_at > since, ~messages.c.pending)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )


# The columns a new message row gets, in the order of a pending insert's values.
_INSERT_COLUMNS = (
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
    "pending",
    "request_key",
)
_INSERT_SQL = (
    f"INSERT INTO messages ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})"
)
# At most this many operations in one transaction; more wait for the next one.
_BATCH = 500
_Row = tuple[Any, ...]
# One operation of the writer: a new row (answered with its id), or the id of a pending row to
# confirm (answered 1 if the row is there, 0 if it is gone).
_INSERT, _CONFIRM = "insert", "confirm"
_Op = tuple[str, Any]


def _apply_sqlite(connection: sqlite3.Connection, ops: Sequence[_Op]) -> list[int]:
    """The writer thread's transaction: inserts first, then confirmations, one commit."""
    cursor = connection.cursor()
    results: dict[int, int] = {}
    try:
        cursor.execute("BEGIN IMMEDIATE")
        for i, (kind, value) in enumerate(ops):
            if kind == _INSERT:
                cursor.execute(_INSERT_SQL, value)
                results[i] = cursor.lastrowid or 0
        confirms = [(i, value) for i, (kind, value) in enumerate(ops) if kind == _CONFIRM]
        if confirms:
            marks = ", ".join("?" for _ in confirms)
            found = {
                row[0]
                for row in cursor.execute(
                    f"UPDATE messages SET pending = 0 WHERE id IN ({marks}) RETURNING id",
                    [message_id for _, message_id in confirms],
                )
            }
            for i, message_id in confirms:
                results[i] = int(message_id in found)
        cursor.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.rollback()
        raise
    finally:
        cursor.close()
    return [results[i] for i in range(len(ops))]


class GroupCommit:
    """The node's one message writer: every pending write, one transaction, then the callers.

    :meth:`run` is the writer, a task the node owns. A caller appends its operation (a row to
    insert, or a pending row to confirm) and awaits its future, which is answered only after
    the commit that holds it returned (on SQLite: WAL, ``synchronous=FULL``, see
    :mod:`causerie.store.database`). Nothing waits for a timer: the writer commits as soon as
    something is pending, and what arrives while a commit runs goes into the next one. A batch
    that fails is retried one operation at a time, so one bad row (or one confirmation that
    would acknowledge a request twice) fails only its own caller. Without a running writer (a
    command-line tool, a stopped node) each operation commits on its own.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        path = sqlite_file(engine.url)
        self._thread = SqliteWriter(path) if path is not None else None
        self._pending: list[tuple[_Op, asyncio.Future[int]]] = []
        self._wake: asyncio.Event | None = None
        self._running = False
        # Counters for the bench and the tests: transactions and rows committed.
        self.commits = 0
        self.rows = 0

    @property
    def running(self) -> bool:
        return self._running

    async def insert(self, row: _Row) -> int:
        """Insert ``row``; its id once committed."""
        return await self._submit((_INSERT, row))

    async def confirm(self, message_id: int) -> bool:
        """Clear ``pending`` on a row; False if the row is gone. Committed on return."""
        return bool(await self._submit((_CONFIRM, message_id)))

    async def _submit(self, op: _Op) -> int:
        if not self._running or self._wake is None:
            (result,) = await self._write([op])
            return result
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((op, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        """The writer; when cancelled, it finishes the commit under way and what is pending."""
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
                    batch = self._pending[:_BATCH]
                    del self._pending[:_BATCH]
                    inflight = asyncio.create_task(self._commit(batch))
                    # Shielded: a shutdown must not abandon a transaction whose callers wait.
                    await asyncio.shield(inflight)
        finally:
            self._running = False
            if inflight is not None and not inflight.done():
                with contextlib.suppress(Exception):
                    await inflight
            while self._pending:
                batch = self._pending[:_BATCH]
                del self._pending[:_BATCH]
                await self._commit(batch)
            if self._thread is not None:
                await self._thread.stop()

    async def _commit(self, batch: list[tuple[_Op, asyncio.Future[int]]]) -> None:
        try:
            results = await self._write([op for op, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not _is_integrity_error(exc):
                    log.exception("could not store a message")
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            # One bad operation must not fail the others: each on its own.
            for item in batch:
                await self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    @metrics.timed(metrics.commit_seconds)
    async def _write(self, ops: list[_Op]) -> list[int]:
        if self._thread is not None and self._running:
            results = await self._thread.call(lambda connection: _apply_sqlite(connection, ops))
        else:
            results = await self._write_through_engine(ops)
        self.commits += 1
        self.rows += sum(1 for kind, _ in ops if kind == _INSERT)
        return results

    async def _write_through_engine(self, ops: list[_Op]) -> list[int]:
        inserts = [(i, value) for i, (kind, value) in enumerate(ops) if kind == _INSERT]
        confirms = [(i, value) for i, (kind, value) in enumerate(ops) if kind == _CONFIRM]
        results: dict[int, int] = {}
        async with self.engine.begin() as conn:
            values = [dict(zip(_INSERT_COLUMNS, row, strict=True)) for _, row in inserts]
            if len(values) == 1:
                result = await conn.execute(
                    insert(messages).values(**values[0]).returning(messages.c.id)
                )
                results[inserts[0][0]] = int(result.scalar_one())
            elif values:
                result = await conn.execute(
                    insert(messages).returning(messages.c.id, sort_by_parameter_order=True), values
                )
                for (i, _), message_id in zip(inserts, result.scalars().all(), strict=True):
                    results[i] = int(message_id)
            if confirms:
                ids = [message_id for _, message_id in confirms]
                found = set(
                    (
                        await conn.execute(
                            update(messages)
                            .where(messages.c.id.in_(ids))
                            .values(pending=False)
                            .returning(messages.c.id)
                        )
                    ).scalars()
                )
                for i, message_id in confirms:
                    results[i] = int(message_id in found)
        return [results[i] for i in range(len(ops))]


def _is_integrity_error(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError | sqlite3.IntegrityError)


class MessageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.writer = GroupCommit(engine)

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
        pending: bool = False,
        request_key: str | None = None,
    ) -> int:
        """Store a message durably and return its id; the caller acknowledges only after this.

        The insert shares a transaction with whatever else is pending (:class:`GroupCommit`);
        the id comes back once that transaction is committed. A ``pending`` message is in no
        history until :meth:`confirm`.
        """
        return await self.writer.insert(
            (
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
                pending,
                request_key,
            )
        )

    async def confirm(self, message_id: int, request_key: str | None = None) -> None:
        """Make a pending message visible, durably, before its ack.

        Raises :class:`RequestAcknowledged` when a message of the same ``request_key`` was
        confirmed first (a retry raced its original), and ``LookupError`` when the row is gone.
        """
        try:
            found = await self.writer.confirm(message_id)
        except Exception as exc:
            if request_key is None or not _is_integrity_error(exc):
                raise
            first = await self.acknowledged(request_key)
            if first is None:
                raise
            raise RequestAcknowledged(first) from None
        if not found:
            raise LookupError(f"message {message_id} is gone")

    async def acknowledged(self, request_key: str) -> StoredMessage | None:
        """The confirmed message of a request, if there is one (its row is still kept)."""
        query = select(*_COLUMNS).where(messages.c.request_key == request_key, ~messages.c.pending)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
            return StoredMessage(**row._mapping) if row else None

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
