"""Flood control against a real server: each limit answers with its code and a retry delay,
only the flooding connection is held back, and it keeps working once it slows down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from causerie.client import ClientError, Error, RoomMessage
from causerie.errors import ErrorCode
from causerie.settings import Settings
from tests.conftest import RunningServer, run_server
from tests.e2e.test_bad_input import Scene, scene


@contextlib.asynccontextmanager
async def flood_scene(
    make_settings: Callable[..., Settings], **limits: Any
) -> AsyncIterator[Scene]:
    async with run_server(make_settings(limits=limits)) as server, scene(server) as s:
        yield s


async def heard(s: Scene, message_id: int) -> bool:
    """Whether the offender receives the witness's message (its own echoes are skipped)."""
    while True:
        message = await s.offender.next_event(RoomMessage, within=5)
        if message.sender == "Witness":
            return message.id == message_id


def assert_rate_limited(refused: pytest.ExceptionInfo[ClientError], code: ErrorCode) -> None:
    error = refused.value.error
    assert error.code == code
    assert error.retry_after is not None and error.retry_after > 0
    assert "slow down" in error.message


async def test_message_flood(make_settings: Callable[..., Settings]) -> None:
    async with flood_scene(make_settings, messages_burst=3, messages_per_second=0.5) as s:
        acks = [await s.offender.say("general", f"m{i}") for i in range(3)]
        with pytest.raises(ClientError) as refused:
            await s.offender.say("general", "one too many")
        assert_rate_limited(refused, ErrorCode.RATE_LIMITED_MESSAGES)
        with pytest.raises(ClientError) as refused:
            await s.offender.send_private("Witness", "in private then")
        assert_rate_limited(refused, ErrorCode.RATE_LIMITED_MESSAGES)

        received = [await s.witness.next_event(RoomMessage, within=5) for _ in acks]
        assert [m.id for m in received] == [a.id for a in acks]
        # The witness has a budget of its own, and the offender still hears it.
        ack = await s.witness.say("general", "I can still talk")
        assert await heard(s, ack.id)
        await s.offender.ping()
        await asyncio.sleep(0.2)
        refused_ones = [
            e
            for e in s.witness.pending_events()
            if isinstance(e, RoomMessage) and e.sender == "Offender"
        ]
        assert not refused_ones


async def test_join_flood(make_settings: Callable[..., Settings]) -> None:
    # The scene's own join of "general" spends one token of three.
    async with flood_scene(make_settings, joins_burst=3, joins_per_second=0.05) as s:
        await s.offender.join("musique", "sport")
        with pytest.raises(ClientError) as refused:
            await s.offender.join("cinema")
        assert_rate_limited(refused, ErrorCode.RATE_LIMITED_JOINS)
        assert refused.value.error.frame == "join"
        await s.offender.leave("sport")  # leaving costs nothing
        with pytest.raises(ClientError) as refused:
            await s.offender.join("sport")
        assert_rate_limited(refused, ErrorCode.RATE_LIMITED_JOINS)
        assert [m.nickname for m in await s.offender.members("musique")] == ["Offender"]
        await s.witness.join("musique")
        await s.witness_still_served()


async def test_joining_more_rooms_at_once_than_the_burst_is_refused_for_good(
    make_settings: Callable[..., Settings],
) -> None:
    async with flood_scene(make_settings, joins_burst=3) as s:
        with pytest.raises(ClientError) as refused:
            await s.offender.join("musique", "sport", "cinema", "amitie")
        assert refused.value.code == ErrorCode.RATE_LIMITED_JOINS
        assert refused.value.error.retry_after is None
        await s.witness_still_served()


async def test_new_conversation_flood(make_settings: Callable[..., Settings]) -> None:
    async with flood_scene(
        make_settings, conversations_burst=2, conversations_per_second=0.01
    ) as s:
        server: RunningServer = s.server
        async with server.client() as anna, server.client() as bruno, server.client() as chloe:
            for client, name in ((anna, "Anna"), (bruno, "Bruno"), (chloe, "Chloe")):
                await client.enter(name, 30, "woman", "13001")
            await s.offender.send_private("Anna", "bonjour")
            await s.offender.send_private("Bruno", "bonjour")
            with pytest.raises(ClientError) as refused:
                await s.offender.send_private("Chloe", "bonjour")
            assert_rate_limited(refused, ErrorCode.RATE_LIMITED_CONVERSATIONS)
            # Going on with someone already written to is no new conversation.
            await s.offender.send_private("anna", "encore moi")
            # Others open conversations freely.
            await anna.send_private("Chloe", "salut Chloe")
            await chloe.send_private("Offender", "salut")
            await s.witness_still_served()


async def test_raw_frame_flood(make_settings: Callable[..., Settings]) -> None:
    async with flood_scene(make_settings, frames_burst=10, frames_per_second=2.0) as s:
        for i in range(15):
            await s.offender.send_raw(f'{{"type": "ping", "ref": "{i}"}}')
        errors = [await s.offender.next_event(Error, within=5) for _ in range(5)]
        assert {e.code for e in errors} == {ErrorCode.RATE_LIMITED_FRAMES}
        assert all(e.retry_after for e in errors)
        # The witness is not held back, and the offender still hears the room.
        ack = await s.witness.say("general", "calm here")
        assert await heard(s, ack.id)
        await asyncio.sleep(0.6)  # one token back
        await s.offender.ping()
