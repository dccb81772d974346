"""A WebSocket client's receiving side in a few lines of asyncio, for the load generator.

In a room of 1,000 the generator reads up to 150,000 frames a second in one Python process. With
the `websockets` client each message goes through its frame parser, its message queue and a
`recv()` per message, and the generator took two thirds of its core: its own lag was part of
every latency it reported. :class:`RawWebSocket` takes over a connection that `websockets` opened
and set up (handshake, enter, join), parses the server's unmasked frames straight from
``data_received`` and sends masked text frames with one ``transport.write``. Every peer is
measured through it, so the comparison stays the same generator for all.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0

# What a message means to the caller: its payload, when it arrived (monotonic ns), and a way to
# answer on the same connection.
Handler = Callable[[bytes, int, "RawWebSocket"], None]


def frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final, masked client frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    if size:
        key = (mask * (size // 4 + 1))[:size]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(
            size, "big"
        )
    return head + mask + payload


class RawWebSocket(asyncio.Protocol):
    """The receiving half of a client connection after its set-up, without a message queue."""

    def __init__(
        self, transport: asyncio.Transport, on_message: Handler, on_lost: Callable[[], None]
    ) -> None:
        self.transport = transport
        self.on_message = on_message
        self.on_lost = on_lost
        self.mask = os.urandom(4)
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.aborted = False

    @classmethod
    async def take_over(
        cls, ws: ClientConnection, on_message: Handler, on_lost: Callable[[], None]
    ) -> RawWebSocket:
        """Read what `websockets` holds until the connection is quiet, then parse its bytes here.

        Only a quiet connection is taken: the frames already queued are read and dropped (set-up
        replies, arrivals), so that the switch falls between two frames.
        """
        while True:
            try:
                await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                break
        if ws.protocol.reader.buffer:
            raise RuntimeError("a frame was half read when the connection was taken over")
        transport = ws.transport
        raw = cls(transport, on_message, on_lost)
        transport.set_protocol(raw)
        if not transport.is_reading():
            transport.resume_reading()
        return raw

    def send_text(self, text: str) -> None:
        self.transport.write(frame(TEXT, text.encode(), self.mask))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self.buffer
        buffer += data
        start, end = 0, len(buffer)
        while end - start >= 2:
            first, second = buffer[start], buffer[start + 1]
            size = second & 0x7F
            offset = start + 2
            if size == 126:
                if end - offset < 2:
                    break
                size = int.from_bytes(buffer[offset : offset + 2], "big")
                offset += 2
            elif size == 127:
                if end - offset < 8:
                    break
                size = int.from_bytes(buffer[offset : offset + 8], "big")
                offset += 8
            if second & 0x80:
                raise RuntimeError("the server masked a frame (RFC 6455 forbids it)")
            if end - offset < size:
                break
            payload = bytes(buffer[offset : offset + size])
            start = offset + size
            self._frame(first, payload, now)
        del buffer[:start]

    def _frame(self, first: int, payload: bytes, now: int) -> None:
        opcode, final = first & 0x0F, first & 0x80
        if opcode == PING:
            self.transport.write(frame(PONG, payload, self.mask))
        elif opcode == CLOSE:
            self.transport.write(frame(CLOSE, payload[:2], self.mask))
            self.transport.close()
        elif opcode in (TEXT, BINARY, CONTINUATION):
            if not final:
                self.fragments.append(payload)
            elif self.fragments:
                self.fragments.append(payload)
                whole, self.fragments = b"".join(self.fragments), []
                self.on_message(whole, now, self)
            else:
                self.on_message(payload, now, self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.aborted:
            self.on_lost()

    def abort(self) -> None:
        self.aborted = True
        self.transport.abort()
