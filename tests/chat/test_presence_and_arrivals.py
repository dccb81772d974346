"""Issue 14: an arrival is one bus envelope per room, and a private message's recipient is found
in memory, dropped at once when they leave or change age."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from causerie.chat.envelopes import Deliver, envelope_decoder
from causerie.errors import ChatError, ErrorCode
from causerie.protocol import frames as f
from tests.harness import Harness, harness


def record_envelopes(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every envelope the node publishes, decoded, still handed to the real bus."""
    sent: list[object] = []
    publish: Callable[[bytes], Awaitable[None]] = h.node.bus.publish

    async def recording(payload: bytes) -> None:
        sent.append(envelope_decoder.decode(payload))
        await publish(payload)

    monkeypatch.setattr(h.node.bus, "publish", recording)
    return sent


async def test_an_arrival_is_one_envelope_for_the_room_and_reaches_its_own_side_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(tmp_path) as h:
        adults = [await h.enter(name, 30 + i) for i, name in enumerate(("Alice", "Bruno", "Chloe"))]
        minors = [await h.enter(name, 15) for name in ("Max", "Nina")]
        for chatter in adults + minors:
            await chatter.join("general")
        for chatter in adults + minors:
            chatter.clear()
        sent = record_envelopes(h, monkeypatch)

        newcomer = await h.enter("Denis", 40)
        await newcomer.join("general")
        arrivals = [
            e
            for e in sent
            if isinstance(e, Deliver) and b'"member_joined"' in bytes(msgspec.Raw(e.frame))
        ]
        assert len(arrivals) == 1 and arrivals[0].room == "general"
        for adult in adults:
            assert [j.person.nickname for j in adult.received(f.MemberJoined)] == ["Denis"]
        for chatter in [*minors, newcomer]:
            assert chatter.received(f.MemberJoined) == []

        young = await h.enter("Oscar", 14)
        await young.join("general")
        for minor in minors:
            assert [j.person.nickname for j in minor.received(f.MemberJoined)] == ["Oscar"]
        for adult in [*adults, newcomer]:
            assert [j.person.nickname for j in adult.received(f.MemberJoined)] == (
                ["Denis"] if adult is not newcomer else []
            )


async def test_a_recipient_is_looked_up_once_then_from_memory(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alice = await h.enter("Alice", 30)
        await h.enter("Bruno", 31)
        presence = h.node.presence
        misses = presence.misses
        for i in range(5):
            await alice.send_private("Bruno", f"bonjour {i}")
        assert presence.misses - misses <= 1
        assert presence.hits >= 4


async def test_a_recipient_who_left_is_refused_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alice = await h.enter("Alice", 30)
        bruno = await h.enter("Bruno", 31)
        await alice.send_private("Bruno", "bonjour")  # Bruno is now in Alice's node's copy
        await h.node.chat.exit(bruno.session)
        refused = await alice.refused(alice.send_private("Bruno", "tu es là ?"))
        assert refused.code is ErrorCode.RECIPIENT_NOT_FOUND
        # And back again under the same nickname: found at once, not after the copy lapses.
        await h.enter("Bruno", 31)
        await alice.send_private("Bruno", "re")


async def test_a_changed_age_is_read_at_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.enter("Alice", 30)
        bruno = await h.enter("Bruno", 31)
        presence = h.node.presence
        assert (await presence.by_key(bruno.session.key)).age == 31  # type: ignore[union-attr]
        await presence.update_age(bruno.session.id, 16)
        assert (await presence.by_key(bruno.session.key)).age == 16  # type: ignore[union-attr]


async def test_a_lookup_that_raced_a_change_is_not_kept(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        presence = h.node.presence
        epoch = presence._epoch
        assert await presence.by_key("nobody") is None
        assert presence._epoch == epoch
        bruno = await h.enter("Nobody", 31)  # announces the key: the kept absence goes
        found = await presence.by_key(bruno.session.key)
        assert found is not None and found.id == bruno.session.id
        with pytest.raises(ChatError):
            await h.node.chat.send_private(bruno.session, "Nobody", "moi", None, bruno.peer)


async def test_a_change_the_bus_cannot_announce_still_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(tmp_path) as h:
        publish = h.node.bus.publish

        async def broker_down_for_presence(payload: bytes) -> None:
            if b'"presence_changed"' in payload:
                raise ConnectionError("broker unreachable")
            await publish(payload)

        monkeypatch.setattr(h.node.bus, "publish", broker_down_for_presence)
        bruno = await h.enter("Bruno", 31)
        presence = h.node.presence
        assert (await presence.by_key(bruno.session.key)) is not None
        await h.node.chat.exit(bruno.session)
        # Gone from the database and from this node's copy: the nickname is free again.
        assert await presence.by_key(bruno.session.key) is None
        await h.enter("Bruno", 31)
