"""In-process bus for a single node: publishing hands the envelope straight to the handler."""

from __future__ import annotations

import logging

from causerie.bus.base import Handler

log = logging.getLogger(__name__)


class MemoryBus:
    name = "memory"

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, payload: bytes) -> None:
        if self._handler is None:
            raise RuntimeError("bus not started")
        # Like the brokers: a failing handler is the receiving node's problem, not the
        # publisher's, whose message is already stored and must still be acknowledged.
        try:
            await self._handler(payload)
        except Exception:
            log.exception("bus handler failed")

    async def close(self) -> None:
        self._handler = None
