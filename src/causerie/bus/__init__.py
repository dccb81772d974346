"""Fan-out between nodes: one interface, implementations chosen by name in settings."""

from __future__ import annotations

from causerie.bus.base import Bus, Handler
from causerie.settings import BusSettings

__all__ = ["Bus", "Handler", "create_bus"]


def create_bus(settings: BusSettings) -> Bus:
    if settings.backend == "memory":
        from causerie.bus.memory import MemoryBus

        return MemoryBus()
    if settings.backend == "redis":
        from causerie.bus.redis import RedisBus

        return RedisBus(settings.url or "redis://127.0.0.1:6379/0", settings.channel)
    from causerie.bus.nats import NatsBus

    return NatsBus(settings.url or "nats://127.0.0.1:4222", settings.channel)
