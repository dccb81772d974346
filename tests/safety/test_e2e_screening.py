"""A real server and real clients: what the safety pipeline lets through, and what it does not.

Each harmful message is an obfuscated listed term (synthetic, non-graphic). It must never reach
the other chatter in the room, the author must get the configured refusal, and the decision must
be in the store. Benign text that contains listed substrings must pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from causerie.client import Client, ClientError, PrivateMessage, RoomMessage
from causerie.errors import ErrorCode
from causerie.protocol.identity import nickname_key
from causerie.safety.pipeline import SafetyPipeline
from causerie.settings import Settings
from causerie.store.safety import SafetyStore
from tests.conftest import RunningServer, run_server

# (category, room, obfuscated text, error code the author receives). Contact details, app
# moves, money and grooming signals from an adult where minors read are refused earlier by the
# protection of minors (tests/trust); those categories are tested here in an adults-only room.
HARMFUL = [
    ("child_safety", "rencontres", "ne d1s r1en à tes p@rents", ErrorCode.CONTENT_BLOCKED),
    ("sexual", "general", "on regarde un p.o.r.n.o ?", ErrorCode.CONTENT_BLOCKED),
    ("solicitation", "general", "3sc0rt dispo ce soir", ErrorCode.CONTENT_BLOCKED),
    ("drugs", "general", "je vends de la c0c@ïne", ErrorCode.CONTENT_BLOCKED),
    ("weapons", "general", "qui veut acheter un gl0ck", ErrorCode.CONTENT_BLOCKED),
    ("violence", "general", "je vais te t.u.e.r", ErrorCode.CONTENT_BLOCKED),
    # The rule alone warns (0.6); the model is sure enough of an insult this plain to block.
    ("harassment", "general", "espèce de c0nn4rd", ErrorCode.CONTENT_BLOCKED),
    ("personal_data", "rencontres", "appelle moi au 06.12.34.56.78", ErrorCode.CONTENT_BLOCKED),
    ("off_platform", "rencontres", "ajoute moi sur s n @ p", ErrorCode.CONTENT_BLOCKED),
    ("scam", "rencontres", "argent f@cile, gains g@rantis", ErrorCode.CONTENT_BLOCKED),
]


@pytest.fixture
async def server(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningServer]:
    # Adults-only rooms without an age verification token, so that adults can be tested there
    # (the protection of minors has its own tests); the rest is the shipped configuration.
    settings = make_settings(minors={"adults_only_requires_verification": False})
    async with run_server(settings) as running:
        yield running


def pipeline_of(server: RunningServer) -> SafetyPipeline:
    assert server.node.safety is not None
    return server.node.safety


async def entered(server: RunningServer, nickname: str, *rooms: str, age: int = 30) -> Client:
    client = server.client()
    await client.__aenter__()
    await client.enter(nickname, age, "woman", "75011")
    if rooms:
        await client.join(*rooms)
    return client


async def only_messages(client: Client, settle: float = 0.2) -> list[Any]:
    await asyncio.sleep(settle)
    return [e for e in client.pending_events() if isinstance(e, RoomMessage | PrivateMessage)]


@pytest.mark.parametrize(("category", "room", "text", "code"), HARMFUL, ids=[h[0] for h in HARMFUL])
async def test_a_listed_term_never_reaches_the_room(
    server: RunningServer, category: str, room: str, text: str, code: ErrorCode
) -> None:
    reader = await entered(server, "Lecteur", room)
    author = await entered(server, "Auteur", room)
    try:
        with pytest.raises(ClientError) as refused:
            await author.say(room, text)
        assert refused.value.code == code
        assert refused.value.message.startswith("Your message was not delivered")
        # The refusal names its category, so that clients can say it in their own words.
        assert refused.value.error.category == category
        # The next message arrives, and it is the first: the refused one never did.
        await author.say(room, "bonne soirée")
        received = await reader.next_event(RoomMessage, within=5)
        assert received.text == "bonne soirée"
        assert all(m.text != text for m in await only_messages(reader, 0.05))

        store = pipeline_of(server).store
        assert isinstance(store, SafetyStore)
        await pipeline_of(server).flush()
        decisions = await store.decisions(author_key=nickname_key("Auteur"))
        refusal = next(d for d in decisions if d.action != "allow")
        assert refusal.subject_kind == "message" and refusal.room_id == room
        assert refusal.scores[category] >= 0.6
        assert refusal.action == ("warn" if code == ErrorCode.WARNED else "block")
        assert refusal.rules and refusal.policy_version == pipeline_of(server).policy_version
        delivered = next(d for d in decisions if d.action == "allow")
        assert delivered.content_id == f"m{received.id}"
    finally:
        await author.__aexit__(None, None, None)
        await reader.__aexit__(None, None, None)


async def test_grooming_signals_are_escalated_child_safety_first(server: RunningServer) -> None:
    reader = await entered(server, "Lecteur", "rencontres")
    author = await entered(server, "Auteur", "rencontres")
    try:
        with pytest.raises(ClientError):
            await author.say("rencontres", "c'est notre s3cr3t, ne le dis à personne")
        store = pipeline_of(server).store
        assert store is not None
        queue = await store.open_escalations()
        assert queue[0].category == "child_safety" and queue[0].priority == 0
        assert queue[0].author_nickname == "Auteur"
    finally:
        await author.__aexit__(None, None, None)
        await reader.__aexit__(None, None, None)


async def test_benign_text_with_listed_substrings_passes(server: RunningServer) -> None:
    reader = await entered(server, "Lecteur", "general", "cinema")
    author = await entered(server, "Auteur", "general", "cinema")
    try:
        benign = [
            ("general", "Scunthorpe United a gagné hier soir"),
            ("cinema", "The assassin in that film was brilliant"),
            ("cinema", "L'assassin du film est le majordome, quel classique"),
            ("general", "je dois bosser demain, bonne nuit"),
        ]
        for room, text in benign:
            await author.say(room, text)
            received = await reader.next_event(RoomMessage, within=5)
            assert (received.room, received.text) == (room, text)
    finally:
        await author.__aexit__(None, None, None)
        await reader.__aexit__(None, None, None)


@pytest.mark.parametrize(
    "name", ["Without him knowing", "À son insu", "Sans qu'elle le sache", "W1th0ut h1m kn0wing"]
)
async def test_a_room_that_organises_abuse_cannot_be_created(
    server: RunningServer, name: str
) -> None:
    host = await entered(server, "Hote")
    try:
        with pytest.raises(ClientError) as refused:
            await host.create_room(name)
        assert refused.value.code == ErrorCode.ROOM_NAME_REFUSED
        assert all(room.name != name for room in await host.rooms())
        # A harmless room with an abusive topic is refused too; a harmless one is created.
        with pytest.raises(ClientError) as topic:
            await host.create_room("Soirées", topic="à son insu")
        assert topic.value.code in (ErrorCode.CONTENT_BLOCKED, ErrorCode.ROOM_NAME_REFUSED)
        created = await host.create_room("Soirées jeux de société")
        assert created.room.name == "Soirées jeux de société"
    finally:
        await host.__aexit__(None, None, None)


async def test_a_nickname_that_organises_abuse_cannot_be_taken(server: RunningServer) -> None:
    async with server.client() as client:
        with pytest.raises(ClientError) as refused:
            await client.enter("Vends_c0ke", 30, "man", "75011")
        assert refused.value.code == ErrorCode.NICKNAME_REFUSED
        await client.enter("Dominique", 30, "man", "75011")


async def test_sexual_talk_between_adults_arrives_blurred(server: RunningServer) -> None:
    reader = await entered(server, "Lecteur", "rencontres")
    author = await entered(server, "Auteur", "rencontres")
    try:
        await author.say("rencontres", "tu aimes le porno ?")
        received = await reader.next_event(RoomMessage, within=5)
        assert received.blurred and received.text == "tu aimes le porno ?"
        await author.say("rencontres", "bonne soirée")
        plain = await reader.next_event(RoomMessage, within=5)
        assert not plain.blurred
    finally:
        await author.__aexit__(None, None, None)
        await reader.__aexit__(None, None, None)
