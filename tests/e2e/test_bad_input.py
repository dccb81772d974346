"""Bad input against a real server: each gets its stable error code, the connection survives
where it reasonably can, and nobody else notices.

Every test keeps a witness in the room the offender is in, and checks at the end that the
witness still receives messages normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from causerie.client import (
    Client,
    ClientError,
    ConnectionLost,
    Error,
    MemberLeft,
    RoomMessage,
)
from causerie.errors import ErrorCode
from causerie.settings import Settings
from tests.conftest import RunningServer, run_server


@dataclass
class Scene:
    server: RunningServer
    witness: Client
    offender: Client

    async def witness_still_served(self, speaker: Client | None = None) -> None:
        """Someone says something in the room; the witness receives exactly that."""
        speaker = speaker or self.offender
        ack = await speaker.say("general", "still here")
        message = await self.witness.next_event(RoomMessage, within=5)
        assert (message.id, message.text) == (ack.id, "still here")


@contextlib.asynccontextmanager
async def scene(server: RunningServer, *, offender_enters: bool = True) -> AsyncIterator[Scene]:
    async with server.client() as witness, server.client() as offender:
        await witness.enter("Witness", 30, "woman", "75011")
        await witness.join("general")
        if offender_enters:
            await offender.enter("Offender", 30, "man", "69003")
            await offender.join("general")
        yield Scene(server, witness, offender)


async def answer(client: Client, data: str | bytes) -> Error:
    """Send anything and return the error frame that answers it."""
    await client.send_raw(data)
    return await client.next_event(Error, within=5)


async def closed(client: Client, within: float = 5.0) -> ConnectionLost:
    """Wait for the server to close the connection; return how."""

    async def drain() -> None:
        async for _ in client.events():
            pass

    await asyncio.wait_for(drain(), within)
    lost = client._closed
    assert lost is not None
    return lost


ENTER = {"type": "enter", "nickname": "Zoe", "age": 30, "gender": "woman", "postal_code": "75011"}


# -- frame level ----------------------------------------------------------------------------

FRAME_CASES: list[tuple[str, str | bytes, ErrorCode, dict[str, str]]] = [
    ("malformed JSON", '{"type": "say", "room": ', ErrorCode.MALFORMED_FRAME, {}),
    ("single quotes", "{'type': 'ping'}", ErrorCode.MALFORMED_FRAME, {}),
    ("a JSON array", '[{"type": "ping"}]', ErrorCode.MALFORMED_FRAME, {}),
    ("a JSON string", '"ping"', ErrorCode.MALFORMED_FRAME, {}),
    ("unknown type", '{"type": "teleport", "ref": "t1"}', ErrorCode.UNKNOWN_FRAME, {"ref": "t1"}),
    ("missing type", '{"room": "general"}', ErrorCode.UNKNOWN_FRAME, {}),
    ("room as a number", '{"type": "say", "room": 5, "text": "hi", "ref": "s1"}',
     ErrorCode.INVALID_FIELD, {"field": "room", "frame": "say", "ref": "s1"}),
    ("rooms as a string", '{"type": "join", "rooms": "general"}',
     ErrorCode.INVALID_FIELD, {"field": "rooms", "frame": "join"}),
    ("missing field", '{"type": "private", "text": "hi"}',
     ErrorCode.INVALID_FIELD, {"field": "to", "frame": "private"}),
    ("unknown field", '{"type": "ping", "admin": true}',
     ErrorCode.INVALID_FIELD, {"field": "admin", "frame": "ping"}),
    ("binary frame", b"\x00\x01binary", ErrorCode.BINARY_NOT_SUPPORTED, {}),
    ("binary JSON", b'{"type": "ping"}', ErrorCode.BINARY_NOT_SUPPORTED, {}),
    ("over the size limit", json.dumps({"type": "say", "room": "general", "text": "x" * 20_000}),
     ErrorCode.FRAME_TOO_LARGE, {}),
    ("empty message", '{"type": "say", "room": "general", "text": "  "}',
     ErrorCode.MESSAGE_EMPTY, {"frame": "say"}),
    ("message too long", json.dumps({"type": "say", "room": "general", "text": "x" * 1_001}),
     ErrorCode.MESSAGE_TOO_LONG, {"field": "text"}),
    ("enter twice", json.dumps(ENTER), ErrorCode.ALREADY_ENTERED, {"frame": "enter"}),
]  # fmt: skip


async def test_each_bad_frame_gets_its_code_and_the_connection_survives(
    server: RunningServer,
) -> None:
    async with scene(server) as s:
        for case, data, code, details in FRAME_CASES:
            error = await answer(s.offender, data)
            assert error.code == code, case
            assert error.message, case
            for name, value in details.items():
                assert getattr(error, name) == value, (case, name)
            await s.offender.ping()  # the connection survived
        await s.witness_still_served()
        assert not [e for e in s.witness.pending_events() if isinstance(e, Error)]


async def test_frames_before_entry_are_refused_until_enter(server: RunningServer) -> None:
    async with scene(server, offender_enters=False) as s:
        for kind, data in (
            ("say", {"type": "say", "room": "general", "text": "hi", "ref": "n1"}),
            ("join", {"type": "join", "rooms": ["general"]}),
            ("rooms", {"type": "rooms"}),
        ):
            error = await answer(s.offender, json.dumps(data))
            assert (error.code, error.frame) == (ErrorCode.NOT_ENTERED, kind)
        await s.offender.enter("Offender", 30, "man", "69003")
        await s.offender.join("general")
        await s.witness_still_served()


# -- entry ----------------------------------------------------------------------------------

ENTRY_CASES: list[tuple[str, int, str, str, ErrorCode, str]] = [
    ("x", 30, "man", "75011", ErrorCode.NICKNAME_INVALID, "nickname"),
    ("a" * 21, 30, "man", "75011", ErrorCode.NICKNAME_INVALID, "nickname"),
    ("Jean Luc", 30, "man", "75011", ErrorCode.NICKNAME_INVALID, "nickname"),
    ("Pаul", 30, "man", "75011", ErrorCode.NICKNAME_INVALID, "nickname"),
    ("Timothée", 12, "man", "75011", ErrorCode.AGE_TOO_YOUNG, "age"),
    ("Timothée", 100, "man", "75011", ErrorCode.AGE_INVALID, "age"),
    ("Timothée", -1, "man", "75011", ErrorCode.AGE_INVALID, "age"),
    ("Timothée", 30, "robot", "75011", ErrorCode.GENDER_INVALID, "gender"),
    ("Timothée", 30, "man", "00000", ErrorCode.POSTAL_CODE_INVALID, "postal_code"),
    ("Timothée", 30, "man", "abcde", ErrorCode.POSTAL_CODE_INVALID, "postal_code"),
    ("Timothée", 30, "man", "98000", ErrorCode.POSTAL_CODE_INVALID, "postal_code"),
    ("witness", 30, "man", "75011", ErrorCode.NICKNAME_TAKEN, "nickname"),
    ("WÏTNESS", 30, "man", "75011", ErrorCode.NICKNAME_TAKEN, "nickname"),
]


async def test_bad_identities_are_refused_with_their_code_and_entry_can_be_retried(
    server: RunningServer,
) -> None:
    async with scene(server, offender_enters=False) as s:
        for nickname, age, gender, postal, code, field in ENTRY_CASES:
            with pytest.raises(ClientError) as refused:
                await s.offender.enter(nickname, age, gender, postal)
            error = refused.value.error
            assert (error.code, error.field, error.frame) == (code, field, "enter"), nickname
            assert error.message
        assert "13" in await _message_for_age(s.offender, 12)
        welcome = await s.offender.enter("Timothée", 30, "man", "20000")
        assert (welcome.me.department, welcome.me.region) == ("2A", "Corse")
        await s.offender.join("general")
        await s.witness_still_served()


async def _message_for_age(client: Client, age: int) -> str:
    with pytest.raises(ClientError) as refused:
        await client.enter("Timothée", age, "man", "75011")
    return refused.value.message


# -- chat actions ---------------------------------------------------------------------------


async def test_refused_actions_have_their_codes_and_hurt_nobody(server: RunningServer) -> None:
    async with scene(server) as s:
        cases: list[tuple[Callable[[], object], ErrorCode]] = [
            (lambda: s.offender.join("no-such-room"), ErrorCode.ROOM_NOT_FOUND),
            (lambda: s.offender.join("general", "no-such-room"), ErrorCode.ROOM_NOT_FOUND),
            (lambda: s.offender.members("no-such-room"), ErrorCode.ROOM_NOT_FOUND),
            (lambda: s.offender.say("musique", "hello?"), ErrorCode.NOT_IN_ROOM),
            (lambda: s.offender.say("no-such-room", "hello?"), ErrorCode.NOT_IN_ROOM),
            (lambda: s.offender.send_private("Nobody", "hello?"), ErrorCode.RECIPIENT_NOT_FOUND),
            (lambda: s.offender.send_private("offender", "me?"), ErrorCode.CANNOT_MESSAGE_SELF),
            (lambda: s.offender.join("ados"), ErrorCode.ROOM_FORBIDDEN),
            (lambda: s.offender.set_topic("general", "mine now"), ErrorCode.NOT_ROOM_HOST),
        ]
        for action, code in cases:
            with pytest.raises(ClientError) as refused:
                await action()  # type: ignore[misc]
            assert refused.value.code == code
        await s.witness_still_served()
        assert not [e for e in s.witness.pending_events() if isinstance(e, Error)]


async def test_writing_to_someone_who_left_fails_clearly(server: RunningServer) -> None:
    async with scene(server) as s:
        async with server.client() as passer_by:
            await passer_by.enter("Passant", 40, "man", "33000")
            await passer_by.join("general")
            await s.offender.send_private("Passant", "hello")
        # Leaving is asynchronous on the server: the room hears of it once it is done.
        while (await s.witness.next_event(MemberLeft, within=5)).nickname != "Passant":
            pass
        with pytest.raises(ClientError) as refused:
            await s.offender.send_private("Passant", "still there?")
        assert refused.value.code == ErrorCode.RECIPIENT_NOT_FOUND
        assert "Passant" in refused.value.message
        await s.witness_still_served()


# -- connections that must end --------------------------------------------------------------


async def test_a_connection_sending_only_garbage_is_closed(server: RunningServer) -> None:
    limit = server.settings.limits.max_consecutive_errors
    async with scene(server) as s:
        for _ in range(limit + 5):
            with contextlib.suppress(Exception):  # the socket closes before the last ones
                await s.offender.send_raw("garbage")
        lost = await closed(s.offender)
        assert lost.code == 1008
        departure = await s.witness.next_event(MemberLeft, within=5)
        assert departure.nickname == "Offender"
        async with server.client() as newcomer:
            await newcomer.enter("Offender", 30, "man", "69003")  # the nickname is free again
            await newcomer.join("general")
            await s.witness_still_served(newcomer)


async def test_errors_spaced_by_good_frames_do_not_close(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(limits={"max_consecutive_errors": 3})
    async with run_server(settings) as server, scene(server) as s:
        for _ in range(10):
            assert (await answer(s.offender, "garbage")).code == ErrorCode.MALFORMED_FRAME
            await s.offender.ping()
        await s.witness_still_served()


async def test_a_message_over_the_websocket_limit_closes_only_that_connection(
    make_settings: Callable[..., Settings],
) -> None:
    async with run_server(make_settings()) as server, scene(server) as s:
        with contextlib.suppress(Exception):
            await s.offender.send_raw("x" * (server.settings.websocket_max_bytes + 1))
        lost = await closed(s.offender)
        assert lost.code == 1009  # message too big
        departure = await s.witness.next_event(MemberLeft, within=5)
        assert departure.nickname == "Offender"
        async with server.client() as other:
            await other.enter("Other", 30, "man", "69003")
            await other.join("general")
            await s.witness_still_served(other)
