"""A connection's outgoing queue, drained by one writer task, woken by the node's flusher.

A room message reaches every member's queue at once. Waking each member's writer for each
message would cost one task switch and one socket write per member per message, which is where
a busy room's time went. Instead the queues that received something are noted, and one
:class:`Flusher` wakes their writers together, so each write carries every frame queued since
the last one, as one JSON array.

An idle node writes at once: the first frame after a quiet spell starts a cycle on the next
turn of the event loop. Only while a cycle is running, and for ``PAUSE_FACTOR`` times as long
after it ended (at most ``FLUSH_INTERVAL``), do frames wait for the next cycle. A reply to one
chatter is a cycle of one writer, a fraction of a millisecond; a message to a room of a
thousand is a cycle of a thousand writers, and the frames that arrive meanwhile share the next
writes. The busier the node, the longer a cycle and the more frames per write, and flushing
never takes more than about a quarter of the loop's time, leaving the rest to the messages
being sent.

A client that stops reading is disconnected (``slow_consumer``) once its queue holds more than
``max_frames`` frames or ``max_bytes`` bytes of encoded JSON.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_batch, encode_text

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
# Writes at once and says so, or says False and the writer task sends it.
SendTextNow = Callable[[str], bool]
CloseSocket = Callable[[int, str], Awaitable[None]]

# Close codes (RFC 6455 and the registered 4000-4999 private range).
POLICY_VIOLATION = 1008
TOO_SLOW = 4008

# The longest pause between two flush cycles once the node is busy; the pause after a cycle is
# PAUSE_FACTOR times as long as the cycle took, capped here. An idle node flushes at once.
# A pause of three cycles rather than one: a room of 1,000 at 100-150 messages/s cost 15% less
# CPU (more frames per socket write) at the same latency; 1:1 and rooms of 20 kept theirs.
# Capped at 25 ms rather than 50: that room's p99 at 150,000 deliveries/s fell from 102-120 ms
# to 71-79 with moderation on, for 4-12% more CPU there (fewer frames per write); the short
# cycles of 1:1 and rooms of 20 never reach the cap (docs/benchmarks.md, 2026-12-08).
FLUSH_INTERVAL = 0.025
PAUSE_FACTOR = 3.0
# Writers woken per turn of the event loop during a flush.
WAKE_SLICE = 64
# Encoded frames a reader may leave unread before it is disconnected. A first frame in an empty
# queue is always accepted, so a single large answer (a join's member list) never trips it.
MAX_QUEUED_BYTES = 4 << 20


async def _released_send(text: str) -> None:
    return None


async def _released_close(code: int, reason: str) -> None:
    return None


class Flusher:
    """Wakes the writers of every queue that received frames, together, once per cycle.

    A cycle starts when the first queue is marked (at once if the previous cycle ended long
    enough ago) and ends once the writers it woke have written; the next one starts no sooner
    than ``PAUSE_FACTOR`` times the previous one's duration (at most ``interval``) after it
    ended.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop = loop
        self.interval = interval
        self._marked: list[WebSocketOutbox] = []
        self._cycle_pending = False
        self._started = 0.0
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
        self._started = self._loop.time()
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
        now = self._loop.time()
        self._next_start = now + min(self.interval, PAUSE_FACTOR * (now - self._started))
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


_last_sized: tuple[str, int] = ("", 0)


def _size(frame: str) -> int:
    # A room's message is one string pushed to every member's queue: its size is taken once.
    # isascii() reads a flag of the string object; only a frame with accents or emoji is encoded.
    global _last_sized
    last, size = _last_sized
    if frame is last:
        return size
    size = len(frame) if frame.isascii() else len(frame.encode())
    _last_sized = (frame, size)
    return size


