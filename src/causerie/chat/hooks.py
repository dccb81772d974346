"""The seams through which safety, protection of minors and lawful retention see every action.

The chat service calls these on every path; the capabilities (``safety``, ``trust``, ``legal``)
implement them. The defaults here allow everything and record nothing: they exist so that the
chat core runs and is tested on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from causerie.errors import ErrorCode
from causerie.protocol.frames import AgeBand
from causerie.store.presence import OnlineSession
from causerie.store.rooms import RoomRow

SubjectKind = Literal["message", "private", "nickname", "room_name", "topic"]


@dataclass(frozen=True, slots=True)
class Author:
    session_id: str
    nickname: str
    key: str
    age: int
    band: AgeBand


@dataclass(frozen=True, slots=True)
class Subject:
    """A piece of text someone wants others to see, with what is known of its context."""

    kind: SubjectKind
    text: str
    author: Author
    room: RoomRow | None = None
    recipient: OnlineSession | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a subject. ``deliver`` False means nobody else receives it."""

    deliver: bool = True
    # The text to deliver, which a policy may have masked.
    text: str | None = None
    code: ErrorCode | None = None
    message: str = ""
    # Close the author's connection after answering (kick, ban).
    disconnect: bool = False
    labels: tuple[str, ...] = field(default_factory=tuple)
    # The policy category a refusal is about, so that clients can name it in their own words.
    category: str | None = None
    # Deliver masked: recipients see it only if they choose to (adults only).
    blurred: bool = False
    # The recorded decision, and what to call once the content is stored with its id
    # ("m<message id>"), so that the decision record points at the content it was about.
    decision_id: str | None = None
    stored: Callable[[str], Awaitable[None]] | None = None


ALLOW = Verdict()


class Screen(Protocol):
    async def screen(self, subject: Subject) -> Verdict:
        """Decide on a subject before anyone receives it."""


class AllowAll:
    async def screen(self, subject: Subject) -> Verdict:
        return ALLOW


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


class NoTrafficLog:
    async def connection_opened(
        self, session_id: str, nickname: str, peer: Peer, at: float
    ) -> None:
        return None

    async def connection_closed(self, session_id: str, at: float) -> None:
        return None

    async def content_created(
        self, session_id: str, nickname: str, content_id: str, peer: Peer, at: float
    ) -> None:
        return None
