"""The minors fence end to end: a real server, real clients, the real database."""

from __future__ import annotations

import asyncio

import pytest

from causerie.client import ClientError, MemberJoined, MemberLeft, PrivateMessage, RoomMessage
from causerie.domain import ConversationKey
from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.trust.assurance import DevelopmentAgeIssuer
from tests.conftest import RunningServer
from tests.trust.conftest import enter

DEVICE = "device-token-0123456789abcdef"


async def test_minors_and_adults_never_see_each_other_listed(fenced: RunningServer) -> None:
    async with fenced.client() as adult, fenced.client() as other_adult, fenced.client() as teen:
        await enter(adult, "Marc", 40, gender="man")
        await enter(other_adult, "Nadia", 35)
        await enter(teen, "Lea", 15)
        await adult.join("general")
        (joined,) = await teen.join("general")
        assert [p.nickname for p in joined.members] == ["Lea"]
        await other_adult.join("general")
        arrival = await adult.next_event(MemberJoined)
        assert arrival.person.nickname == "Nadia"
        await asyncio.sleep(0.05)
        # Lea's arrival was announced to no adult, Nadia's to no minor.
        assert not [e for e in adult.pending_events() if isinstance(e, MemberJoined)]
        assert not [e for e in teen.pending_events() if isinstance(e, MemberJoined)]
        assert {p.nickname for p in await adult.members("general")} == {"Marc", "Nadia"}
        assert {p.nickname for p in await teen.members("general")} == {"Lea"}
        assert {p.nickname for p in await adult.people()} == {"Nadia"}
        assert await adult.people(age_band="15-17") == []
        assert await teen.people() == []
        assert await teen.people(age_band="18+") == []
        # Teen rooms are not listed to adults, adults-only rooms not to minors.
        adult_rooms = {r.id: r.audience for r in await adult.rooms()}
        teen_rooms = {r.id: r.audience for r in await teen.rooms()}
        assert "ados" not in adult_rooms and "rencontres" in adult_rooms
        assert "ados" in teen_rooms and "adults" not in teen_rooms.values()


async def test_no_private_contact_across_the_adult_line(fenced: RunningServer) -> None:
    async with fenced.client() as adult, fenced.client() as teen:
        await enter(adult, "Marc", 40, gender="man")
        await enter(teen, "Lea", 15)
        for sender, recipient in ((adult, "Lea"), (teen, "Marc")):
            with pytest.raises(ClientError) as refused:
                await sender.send_private(recipient, "salut")
            assert refused.value.code == ErrorCode.CONVERSATION_FORBIDDEN
        await adult.typing(to="Lea")
        error = await adult.next_event(f.Error)
        assert error.code == ErrorCode.CONVERSATION_FORBIDDEN
        await asyncio.sleep(0.05)
        assert not [e for e in teen.pending_events() if not isinstance(e, f.Error)]
        # The adult's attempt is recorded; the minor's is recorded too but never escalated.
        store = fenced.node.fence.store
        attempts = await store.incidents(conversation_key=ConversationKey.pair("marc", "lea"))
        assert [(i.offender_nickname, i.kind) for i in attempts] == [
            ("Marc", "private_attempt"),
            ("Lea", "private_attempt"),
        ]


async def test_what_an_adult_may_not_send_where_minors_read(fenced: RunningServer) -> None:
    async with fenced.client() as adult, fenced.client() as teen:
        await enter(adult, "Marc", 40, gender="man")
        await enter(teen, "Lea", 15)
        await teen.join("general", "musique")
        await adult.join("general", "musique")
        await adult.say("general", "bonjour tout le monde")
        assert (await teen.next_event(RoomMessage)).text == "bonjour tout le monde"
        with pytest.raises(ClientError) as refused:
            await adult.say("musique", "mon sn@p c'est marc_75")
        assert refused.value.code == ErrorCode.MINORS_PROTECTED
        # An adult who tried that is frozen in that room until moderators look.
        with pytest.raises(ClientError) as frozen:
            await adult.say("musique", "bonjour")
        assert frozen.value.code == ErrorCode.CONVERSATION_FROZEN
        await adult.say("general", "il fait beau")
        assert (await teen.next_event(RoomMessage)).text == "il fait beau"
        # A minor's own contact details stay out of rooms adults read.
        with pytest.raises(ClientError) as own:
            await teen.say("general", "ajoute moi sur insta")
        assert own.value.code == ErrorCode.CONTACT_DETAILS_REFUSED
        (escalation,) = await fenced.node.fence.store.escalations()
        assert (escalation.kind, escalation.offender_nickname, escalation.target) == (
            "contact_attempt",
            "Marc",
            "musique",
        )
        # The attempt that opened it is sealed in the evidence locker too.
        assert escalation.evidence_ref == f"trust-escalation-{escalation.id}"


