"""A connection's outgoing queue, drained by one writer task, woken by the node's flusher.

A room message reaches every member's queue at once. Waking each member's writer for each
message would cost one task switch and one socket write per member per message, which is where
a busy room's time went. Instead the queues that received something are noted, and one
:class:`Flusher` wakes their writers together: at once when the node is idle, and at most once
per flush cycle under load, so each write carries every frame queued since the last one, as one
JSON array. The busier the node, the longer a cycle and the more frames per write: the server
sends more per write instead of falling behind.

A client that stops reading is disconnected once its queue passes the limit.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from causerie.protocol.codec import encode_batch

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int, str], Awaitable[None]]

# Close codes (RFC 6455 and the registered 4000-4999 private range).
POLICY_VIOLATION = 1008
TOO_SLOW = 4008

# The shortest time between two flushes once the node is busy. Frames wait at most this long
# (plus the time to write the previous cycle) for company; an idle node flushes at once.
FLUSH_INTERVAL = 0.05
# Writers woken per turn of the event loop during a flush.
WAKE_SLICE = 64


class Flusher:
    """Wakes the writers of every queue that received frames, together, once per cycle.

    A cycle starts when the first queue is marked and ends once the writers it woke have
    written; the next one starts no sooner than ``interval`` after the previous one started.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop = loop
        self.interval = interval
        self._marked: list[WebSocketOutbox] = []
        self._cycle_pending = False
        self._next_start = 0.0
        self.cycles = 0

    def mark(self, outbox: WebSocketOutbox) -> None:
        self._marked.append(outbox)
        if not self._cycle_pending:
            self._cycle_pending = True
            self._schedule()

    def _schedule(self) -> None:
        if self._loop.time() >= self._next_start:
            self._loop.call_soon(self._flush)
        else:
            self._loop.call_at(self._next_start, self._flush)

    def _flush(self) -> None:
        self._next_start = self._loop.time() + self.interval
        self.cycles += 1
        marked, self._marked = self._marked, []
        self._wake_slice(marked, 0)

    def _wake_slice(self, marked: list[WebSocketOutbox], start: int) -> None:
        # A thousand writers in one go would hold the loop for tens of milliseconds, and every
        # database round trip of a message being sent would wait that long each time; a slice
        # at a time lets them in between.
        end = start + WAKE_SLICE
        for outbox in marked[start:end]:
            outbox.wake()
        if end < len(marked):
            self._loop.call_soon(self._wake_slice, marked, end)
        else:
            # Scheduled after the writers just woken, so it runs once they have written: frames
            # queued meanwhile wait for the next cycle instead of making these writers loop.
            self._loop.call_soon(self._cycle_done)

    def _cycle_done(self) -> None:
        if self._marked:
            self._schedule()
        else:
            self._cycle_pending = False


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flusher] = (
    weakref.WeakKeyDictionary()
)


def flusher_for(loop: asyncio.AbstractEventLoop) -> Flusher:
    """The one flusher of an event loop: every connection served by the loop shares it."""
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = Flusher(loop, FLUSH_INTERVAL)
    return flusher


class WebSocketOutbox:
    def __init__(self, send: SendText, close: CloseSocket, max_frames: int) -> None:
        self._send = send
        self._close = close
        self._max_frames = max_frames
        self._queue: list[str] = []
        self._loop = asyncio.get_running_loop()
        self._flusher = flusher_for(self._loop)
        self._marked = False
        self._waiter: asyncio.Future[None] | None = None
        self._closing: tuple[int, str] | None = None
        self.sent_messages = 0

    def push(self, frame: str) -> None:
        if self._closing is not None:
            return
        if len(self._queue) >= self._max_frames:
            self._closing = (TOO_SLOW, "too many undelivered frames: the client is not reading")
            self._queue.clear()
            self.wake()
            return
        self._queue.append(frame)
        if not self._marked:
            self._marked = True
            self._flusher.mark(self)

    def close(self, frame: str, reason: str) -> None:
        if self._closing is None:
            self._queue.append(frame)
            self._closing = (POLICY_VIOLATION, reason[:120])
        self.wake()

    def wake(self) -> None:
        self._marked = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def closing(self) -> bool:
        return self._closing is not None

    async def run(self) -> None:
        """Send queued frames until closed; returns after closing the socket if asked to."""
        while True:
            if not self._queue and self._closing is None:
                self._waiter = self._loop.create_future()
                await self._waiter
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(encode_batch(batch))
                self.sent_messages += 1
            if self._closing is not None:
                code, reason = self._closing
                await self._close(code, reason)
                return
