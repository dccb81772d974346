"""A real server, real clients over real WebSockets: the chat features end to end."""

from __future__ import annotations

import asyncio

import pytest

from causerie.client import ClientError, MemberJoined, MemberLeft, PrivateMessage, RoomMessage
from causerie.errors import ErrorCode
from tests.conftest import RunningServer


async def test_two_chatters_talk_in_a_room_and_in_private(server: RunningServer) -> None:
    async with server.client() as alice, server.client() as bob:
        welcome = await alice.enter("Alice", 30, "woman", "75011")
        assert welcome.me.region == "Île-de-France"
        assert welcome.me.department == "75"
        await bob.enter("Bob", 41, "man", "69003")
        await alice.join("general")
        (joined,) = await bob.join("general")
        assert {p.nickname for p in joined.members} == {"Alice", "Bob"}
        arrival = await alice.next_event(MemberJoined)
        assert arrival.person.nickname == "Bob"

        ack = await alice.say("general", "Bonjour à tous")
        received = await bob.next_event(RoomMessage)
        assert (received.id, received.sender, received.text) == (ack.id, "Alice", "Bonjour à tous")

        await bob.send_private("alice", "Salut Alice")
        private = await alice.next_event(PrivateMessage)
        assert (private.sender, private.recipient, private.text) == ("Bob", "Alice", "Salut Alice")

        await bob.leave("general")
        departure = await alice.next_event(MemberLeft)
        assert departure.nickname == "Bob"


async def test_history_on_join_shows_recent_messages(server: RunningServer) -> None:
    async with server.client() as alice, server.client() as bob:
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("musique")
        await alice.say("musique", "premier")
        await alice.say("musique", "second")
        await bob.enter("Bob", 41, "man", "69003")
        (joined,) = await bob.join("musique")
        assert [m.text for m in joined.history] == ["premier", "second"]


async def test_private_message_to_someone_who_left_fails_clearly(server: RunningServer) -> None:
    async with server.client() as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        async with server.client() as bob:
            await bob.enter("Bob", 41, "man", "69003")
            await bob.join("general")
        await alice.next_event(MemberLeft)
        with pytest.raises(ClientError) as refused:
            await alice.send_private("Bob", "are you there?")
        assert refused.value.code == ErrorCode.RECIPIENT_NOT_FOUND


async def test_ignored_person_reaches_you_no_more(server: RunningServer) -> None:
    async with server.client() as alice, server.client() as bob, server.client() as carol:
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bob", 41, "man", "69003")
        await carol.enter("Carol", 25, "woman", "13001")
        for client in (alice, bob, carol):
            await client.join("general")
        await alice.ignore("bob")
        await bob.say("general", "from bob")
        await bob.send_private("Alice", "private from bob")
        await carol.say("general", "from carol")
        message = await alice.next_event(RoomMessage)
        assert message.sender == "Carol"
        await asyncio.sleep(0.1)
        leftovers = [
            e for e in alice.pending_events() if isinstance(e, RoomMessage | PrivateMessage)
        ]
        assert all(e.sender != "Bob" for e in leftovers)


async def test_nickname_unique_ignoring_case_accents_and_lookalikes(server: RunningServer) -> None:
    async with server.client() as first:
        await first.enter("Zoé", 22, "woman", "33000")
        for taken in ("zoe", "ZOÉ", "Z0e", "Zое"):
            async with server.client() as other:
                with pytest.raises(ClientError) as refused:
                    await other.enter(taken, 22, "woman", "33000")
                assert refused.value.code in (ErrorCode.NICKNAME_TAKEN, ErrorCode.NICKNAME_INVALID)