async def test_adults_only_rooms_need_proof_of_age(
    fenced: RunningServer, issuer: DevelopmentAgeIssuer
) -> None:
    async with fenced.client() as unverified, fenced.client() as verified:
        await enter(unverified, "Marc", 40, gender="man")
        with pytest.raises(ClientError) as refused:
            await unverified.join("rencontres")
        assert refused.value.code == ErrorCode.AGE_VERIFICATION_REQUIRED
        with pytest.raises(ClientError) as refused:
            await unverified.create_room("Entre nous")
        assert refused.value.code == ErrorCode.AGE_VERIFICATION_REQUIRED
        token = issuer.issue()
        await enter(verified, "Nadia", 35, age_token=token)
        await verified.join("rencontres")
        await verified.create_room("Club lecture")
        with pytest.raises(ClientError) as teens:
            await verified.join("ados")
        assert teens.value.code == ErrorCode.ROOM_FORBIDDEN
    async with fenced.client() as replay:
        with pytest.raises(ClientError) as replayed:
            await enter(replay, "Paul", 50, age_token=token)
        assert replayed.value.code == ErrorCode.AGE_VERIFICATION_FAILED
    async with fenced.client() as minor:
        with pytest.raises(ClientError) as stays:
            await enter(minor, "Lea", 15, age_token=issuer.issue())
        assert stays.value.code == ErrorCode.AGE_VERIFICATION_FAILED
        await enter(minor, "Lea", 15)
        with pytest.raises(ClientError) as closed:
            await minor.join("rencontres")
        assert closed.value.code == ErrorCode.ROOM_FORBIDDEN
        assert "adults only" in closed.value.message


async def test_verify_age_after_entry(fenced: RunningServer, issuer: DevelopmentAgeIssuer) -> None:
    async with fenced.client() as adult:
        welcome = await enter(adult, "Marc", 40, gender="man")
        session = fenced.node.hub.sessions[welcome.session]
        with pytest.raises(Exception) as bad:
            await fenced.node.chat.verify_age(session, "v1.junk.junk", None)
        assert getattr(bad.value, "code", None) == ErrorCode.AGE_VERIFICATION_FAILED
        reply = await fenced.node.chat.verify_age(session, issuer.issue(), "r1")
        assert reply == f.AgeVerified(ref="r1")
        await adult.join("rencontres")


async def test_a_declared_adult_who_writes_an_age_under_18_is_a_minor_at_once(
    fenced: RunningServer, issuer: DevelopmentAgeIssuer
) -> None:
    async with fenced.client() as liar, fenced.client() as adult, fenced.client() as teen:
        await enter(liar, "Jules", 19, gender="man", age_token=issuer.issue(), device=DEVICE)
        await enter(adult, "Nadia", 35, age_token=issuer.issue())
        await enter(teen, "Lea", 15)
        await adult.join("rencontres", "general")
        await liar.join("rencontres", "general")
        await liar.send_private("Nadia", "salut")
        await adult.next_event(PrivateMessage)

        ack = await liar.say("general", "j'ai 14 ans")
        # By the time the message is acknowledged, everything has happened.
        notice = await liar.next_event(f.BandChanged)
        assert (notice.age_band, notice.age, notice.left_rooms) == ("13-14", 14, ["rencontres"])
        assert "under 18" in notice.message
        left = await adult.next_event(MemberLeft)
        assert (left.room, left.nickname) == ("rencontres", "Jules")
        assert ack.id > 0
        row = await fenced.node.presence.by_key("jules")
        assert row is not None and row.age == 14
        with pytest.raises(ClientError) as closed:
            await liar.join("rencontres")
        assert closed.value.code == ErrorCode.ROOM_FORBIDDEN
        with pytest.raises(ClientError) as private:
            await liar.send_private("Nadia", "tu es là ?")
        assert private.value.code == ErrorCode.CONVERSATION_FORBIDDEN
        assert {p.nickname for p in await liar.people()} == {"Lea"}
        assert "Jules" not in {p.nickname for p in await adult.people()}
        (flag,) = await fenced.node.fence.store.escalations()
        assert (flag.kind, flag.conversation_key) == (
            "age_inconsistency",
            ConversationKey.person("jules"),
        )

        # A minor who claims to be an adult stays a minor.
        await teen.join("general")
        await teen.say("general", "en fait j'ai 19 ans")
        assert (await fenced.node.presence.by_key("lea")).age == 15  # type: ignore[union-attr]
        with pytest.raises(ClientError):
            await teen.send_private("Nadia", "salut")

    # Coming back from the same device as an adult keeps the younger band.
    async with fenced.client() as back:
        welcome = await enter(back, "JulesBis", 25, gender="man", device=DEVICE)
        assert welcome.age_band == "13-14" and welcome.me.age == 14
        assert welcome.age_notice is not None


