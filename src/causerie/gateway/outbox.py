"""A connection's outgoing queue, drained by one writer task.

Frames that pile up while the writer waits on a slow socket go out together as one JSON array:
under load each WebSocket message carries more frames instead of the server falling further
behind. A client that stops reading is disconnected once its queue passes the limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from causerie.protocol.codec import encode_batch

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int, str], Awaitable[None]]

# Close codes (RFC 6455 and the registered 4000-4999 private range).
POLICY_VIOLATION = 1008
TOO_SLOW = 4008


class WebSocketOutbox:
    def __init__(self, send: SendText, close: CloseSocket, max_frames: int) -> None:
        self._send = send
        self._close = close
        self._max_frames = max_frames
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self.sent_messages = 0

    def push(self, frame: str) -> None:
        if self._closing is not None:
            return
        if len(self._queue) >= self._max_frames:
            self._closing = (TOO_SLOW, "too many undelivered frames: the client is not reading")
            self._queue.clear()
        else:
            self._queue.append(frame)
        self._wake.set()

    def close(self, frame: str, reason: str) -> None:
        if self._closing is None:
            self._queue.append(frame)
            self._closing = (POLICY_VIOLATION, reason[:120])
        self._wake.set()

    @property
    def closing(self) -> bool:
        return self._closing is not None

    async def run(self) -> None:
        """Send queued frames until closed; returns after closing the socket if asked to."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = list(self._queue)
                self._queue.clear()
                await self._send(encode_batch(batch))
                self.sent_messages += 1
            if self._closing is not None:
                code, reason = self._closing
                await self._close(code, reason)
                return
