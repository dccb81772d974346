"""The seam through which lawful retention sees every action: who connected from where, and
what they created. :mod:`causerie.legal` implements it; the node gives it to the chat core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Peer:
    """The network identity of a connection, known only to the gateway and the retention store."""

    ip: str
    port: int
    user_agent: str = ""
    protocol: str = "websocket"


class TrafficLog(Protocol):
    async def connection_opened(
        self, session_id: str, nickname: str, peer: Peer, at: float
    ) -> None:
        """Record a chatter's connection once they have entered."""

    async def connection_closed(self, session_id: str, at: float) -> None:
        """Record the end of a chatter's connection."""

    async def content_created(
        self, session_id: str, nickname: str, content_id: str, peer: Peer, at: float
    ) -> None:
        """Record that a chatter created a piece of content (a message, a room, a topic)."""