async def test_an_adult_claim_in_an_adults_only_room_is_not_delivered_there(
    fenced: RunningServer, issuer: DevelopmentAgeIssuer
) -> None:
    async with fenced.client() as liar, fenced.client() as adult:
        await enter(liar, "Jules", 19, gender="man", age_token=issuer.issue())
        await enter(adult, "Nadia", 35, age_token=issuer.issue())
        await adult.join("rencontres")
        await liar.join("rencontres")
        with pytest.raises(ClientError) as refused:
            await liar.say("rencontres", "en vrai je suis en 3e")
        assert refused.value.code == ErrorCode.ROOM_FORBIDDEN
        await asyncio.sleep(0.05)
        assert not [e for e in adult.pending_events() if isinstance(e, RoomMessage)]


async def test_coming_back_under_another_age_keeps_the_younger_band(
    fenced: RunningServer,
) -> None:
    async with fenced.client() as kid:
        with pytest.raises(ClientError) as young:
            await enter(kid, "Tom", 11, gender="man", device=DEVICE)
        assert young.value.code == ErrorCode.AGE_TOO_YOUNG
    async with fenced.client() as again:
        with pytest.raises(ClientError) as still:
            await enter(again, "Tommy", 18, gender="man", device=DEVICE)
        assert still.value.code == ErrorCode.AGE_TOO_YOUNG
        # The refusal says why and until when, not only "no".
        assert "this device told us an age under 13" in still.value.message
        assert "enter again from" in still.value.message


async def test_an_address_never_rebands_another_person_it_asks_adults_for_a_proof(
    fenced: RunningServer, issuer: DevelopmentAgeIssuer
) -> None:
    """Families, offices, schools and mobile carriers share addresses: one person's typo of
    "12" there must not show the next adult as "13 ans"."""
    async with fenced.client() as kid:
        with pytest.raises(ClientError):
            await enter(kid, "Tom", 12, gender="man", device=DEVICE)
    async with fenced.client() as colleague:
        welcome = await enter(colleague, "Thomas", 34, gender="man", device="another-device-1")
        assert welcome.age_band == "18+" and welcome.me.age == 34
        assert welcome.age_notice is None
        # Adults-only rooms ask this address for a proof of age for a while.
        with pytest.raises(ClientError) as proof:
            await colleague.join("rencontres")
        assert proof.value.code == ErrorCode.AGE_VERIFICATION_REQUIRED
        await colleague.verify_age(issuer.issue())
        await colleague.join("rencontres")


async def test_grooming_is_scored_over_the_conversation_then_frozen_and_escalated(
    fenced: RunningServer,
) -> None:
    async with fenced.client() as older, fenced.client() as younger:
        await enter(older, "Kevin", 17, gender="man")
        await enter(younger, "Lea", 13)
        # Each message alone is not much; together they are a pattern.
        for text in ("salut", "t'as quel âge ?", "tu habites où ?", "t'es dans quel collège ?"):
            await older.send_private("Lea", text)
            await younger.next_event(PrivateMessage)
        with pytest.raises(ClientError) as frozen:
            await older.send_private("Lea", "envoie moi une photo, et dis-le pas à tes parents")
        assert frozen.value.code == ErrorCode.CONVERSATION_FROZEN
        for sender, recipient in ((older, "Lea"), (younger, "Kevin")):
            with pytest.raises(ClientError) as still:
                await sender.send_private(recipient, "ok")
            assert still.value.code == ErrorCode.CONVERSATION_FROZEN
        store = fenced.node.fence.store
        (escalation,) = await store.escalations()
        assert escalation.kind == "grooming" and escalation.offender_nickname == "Kevin"
        history = [m.text for m in await store.preserved(escalation.id)]
        assert history == [
            "salut",
            "t'as quel âge ?",
            "tu habites où ?",
            "t'es dans quel collège ?",
        ]
        attempts = await store.incidents(conversation_key=escalation.conversation_key)
        assert all(i.escalation_id == escalation.id for i in attempts)
        assert [i.kind for i in attempts] == ["message", "frozen_attempt", "frozen_attempt"]
