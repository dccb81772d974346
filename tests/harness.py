"""An in-process harness for chat and moderation rules: no sockets, no sleeps.

A real :class:`~causerie.node.Node` (SQLite in the test's directory, the memory bus, the real
fence, policy and retention store) with a fake clock; each chatter's outbox is a list of the
frames the server pushed, decoded with the protocol's own definitions. The memory bus hands
envelopes to the hub synchronously, so once an action returns, every frame it caused is in the
recipients' lists: "nothing arrived" is a plain assertion, not a wait.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.errors import ChatError, ErrorCode
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.settings import Settings

T = TypeVar("T")
_decoder = msgspec.json.Decoder(f.ServerFrame | list[f.ServerFrame])  # type: ignore[arg-type]
_addresses = itertools.count(1)


@dataclass
class FakeClock:
    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ListOutbox:
    """An outbox that keeps what it was given."""

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.closed: tuple[Any, str] | None = None

    def _decode(self, frame: str) -> list[Any]:
        decoded = _decoder.decode(frame)
        return decoded if isinstance(decoded, list) else [decoded]

    def push(self, frame: str) -> None:
        self.frames.extend(self._decode(frame))

    def close(self, frame: str, reason: str) -> None:
        (decoded,) = self._decode(frame)
        self.closed = (decoded, reason)


class NoTrafficLog:
    """A retention log that keeps nothing, for measuring what retention costs."""

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


@dataclass
class Chatter:
    harness: Harness
    session: LocalSession
    outbox: ListOutbox
    peer: Peer
    welcome: f.Welcome

    @property
    def node(self) -> Node:
        return self.harness.node

    def received(self, kind: type[T]) -> list[T]:
        return [frame for frame in self.outbox.frames if isinstance(frame, kind)]

    def clear(self) -> None:
        self.outbox.frames.clear()

    async def join(self, *rooms: str) -> list[f.Joined]:
        return await self.node.chat.join(self.session, list(rooms))

    async def say(self, room: str, text: str) -> f.Ack:
        return await self.node.chat.say(self.session, room, text, None, self.peer)

    async def send_private(self, to: str, text: str) -> f.Ack:
        return await self.node.chat.send_private(self.session, to, text, None, self.peer)

    async def refused(self, action: Any) -> ChatError:
        """Await ``action`` and return the refusal it must raise."""
        try:
            await action
        except ChatError as error:
            return error
        raise AssertionError("the action was not refused")


@dataclass
class Harness:
    node: Node
    clock: FakeClock
    chatters: list[Chatter] = field(default_factory=list)

    async def enter(
        self,
        nickname: str,
        age: int,
        *,
        gender: str = "woman",
        postal_code: str = "75011",
        device: str | None = None,
        ip: str | None = None,
    ) -> Chatter:
        """A new chatter on their own device and address, unless told to share one."""
        outbox = ListOutbox()
        n = next(_addresses)
        peer = Peer(ip=ip or f"10.{n // 250 % 250}.{n % 250}.{n // 62500 % 250 + 1}", port=40000)
        frame = f.Enter(
            nickname=nickname,
            age=age,
            gender=gender,
            postal_code=postal_code,
            device=device or secrets.token_urlsafe(24),
        )
        session, welcome = await self.node.chat.enter(frame, outbox, peer)
        chatter = Chatter(self, session, outbox, peer, welcome)
        self.chatters.append(chatter)
        return chatter


@contextlib.asynccontextmanager
async def harness(directory: Path, **sections: Any) -> AsyncIterator[Harness]:
    """A started node on a fresh SQLite file in ``directory``; stopped afterwards."""
    sections.setdefault("database", {"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"})
    sections.setdefault("safety", {"model": False, "semantic": False})
    sections.setdefault("legal", {"keys_file": str(directory / "keys" / "retention.keys")})
    settings = Settings(**sections)
    clock = FakeClock()
    node = Node(settings, clock=clock)
    await node.start()
    try:
        yield Harness(node, clock)
    finally:
        await node.stop()


__all__ = ["Chatter", "ErrorCode", "FakeClock", "Harness", "NoTrafficLog", "harness"]
