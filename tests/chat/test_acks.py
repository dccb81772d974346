"""Honest acks in-process (issue 12, finding 5): a message is in no history before its ack, and
a client's request id makes a retry return the first ack instead of a second message."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from causerie.chat.hooks import Peer
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.settings import Settings
from tests.harness import FakeClock, Harness, ListOutbox, NoTrafficLog, harness


class GatedTraffic(NoTrafficLog):
    """A retention store that holds the first content record until the test opens the gate
    (a slow retention database), and takes every later one at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.held = asyncio.Event()
        self._first = True

    async def content_created(
        self, session_id: str, nickname: str, content_id: str, peer: Peer, at: float
    ) -> None:
        if self._first:
            self._first = False
            self.held.set()
            await self.gate.wait()


@contextlib.asynccontextmanager
async def gated(directory: Path) -> AsyncIterator[tuple[Harness, GatedTraffic]]:
    settings = Settings(
        database={"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"},  # type: ignore[arg-type]
        safety={"enabled": False},  # type: ignore[arg-type]
        legal={"keys_file": str(directory / "keys" / "retention.keys")},  # type: ignore[arg-type]
    )
    traffic = GatedTraffic()
    clock = FakeClock()
    node = Node(settings, clock=clock, traffic=traffic)
    await node.start()
    try:
        yield Harness(node, clock), traffic
    finally:
        traffic.gate.set()
        await node.stop()


async def history(h: Harness, room: str = "general") -> list[tuple[int, str]]:
    return [(m.id, m.text) for m in await h.node.messages.recent_in_room(room, 0.0, 100)]


async def test_a_stored_message_is_in_no_history_before_its_ack(tmp_path: Path) -> None:
    async with gated(tmp_path) as (h, traffic):
        alice = await h.enter("Alice", 30)
        bob = await h.enter("Bob", 41)
        await alice.join("general")
        saying = asyncio.create_task(alice.say("general", "pas encore"))
        await asyncio.wait_for(traffic.held.wait(), 5)
        # Stored (it has an id), its traffic record not yet written: nobody is shown it.
        (joined,) = await bob.join("general")
        assert joined.history == []
        assert await history(h) == []
        traffic.gate.set()
        ack = await saying
        assert await history(h) == [(ack.id, "pas encore")]


async def test_a_retry_with_the_same_request_returns_the_first_ack(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alice = await h.enter("Alice", 30)
        bob = await h.enter("Bob", 41)
        await alice.join("general")
        await bob.join("general")
        bob.clear()
        chat, peer = h.node.chat, alice.peer
        first = await chat.say(alice.session, "general", "une fois", "1", peer, request="r1")
        again = await chat.say(alice.session, "general", "une fois", "2", peer, request="r1")
        assert (again.id, again.at, again.ref) == (first.id, first.at, "2")
        assert [m.id for m in bob.received(f.RoomMessage)] == [first.id]
        # Old clients (no request id) are as before: each frame is a message.
        plain = [await alice.say("general", "sans id") for _ in range(2)]
        assert plain[0].id != plain[1].id
        # Another chatter's identical request id is another request.
        mine = await chat.say(bob.session, "general", "une fois", None, bob.peer, request="r1")
        assert mine.id != first.id
        assert [t for _, t in await history(h)] == ["une fois", "sans id", "sans id", "une fois"]
        # The same in private.
        p1 = await chat.send_private(alice.session, "Bob", "coucou", None, peer, request="p")
        p2 = await chat.send_private(alice.session, "Bob", "coucou", None, peer, request="p")
        assert p1.id == p2.id
        assert [m.id for m in bob.received(f.PrivateMessage)] == [p1.id]


async def test_a_resumed_chatters_retry_finds_the_first_ack(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        device = secrets.token_urlsafe(24)
        alice = await h.enter("Alice", 30, device=device)
        await alice.join("general")
        chat = h.node.chat
        first = await chat.say(alice.session, "general", "avant", None, alice.peer, request="x")
        token = alice.welcome.resume_token
        assert token is not None
        for _ in range(2):  # a resumed session, then one resumed from it
            session, welcome, _ = await chat.resume(
                f.Resume(token=token, device=device), ListOutbox(), alice.peer
            )
            await chat.join(session, ["general"])
            again = await chat.say(session, "general", "avant", None, alice.peer, request="x")
            assert again.id == first.id
            assert welcome.resume_token is not None
            token = welcome.resume_token
        assert await history(h) == [(first.id, "avant")]


async def test_a_retry_racing_its_original_leaves_one_message(tmp_path: Path) -> None:
    async with gated(tmp_path) as (h, traffic):
        alice = await h.enter("Alice", 30)
        bob = await h.enter("Bob", 41)
        await alice.join("general")
        await bob.join("general")
        bob.clear()
        chat = h.node.chat
        # The original hangs after storing (its connection is gone, say); the retry arrives.
        original = asyncio.create_task(
            chat.say(alice.session, "general", "course", "1", alice.peer, request="r")
        )
        await asyncio.wait_for(traffic.held.wait(), 5)
        retry = await chat.say(alice.session, "general", "course", "2", alice.peer, request="r")
        traffic.gate.set()
        late = await original
        # Both answers name the retry's message; the original's copy was taken back.
        assert late.id == retry.id
        assert await history(h) == [(retry.id, "course")]
        copies = [m.id for m in bob.received(f.RoomMessage)]
        assert copies[0] == retry.id and len(copies) == 2
        assert [r.id for r in bob.received(f.Removed)] == [copies[1]]
