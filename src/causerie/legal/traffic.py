"""The chat service's :class:`~causerie.chat.hooks.TrafficLog`, writing to the retention store.

Durability before speed: a chatter's message is acknowledged only after its traffic record is
committed, so an acknowledged message never lacks the record the law requires. To keep that
cheap, records are group-committed: each caller puts its sealed record on a bounded queue and
waits; one writer task takes everything waiting (up to ``_BATCH``), commits it in one transaction
and wakes the callers. Alone on the server a message pays one small commit; under load many
messages share one. A full queue makes senders wait rather than drop anything. If the commit
fails, the callers get the error and their messages are not acknowledged.

Sealing (AES-GCM and three HMACs, a few microseconds) runs in the caller, so the writer only
does I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from causerie.chat.hooks import Peer
from causerie.legal.codec import RetentionCodec, TrafficRecord
from causerie.legal.store import SealedTraffic, TrafficStore

log = logging.getLogger(__name__)

_BATCH = 500
_Item = tuple[SealedTraffic, "asyncio.Future[None]"]


class RetentionTrafficLog:
    def __init__(self, store: TrafficStore, codec: RetentionCodec, queue_size: int) -> None:
        self.store = store
        self.codec = codec
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._running = False
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
            await self.store.add_many([sealed for sealed, _ in batch])
        except Exception as exc:
            log.exception("could not commit %d traffic records", len(batch))
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


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
