"""In-process bus for a single node: publishing hands the envelope straight to the handler."""

from __future__ import annotations

from causerie.bus.base import Handler


class MemoryBus:
    name = "memory"

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def publish(self, payload: bytes) -> None:
        if self._handler is None:
            raise RuntimeError("bus not started")
        await self._handler(payload)

    async def close(self) -> None:
        self._handler = None