class WebSocketOutbox:
    # One per connection, for hours: no per-instance __dict__ (docs/benchmarks.md).
    __slots__ = (
        "_aborted",
        "_close",
        "_closing",
        "_flusher",
        "_loop",
        "_marked",
        "_max_bytes",
        "_max_frames",
        "_queue",
        "_queued_bytes",
        "_send",
        "_send_now",
        "_waiter",
        "_writer",
        "_writing",
        "sent_messages",
    )

    def __init__(
        self,
        send: SendText,
        close: CloseSocket,
        max_frames: int,
        max_bytes: int = MAX_QUEUED_BYTES,
        send_now: SendTextNow | None = None,
    ) -> None:
        self._send = send
        self._send_now = send_now
        self._close = close
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._queue: list[str] = []
        self._queued_bytes = 0
        self._loop = asyncio.get_running_loop()
        self._flusher = flusher_for(self._loop)
        self._marked = False
        self._waiter: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._writing = False
        self._aborted = False
        self._closing: tuple[int, str] | None = None
        self.sent_messages = 0

    def push(self, frame: str) -> None:
        if self._closing is not None:
            return
        size = _size(frame)
        queue = self._queue
        if queue and (
            len(queue) >= self._max_frames or self._queued_bytes + size > self._max_bytes
        ):
            self._slow_consumer()
            return
        queue.append(frame)
        self._queued_bytes += size
        if not self._marked:
            self._marked = True
            self._flusher.mark(self)

    def _slow_consumer(self) -> None:
        log.info(
            "disconnecting a slow consumer: %d frames, %d bytes unread",
            len(self._queue),
            self._queued_bytes,
        )
        self._queue = [
            encode_text(
                f.Error(
                    code=ErrorCode.SLOW_CONSUMER,
                    message="too much undelivered: the client is not reading its messages",
                )
            )
        ]
        self._queued_bytes = 0
        self._closing = (TOO_SLOW, ErrorCode.SLOW_CONSUMER.value)
        if self._writing and self._writer is not None:
            # The writer waits for a socket the client does not drain: nothing more can go out,
            # the close frame included. Ending the writer ends the connection.
            self._aborted = True
            self._writer.cancel()
        else:
            self.wake()

    def close(self, frame: str, reason: str) -> None:
        if self._closing is None:
            self._queue.append(frame)
            self._closing = (POLICY_VIOLATION, reason[:120])
        self.wake()

    def wake(self) -> None:
        self._marked = False
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        # The writer waits with nothing in flight, so a write now keeps the frames' order.
        if self._closing is None and self._queue and self._write_now():
            return
        waiter.set_result(None)

    def _write_now(self) -> bool:
        send_now = self._send_now
        if send_now is None:
            return False
        try:
            written = send_now(encode_batch(self._queue))
        except Exception:
            # The writer's own send meets the same failure and ends this connection alone;
            # raised here, it would end the flush cycle of every connection.
            log.exception("writing at once failed; the writer task sends instead")
            return False
        if written:
            self._queue = []
            self._queued_bytes = 0
            self.sent_messages += 1
        return written

    @property
    def closing(self) -> bool:
        return self._closing is not None

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def release(self) -> None:
        """Once the connection has ended: nothing more is queued or sent, and the outbox lets go
        of its connection's callbacks. Those callbacks are the connection's own methods, and the
        connection holds the outbox: without this, every closed connection stayed alive until a
        full garbage collection found the cycle (and, frozen, until the collector's thaw)."""
        self._closing = self._closing or (1000, "released")
        self._queue = []
        self._queued_bytes = 0
        self._send = _released_send
        self._send_now = None
        self._close = _released_close
        self._writer = None
        self._waiter = None

    async def run(self) -> None:
        """Send queued frames until closed; returns after closing the socket if asked to."""
        self._writer = asyncio.current_task()
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self._aborted:
                raise
            if self._writer is not None:
                self._writer.uncancel()

    async def _run(self) -> None:
        while True:
            if not self._queue and self._closing is None:
                self._waiter = self._loop.create_future()
                await self._waiter
            while self._queue:
                batch, self._queue = self._queue, []
                self._queued_bytes = 0
                self._writing = True
                try:
                    await self._send(encode_batch(batch))
                finally:
                    self._writing = False
                self.sent_messages += 1
            if self._closing is not None:
                code, reason = self._closing
                await self._close(code, reason)
                return
