"""Chat and moderation rules in-process: one real node, no sockets, no sleeps."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from causerie.domain import AgeBand
from causerie.errors import ErrorCode
from causerie.moderation import forms
from causerie.protocol import frames as f
from causerie.store.safety import SanctionRow
from tests.harness import Harness, harness


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as running:
        yield running


async def test_a_room_message_reaches_members_once_and_is_read_once(site: Harness) -> None:
    alice = await site.enter("Alice", 30)
    bob = await site.enter("Bob", 41, gender="man")
    await alice.join("general")
    await bob.join("general")
    bob.clear()
    before = forms.reads
    ack = await alice.say("general", "bonjour tout le monde")
    # One reading of the text for the whole chain: fence, rules, conversation memory.
    assert forms.reads == before + 1
    (message,) = bob.received(f.RoomMessage)
    assert message.id == ack.id and message.text == "bonjour tout le monde"


async def test_a_private_message_is_read_once_too(site: Harness) -> None:
    alice = await site.enter("Alice", 30)
    bob = await site.enter("Bob", 41, gender="man")
    before = forms.reads
    await alice.send_private("Bob", "tu vas bien ?")
    assert forms.reads == before + 1
    (message,) = bob.received(f.PrivateMessage)
    assert message.sender == "Alice"


async def test_the_regional_indicator_move_is_stopped_and_queued_for_review(
    site: Harness,
) -> None:
    adult = await site.enter("Marc", 40, gender="man")
    teen = await site.enter("Lea", 15)
    await adult.join("general")
    await teen.join("general")
    teen.clear()
    refused = await adult.refused(adult.say("general", "viens sur 🅢🅝🅐🅟🅒🅗🅐🅣"))
    assert refused.code == ErrorCode.MINORS_PROTECTED
    assert not teen.received(f.RoomMessage)
    escalations = await site.node.fence.store.escalations()
    assert [e.offender_key for e in escalations] == ["marc"]


async def test_nothing_crosses_the_age_line_in_private(site: Harness) -> None:
    adult = await site.enter("Marc", 40, gender="man")
    teen = await site.enter("Lea", 15)
    for sender, to in ((adult, "Lea"), (teen, "Marc")):
        refused = await sender.refused(sender.send_private(to, "salut"))
        assert refused.code == ErrorCode.CONVERSATION_FORBIDDEN
    assert not teen.received(f.PrivateMessage) and not adult.received(f.PrivateMessage)


async def test_an_age_claim_rebands_the_author_before_anything_else(site: Harness) -> None:
    camille = await site.enter("Camille", 19)
    await camille.join("general")
    await camille.say("general", "j'ai 14 ans en fait")
    (changed,) = camille.received(f.BandChanged)
    assert changed.age_band == AgeBand.YOUNG_TEEN
    assert camille.session.band == AgeBand.YOUNG_TEEN
    # The people list and private messages now read the younger band.
    adult = await site.enter("Marc", 40, gender="man")
    refused = await adult.refused(adult.send_private("Camille", "salut"))
    assert refused.code == ErrorCode.CONVERSATION_FORBIDDEN


async def test_what_the_policy_blurs_never_reaches_a_room_minors_read(site: Harness) -> None:
    adult = await site.enter("Marc", 40, gender="man")
    await adult.join("general")
    refused = await adult.refused(adult.say("general", "tu aimes le porno ?"))
    assert refused.code == ErrorCode.CONTENT_BLOCKED


async def test_a_ban_closes_the_connection_on_the_next_message(site: Harness) -> None:
    policy = site.node.safety
    assert policy is not None and policy.store is not None
    kevin = await site.enter("Kevin", 30, gender="man")
    await kevin.join("general")
    now = site.clock()
    await policy.store.add_sanction(SanctionRow(kevin.session.key, "ban", now, math.inf, "test"))
    await policy.refresh_sanctions()
    refused = await kevin.refused(kevin.say("general", "bonjour"))
    assert refused.code == ErrorCode.BANNED
    assert kevin.outbox.closed is not None
    assert kevin.outbox.closed[0].code == ErrorCode.BANNED


async def test_lists_show_one_side_of_the_age_line(site: Harness) -> None:
    adult = await site.enter("Marc", 40, gender="man")
    teen = await site.enter("Lea", 15)
    other_teen = await site.enter("Tom", 16, gender="man")
    adults_view = await site.node.chat.people(adult.session, f.People())
    teens_view = await site.node.chat.people(teen.session, f.People())
    assert {p.nickname for p in adults_view.people} == set()
    assert {p.nickname for p in teens_view.people} == {"Tom"}
    assert other_teen.session.band.is_minor


async def test_adults_may_swap_numbers_in_private_but_not_ask_for_codes(site: Harness) -> None:
    alice = await site.enter("Alice", 30)
    bruno = await site.enter("Bruno", 34, gender="man")
    await alice.send_private("Bruno", "mon numero c'est le 06 12 34 56 78, appelle quand tu veux")
    await alice.send_private("Bruno", "envoie-moi ton RIB, je te rembourse le resto")
    delivered = [m.text for m in bruno.received(f.PrivateMessage)]
    assert len(delivered) == 2
    for phishing in ("need ur 2fa code real quick", "c quoi ton mdp steam ?"):
        refused = await alice.refused(alice.send_private("Bruno", phishing))
        assert refused.code is ErrorCode.CONTENT_BLOCKED
    assert len(bruno.received(f.PrivateMessage)) == 2
