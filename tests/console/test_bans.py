"""Bans at the door, through the real entry path: nickname key, device token, chosen address."""

from __future__ import annotations

import pytest

from causerie.chat.hooks import Peer
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.actions import ModerationError
from causerie.protocol import frames as f
from causerie.store.review import Source
from causerie.store.staff import Role
from tests.console.conftest import Console
from tests.harness import ListOutbox

DEVICE = "device-token-of-bob-0123456789abcdef"
OTHER_DEVICE = "device-token-of-his-sister-0123456789"
HOME = "203.0.113.7"


async def _banned(console: Console, *, minutes: float | None, address: bool) -> f.Welcome:
    """Bob, on his device at home, is reported and banned by a senior moderator."""
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31, device=DEVICE, ip=HOME)
    await alice.join("general")
    await bob.join("general")
    ack = await bob.say("general", "tu es vraiment nul, va-t'en")
    await h.node.chat.report(alice.session, f"message:{ack.id}", "harassment", "", None)
    (job,) = await console.parts.review.jobs(sources=[Source.REPORT])
    sam = console.actor("sam", Role.SENIOR)
    decision = "suspend" if minutes is not None else "ban"
    await console.parts.actions.decide(sam, job.id, decision, minutes=minutes, address=address)
    assert bob.outbox.closed is not None and bob.outbox.closed[0].code == ErrorCode.BANNED
    # He leaves (the connection was closed).
    await h.node.chat.entry.exit(bob.session)
    return bob.welcome


async def _refused(console: Console, nickname: str, **where: str) -> ChatError:
    with pytest.raises(ChatError) as refused:
        await console.harness.enter(nickname, 31, **where)
    return refused.value


async def test_a_new_nickname_on_the_banned_device_is_refused(console: Console) -> None:
    await _banned(console, minutes=120, address=False)
    error = await _refused(console, "Bobby", device=DEVICE, ip="198.51.100.9")
    assert error.code == ErrorCode.BANNED and error.detail["field"] == "device"
    # Until when (UTC and Paris), in English and French, and the decision to quote in an appeal.
    (statement,) = [
        s for s in await console.parts.statements.for_subject("bob") if s.decision == "suspended"
    ]
    assert "until" in error.message and "UTC" in error.message
    assert "jusqu'au" in error.message and "heure de Paris" in error.message
    assert statement.id in error.message and "appeal" in error.message
    # The nickname itself, from any device.
    again = await _refused(console, "Bob", ip="198.51.100.10")
    assert again.code == ErrorCode.BANNED and again.detail["field"] == "nickname"
    # Another device at the same address (his sister at home) is not banned.
    sister = await console.harness.enter("Clara", 29, device=OTHER_DEVICE, ip=HOME)
    assert isinstance(sister.welcome, f.Welcome)
    # The suspension ends: the device comes back.
    console.harness.clock.advance(121 * 60)
    back = await console.harness.enter("Bobby", 31, device=DEVICE, ip=HOME)
    assert back.welcome.me.nickname == "Bobby"


async def test_the_other_nickname_online_from_the_banned_device_is_disconnected(
    console: Console,
) -> None:
    h = console.harness
    bobby = await h.enter("Bobby", 31, device=DEVICE, ip="198.51.100.40")
    sister = await h.enter("Clara", 29, device=OTHER_DEVICE, ip=HOME)
    await _banned(console, minutes=60, address=False)
    assert bobby.outbox.closed is not None and bobby.outbox.closed[0].code == ErrorCode.BANNED
    assert sister.outbox.closed is None


async def test_resuming_the_banned_session_is_refused(console: Console) -> None:
    welcome = await _banned(console, minutes=120, address=False)
    assert welcome.resume_token is not None
    with pytest.raises(ChatError) as refused:
        await console.harness.node.chat.resume(
            f.Resume(token=welcome.resume_token, device=DEVICE),
            ListOutbox(),
            Peer(ip="198.51.100.30", port=40000),
        )
    assert refused.value.code == ErrorCode.BANNED


async def test_an_address_is_banned_only_when_chosen_and_briefly(console: Console) -> None:
    await _banned(console, minutes=7 * 24 * 60, address=True)
    error = await _refused(console, "Clara", device=OTHER_DEVICE, ip=HOME)
    assert error.code == ErrorCode.BANNED and error.detail["field"] == "address"
    # Elsewhere, another device is free.
    await console.harness.enter("Dora", 40, ip="198.51.100.20")
    # The address part ends after 24 hours at most; the device stays banned for the week.
    console.harness.clock.advance(24 * 3600 + 60)
    await console.harness.enter("Clara", 29, device=OTHER_DEVICE, ip=HOME)
    still = await _refused(console, "Bobby", device=DEVICE, ip=HOME)
    assert still.detail["field"] == "device"


async def test_a_ban_for_ever_and_its_reversal_on_appeal(console: Console) -> None:
    await _banned(console, minutes=None, address=False)
    error = await _refused(console, "Bobby", device=DEVICE)
    assert "You are banned from this site." in error.message
    assert "Vous êtes exclu·e de ce site." in error.message
    (statement,) = [
        s for s in await console.parts.statements.for_subject("bob") if s.decision == "banned"
    ]
    await console.parts.statements.appeal(
        statement.id, "bob", "it was a joke", console.harness.clock()
    )
    ava = console.actor("ava", Role.SENIOR)
    await console.parts.actions.decide_appeal(ava, statement.id, "reversed")
    await console.harness.enter("Bobby", 31, device=DEVICE)


async def test_the_address_is_refused_for_a_mute(console: Console) -> None:
    h = console.harness
    bob = await h.enter("Bob", 31, device=DEVICE, ip=HOME)
    await bob.join("general")
    job_id = await console.job(author_key="bob")
    mia = console.actor("mia", Role.MODERATOR)
    with pytest.raises(ModerationError) as refused:
        await console.parts.actions.decide(mia, job_id, "mute", address=True)
    assert refused.value.code == "invalid"
