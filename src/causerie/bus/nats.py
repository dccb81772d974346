"""NATS core pub/sub bus: one subject, every node subscribed.

:meth:`NatsBus.publish` returns only once the server has the envelope: a PING sent after it was
answered (``flush``), within :data:`CONFIRM_SECONDS`. The client library would otherwise buffer
a publication while it reconnects and report success, so a node that died with NATS down lost
messages it had acknowledged; here a publication without a connection fails at once (no
reconnect buffer) and the chatter is told ``internal_error`` with nothing stored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats

from causerie.bus.base import Handler

log = logging.getLogger(__name__)

# How long a publication may wait for the server's confirmation before it counts as failed.
CONFIRM_SECONDS = 5


class NatsBus:
    name = "nats"

    def __init__(self, url: str, subject: str) -> None:
        self.url = url
        self.subject = subject
        self._client: Any = None
        # The confirmation the next publications share: one PING for all the envelopes that
        # were written before it (see ``_confirmed``).
        self._next: asyncio.Future[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def start(self, handler: Handler) -> None:
        # pending_size=0: no buffering while disconnected; publish raises instead of queueing
        # an envelope that a later crash would lose after its message was acknowledged.
        self._client = await nats.connect(self.url, max_reconnect_attempts=-1, pending_size=0)

        async def on_message(message: Any) -> None:
            try:
                await handler(message.data)
            except Exception:
                log.exception("bus handler failed")

        # A large pending limit: a burst of room traffic must not make NATS drop envelopes.
        await self._client.subscribe(
            self.subject, cb=on_message, pending_msgs_limit=1_000_000, pending_bytes_limit=-1
        )
        # Live only once a PING written after the SUB is answered; a bare ``flush`` here could
        # overtake the SUB (see ``_flush``) and a node just started missed an envelope.
        await self._confirmed()

    async def publish(self, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("bus not started")
        await self._client.publish(self.subject, payload)
        await self._confirmed()

    async def _confirmed(self) -> None:
        """Wait for a PING written after this caller's PUB to be answered.

        Publishers that arrive before the flush task runs share its PING: it is written after
        every one of their PUBs (the client library sends commands in order), so its PONG
        confirms them all. A publisher that arrives later starts the next one.
        """
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            task = asyncio.get_running_loop().create_task(self._flush(self._next))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)
        await asyncio.shield(self._next)

    async def _flush(self, confirmation: asyncio.Future[None]) -> None:
        # The client writes a PING straight to the socket but a PUB or SUB through its flusher
        # task, which the command has woken: one turn of the loop lets that task write them
        # first, so the PONG confirms them. It also lets the publishers of this burst join.
        await asyncio.sleep(0)
        if self._next is confirmation:
            self._next = None
        try:
            await self._client.flush(CONFIRM_SECONDS)
        except Exception as exc:
            if not confirmation.done():
                confirmation.set_exception(exc)
            # Retrieved here so that a confirmation nobody awaits any more is not reported.
            confirmation.exception()
        else:
            if not confirmation.done():
                confirmation.set_result(None)

    @property
    def connected(self) -> bool:
        """Whether the client holds a connection to the server now (not reconnecting)."""
        return self._client is not None and bool(self._client.is_connected)

    async def close(self) -> None:
        if self._client is not None:
            try:
                await self._client.drain()
            except Exception:
                # Draining needs the server; without it (an outage), just close.
                await self._client.close()
            self._client = None
