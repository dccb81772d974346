"""NATS core pub/sub bus: one subject, every node subscribed."""

from __future__ import annotations

import logging
from typing import Any

import nats

from causerie.bus.base import Handler

log = logging.getLogger(__name__)


class NatsBus:
    name = "nats"

    def __init__(self, url: str, subject: str) -> None:
        self.url = url
        self.subject = subject
        self._client: Any = None

    async def start(self, handler: Handler) -> None:
        self._client = await nats.connect(self.url, max_reconnect_attempts=-1)

        async def on_message(message: Any) -> None:
            try:
                await handler(message.data)
            except Exception:
                log.exception("bus handler failed")

        # A large pending limit: a burst of room traffic must not make NATS drop envelopes.
        await self._client.subscribe(
            self.subject, cb=on_message, pending_msgs_limit=1_000_000, pending_bytes_limit=-1
        )
        await self._client.flush()

    async def publish(self, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("bus not started")
        await self._client.publish(self.subject, payload)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.drain()
            self._client = None
