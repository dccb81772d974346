"""The bus contract: every node publishes envelopes; every node, itself included, receives them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Handler = Callable[[bytes], Awaitable[None]]


class Bus(Protocol):
    name: str

    async def start(self, handler: Handler) -> None:
        """Connect and deliver every envelope published by any node to ``handler``, in order."""

    async def publish(self, payload: bytes) -> None:
        """Send an envelope to every node; returns once the broker has taken it."""

    async def close(self) -> None:
        """Stop receiving and disconnect; pending envelopes may be dropped."""
