"""The chat service's :class:`~causerie.chat.hooks.TrafficLog`, writing to the retention store.

Durability before speed: a chatter's message is acknowledged only after its traffic record is
committed, so an acknowledged message never lacks the record the law requires. To keep that
cheap, records are group-committed: each caller puts its sealed record on a bounded queue and
waits; one writer task takes everything waiting (up to ``_BATCH``), commits it in one transaction
and wakes the callers. Alone on the server a message pays one small commit; under load many
messages share one. A full queue makes senders wait rather than drop anything. If the commit
fails, the callers get the error and their messages are not acknowledged.

Sealing (AES-GCM and three HMACs, a few microseconds) runs in the caller, so the writer only
does I/O. The batching rule is the message writer's (:class:`causerie.store.messages.GroupCommit`):
nothing waits for a timer; the writer commits what is queued, and what queues while that commit
runs goes into the next one. On a SQLite file the writer commits through its own thread and
plain ``sqlite3`` connection (:class:`causerie.store.database.SqliteWriter`), elsewhere through
:meth:`TrafficStore.add_many`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from causerie.chat.hooks import Peer
from causerie.legal.codec import RetentionCodec, TrafficRecord
from causerie.legal.store import IndexQuery, KeyIndexes, SealedTraffic, TrafficStore
from causerie.store.database import SqliteWriter, insert_rows, sqlite_file

log = logging.getLogger(__name__)

_BATCH = 500
_Item = tuple[SealedTraffic, "asyncio.Future[None]"]
_COLUMNS = (
    "kind",
    "at",
    "key_id",
    "nickname_idx",
    "address_idx",
    "content_idx",
    "session_idx",
    "sealed",
)
_INSERT_SQL = (
    f"INSERT INTO traffic_records ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class RetentionTrafficLog:
    def __init__(self, store: TrafficStore, codec: RetentionCodec, queue_size: int) -> None:
        self.store = store
        self.codec = codec
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._running = False
        engine = getattr(store, "engine", None)
        path = sqlite_file(engine.url) if engine is not None else None
        self._thread = SqliteWriter(path, "retention-writer") if path is not None else None
        # Counters for the bench and the tests: transactions and records committed.
        self.commits = 0
        self.records = 0
        # What a connection's close record needs and the hook does not pass again.
        self._open: dict[str, tuple[str, Peer]] = {}

    # -- the TrafficLog seam -------------------------------------------------------------------

    async def connection_opened(
        self, session_id: str, nickname: str, peer: Peer, at: float
    ) -> None:
        self._open[session_id] = (nickname, peer)
        await self._record(_record("open", session_id, nickname, peer, at))

    async def connection_closed(self, session_id: str, at: float) -> None:
        nickname, peer = self._open.pop(session_id, ("", Peer(ip="", port=0)))
        await self._record(_record("close", session_id, nickname, peer, at))

    async def content_created(
        self, session_id: str, nickname: str, content_id: str, peer: Peer, at: float
    ) -> None:
        await self._record(_record("content", session_id, nickname, peer, at, content_id))

    async def content_released(
        self, session_id: str, nickname: str, content_id: str, written_at: float
    ) -> None:
        """The record of content a moderator released after holding it: written at
        ``written_at`` from the connection of ``session_id``, whose address is that session's
        (this node's open connection, else the session's ``open`` record in the store)."""
        found = self._open.get(session_id)
        peer = found[1] if found is not None else await self._peer_of(session_id)
        await self._record(_record("content", session_id, nickname, peer, written_at, content_id))

    async def _peer_of(self, session_id: str) -> Peer:
        if not session_id:
            return Peer(ip="", port=0)
        query = IndexQuery(
            by_key={
                key.id: KeyIndexes(sessions=(key.index(session_id),))
                for key in self.codec.keyring.keys
            }
        )
        for row in await self.store.find(query, limit=50):
            if row.kind == "open":
                record = self.codec.open_traffic(row)
                return Peer(
                    ip=record.ip,
                    port=record.port,
                    user_agent=record.user_agent,
                    protocol=record.protocol,
                )
        return Peer(ip="", port=0)

    # -- group commit --------------------------------------------------------------------------

    async def _record(self, record: TrafficRecord) -> None:
        sealed = self.codec.seal_traffic(record)
        if not self._running:
            # No writer (a command-line tool, or the node shutting down): commit directly.
            await self.store.add_many([sealed])
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((sealed, done))
        await done

    async def run(self) -> None:
        """The writer; runs in a task the node owns, and commits what is queued when cancelled."""
        if self._thread is not None:
            self._thread.start()
        self._running = True
        inflight: asyncio.Task[None] | None = None
        try:
            while True:
                batch = [await self._queue.get()]
                batch.extend(self._drain(_BATCH - 1))
                inflight = asyncio.create_task(self._commit(batch))
                # Shielded: a shutdown must not abandon a transaction whose callers are waiting.
                await asyncio.shield(inflight)
        finally:
            self._running = False
            if inflight is not None and not inflight.done():
                with contextlib.suppress(Exception):
                    await inflight
            while not self._queue.empty():
                await self._commit(self._drain(_BATCH))
            if self._thread is not None:
                await self._thread.stop()

    def _drain(self, limit: int) -> list[_Item]:
        items: list[_Item] = []
        while len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return items

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            await self._write([sealed for sealed, _ in batch])
        except Exception as exc:
            log.exception("could not commit %d traffic records", len(batch))
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write(self, rows: list[SealedTraffic]) -> None:
        if self._thread is not None and self._running:
            values = [
                (
                    r.kind,
                    r.at,
                    r.key_id,
                    r.nickname_idx,
                    r.address_idx,
                    r.content_idx,
                    r.session_idx,
                    r.sealed,
                )
                for r in rows
            ]
            await self._thread.call(lambda connection: insert_rows(connection, _INSERT_SQL, values))
        else:
            await self.store.add_many(rows)
        self.commits += 1
        self.records += len(rows)


def _record(
    kind: str, session_id: str, nickname: str, peer: Peer, at: float, content_id: str = ""
) -> TrafficRecord:
    return TrafficRecord(
        kind=kind,
        at=at,
        session_id=session_id,
        nickname=nickname,
        ip=peer.ip,
        port=peer.port,
        user_agent=peer.user_agent,
        protocol=peer.protocol,
        content_id=content_id,
    )
