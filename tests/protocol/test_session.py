"""A connection's protocol session: order of frames, flood limits and closing, on a fake clock."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.ratelimit import TokenBucket
from causerie.protocol.session import IllegalTransition, Session, SessionState
from causerie.settings import LimitSettings

ENTER = json.dumps(
    {"type": "enter", "nickname": "Zoe", "age": 30, "gender": "woman", "postal_code": "75011"}
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_session(clock: Clock, **limits: Any) -> Session:
    # Generous defaults so that each test trips only the limit it is about.
    values: dict[str, Any] = {"frames_burst": 1_000, "max_consecutive_errors": 1_000, **limits}
    return Session(LimitSettings(**values), clock=clock)


def entered(clock: Clock, **limits: Any) -> Session:
    session = make_session(clock, **limits)
    assert isinstance(session.receive_text(ENTER), f.Enter)
    session.entered()
    return session


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def say(text: str = "bonjour", room: str = "general", ref: str | None = None) -> str:
    return frame(type="say", room=room, text=text, ref=ref)


def private(to: str, text: str = "salut") -> str:
    return frame(type="private", to=to, text=text)


def join(*rooms: str) -> str:
    return frame(type="join", rooms=list(rooms))


def error(result: object) -> f.Error:
    assert isinstance(result, f.Error), f"expected an error frame, got {result!r}"
    return result


# -- state machine --------------------------------------------------------------------------


def test_a_new_session_awaits_entry_and_accepts_enter(clock: Clock) -> None:
    session = make_session(clock)
    assert session.state is SessionState.AWAITING_ENTRY
    assert session.receive_text(ENTER) == f.Enter(
        nickname="Zoe", age=30, gender="woman", postal_code="75011"
    )
    session.entered()
    assert session.state is SessionState.ENTERED


@pytest.mark.parametrize(
    "data",
    [say(ref="r1"), join("general"), frame(type="rooms"), private("Bob"), frame(type="people")],
)
def test_every_frame_but_enter_and_ping_needs_entry_first(clock: Clock, data: str) -> None:
    session = make_session(clock)
    refusal = error(session.receive_text(data))
    assert refusal.code == ErrorCode.NOT_ENTERED
    assert refusal.frame == json.loads(data)["type"]
    assert refusal.ref == json.loads(data).get("ref")
    assert session.state is SessionState.AWAITING_ENTRY


def test_ping_is_answered_before_entry(clock: Clock) -> None:
    assert isinstance(make_session(clock).receive_text(frame(type="ping")), f.Ping)


def test_enter_twice_is_already_entered(clock: Clock) -> None:
    session = entered(clock)
    refusal = error(session.receive_text(ENTER))
    assert (refusal.code, refusal.frame) == (ErrorCode.ALREADY_ENTERED, "enter")
    assert session.state is SessionState.ENTERED


def test_a_refused_enter_leaves_the_session_awaiting_entry(clock: Clock) -> None:
    # The service refuses the identity (say, nickname taken): the gateway never calls entered().
    session = make_session(clock)
    session.receive_text(ENTER)
    assert isinstance(session.receive_text(ENTER), f.Enter)
    assert session.state is SessionState.AWAITING_ENTRY


def test_entered_twice_is_an_illegal_transition(clock: Clock) -> None:
    session = entered(clock)
    with pytest.raises(IllegalTransition):
        session.entered()


def test_a_closed_session_takes_nothing(clock: Clock) -> None:
    session = entered(clock)
    session.close()
    assert session.state is SessionState.CLOSED
    with pytest.raises(IllegalTransition):
        session.receive_text(frame(type="ping"))
    with pytest.raises(IllegalTransition):
        session.entered()


def test_binary_messages_are_refused_and_count_as_errors(clock: Clock) -> None:
    session = make_session(clock)
    assert session.receive_binary().code == ErrorCode.BINARY_NOT_SUPPORTED
    assert session.consecutive_errors == 1


def test_consecutive_errors_close_the_session_and_a_good_frame_resets_them(clock: Clock) -> None:
    session = make_session(clock, max_consecutive_errors=3)
    session.receive_text("garbage")
    session.receive_binary()
    assert not session.should_close
    session.receive_text(frame(type="ping"))
    assert session.consecutive_errors == 0
    for bad in ("garbage", '{"type": "nope"}', say()):  # the last one: not entered
        error(session.receive_text(bad))
    assert session.should_close


# -- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\t  "])
def test_empty_message_is_refused(clock: Clock, text: str) -> None:
    refusal = error(entered(clock).receive_text(say(text, ref="r2")))
    assert (refusal.code, refusal.ref, refusal.frame) == (ErrorCode.MESSAGE_EMPTY, "r2", "say")


def test_message_length_limit_is_in_characters(clock: Clock) -> None:
    session = entered(clock, max_message_chars=10)
    assert isinstance(session.receive_text(say("é" * 10)), f.Say)
    refusal = error(session.receive_text(say("é" * 11, ref="r3")))
    assert (refusal.code, refusal.field, refusal.ref) == (
        ErrorCode.MESSAGE_TOO_LONG,
        "text",
        "r3",
    )
    assert "10" in refusal.message


def test_private_message_length_is_limited_too(clock: Clock) -> None:
    session = entered(clock, max_message_chars=10)
    refusal = error(session.receive_text(private("Bob", "x" * 11)))
    assert (refusal.code, refusal.frame) == (ErrorCode.MESSAGE_TOO_LONG, "private")


def test_topic_length_is_limited(clock: Clock) -> None:
    session = entered(clock, max_topic_chars=5)
    assert isinstance(
        session.receive_text(frame(type="set_topic", room="r", topic="abcde")), f.SetTopic
    )
    refusal = error(session.receive_text(frame(type="set_topic", room="r", topic="abcdef")))
    assert (refusal.code, refusal.field) == (ErrorCode.MESSAGE_TOO_LONG, "topic")


# -- flood limits ---------------------------------------------------------------------------


def test_message_flood_is_limited_then_refills_with_time(clock: Clock) -> None:
    session = entered(clock, messages_burst=3, messages_per_second=1.0)
    for _ in range(3):
        assert isinstance(session.receive_text(say()), f.Say)
    refusal = error(session.receive_text(say(ref="r4")))
    assert (refusal.code, refusal.ref, refusal.retry_after) == (
        ErrorCode.RATE_LIMITED_MESSAGES,
        "r4",
        1.0,
    )
    clock.advance(0.5)
    assert error(session.receive_text(say())).retry_after == 0.5
    clock.advance(0.5)
    assert isinstance(session.receive_text(say()), f.Say)


def test_room_and_private_messages_share_the_message_budget(clock: Clock) -> None:
    session = entered(clock, messages_burst=2)
    assert isinstance(session.receive_text(say()), f.Say)
    assert isinstance(session.receive_text(private("Bob")), f.SendPrivate)
    assert error(session.receive_text(private("Bob"))).code == ErrorCode.RATE_LIMITED_MESSAGES


def test_refused_messages_do_not_spend_the_budget(clock: Clock) -> None:
    session = entered(clock, messages_burst=1, max_message_chars=5)
    error(session.receive_text(say("")))
    error(session.receive_text(say("too long")))
    assert isinstance(session.receive_text(say("ok")), f.Say)


def test_joins_cost_one_token_per_room(clock: Clock) -> None:
    session = entered(clock, joins_burst=5, joins_per_second=1.0)
    assert isinstance(session.receive_text(join("a", "b", "c")), f.Join)
    refusal = error(session.receive_text(join("d", "e", "f")))
    assert (refusal.code, refusal.frame, refusal.retry_after) == (
        ErrorCode.RATE_LIMITED_JOINS,
        "join",
        1.0,
    )
    assert isinstance(session.receive_text(join("d", "e")), f.Join)
    clock.advance(1.0)
    assert isinstance(session.receive_text(join("f")), f.Join)


def test_a_room_named_twice_costs_once(clock: Clock) -> None:
    session = entered(clock, joins_burst=2)
    assert isinstance(session.receive_text(join("a", "a", "a", "b")), f.Join)


def test_joining_more_rooms_than_the_burst_can_never_succeed(clock: Clock) -> None:
    session = entered(clock, joins_burst=3)
    refusal = error(session.receive_text(join("a", "b", "c", "d")))
    assert refusal.code == ErrorCode.RATE_LIMITED_JOINS
    assert refusal.retry_after is None  # waiting would not help


def test_creating_a_room_costs_a_join(clock: Clock) -> None:
    session = entered(clock, joins_burst=1)
    assert isinstance(session.receive_text(frame(type="create_room", name="Échecs")), f.CreateRoom)
    refusal = error(session.receive_text(join("general")))
    assert refusal.code == ErrorCode.RATE_LIMITED_JOINS


def test_joining_no_room_is_an_invalid_field(clock: Clock) -> None:
    refusal = error(entered(clock).receive_text(join()))
    assert (refusal.code, refusal.frame, refusal.field) == (
        ErrorCode.INVALID_FIELD,
        "join",
        "rooms",
    )


def test_only_new_partners_cost_a_conversation(clock: Clock) -> None:
    session = entered(
        clock, conversations_burst=2, conversations_per_second=0.1, messages_burst=100
    )
    for to in ("Bob", "bob", "BÖB", "B0b", "Carol", "Bob", "carol"):
        assert isinstance(session.receive_text(private(to)), f.SendPrivate), to
    refusal = error(session.receive_text(private("Dave")))
    assert (refusal.code, refusal.frame, refusal.retry_after) == (
        ErrorCode.RATE_LIMITED_CONVERSATIONS,
        "private",
        10.0,
    )
    assert isinstance(session.receive_text(private("Bob")), f.SendPrivate)
    clock.advance(10)
    assert isinstance(session.receive_text(private("Dave")), f.SendPrivate)


def test_a_refused_new_conversation_spends_no_message(clock: Clock) -> None:
    session = entered(clock, conversations_burst=1, messages_burst=2)
    assert isinstance(session.receive_text(private("Bob")), f.SendPrivate)
    for _ in range(5):
        assert error(session.receive_text(private("Carol"))).code == (
            ErrorCode.RATE_LIMITED_CONVERSATIONS
        )
    assert isinstance(session.receive_text(private("Bob")), f.SendPrivate)


def test_a_forgotten_partner_costs_a_new_conversation(clock: Clock) -> None:
    session = entered(clock, conversations_burst=1, messages_burst=100)
    assert isinstance(session.receive_text(private("Bob")), f.SendPrivate)
    session.forget_partner("bob")
    refusal = error(session.receive_text(private("Bob")))
    assert refusal.code == ErrorCode.RATE_LIMITED_CONVERSATIONS


def test_every_frame_counts_against_the_frame_budget(clock: Clock) -> None:
    session = make_session(clock, frames_burst=4, frames_per_second=2.0)
    for data in (frame(type="ping"), "garbage", ENTER, frame(type="ping")):
        session.receive_text(data)
    refusal = error(session.receive_text(frame(type="ping")))
    assert (refusal.code, refusal.retry_after) == (ErrorCode.RATE_LIMITED_FRAMES, 0.5)
    clock.advance(0.5)
    assert isinstance(session.receive_text(frame(type="ping")), f.Ping)


def test_a_frame_flood_ends_in_closing(clock: Clock) -> None:
    session = make_session(clock, frames_burst=5, max_consecutive_errors=10)
    results = [session.receive_text(frame(type="ping")) for _ in range(15)]
    assert all(isinstance(r, f.Ping) for r in results[:5])
    assert {error(r).code for r in results[5:]} == {ErrorCode.RATE_LIMITED_FRAMES}
    assert session.should_close


# -- the bucket itself ----------------------------------------------------------------------


def test_token_bucket_refills_up_to_its_burst(clock: Clock) -> None:
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    clock.advance(100)
    assert [bucket.take() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_token_bucket_cost_above_burst_is_never_possible(clock: Clock) -> None:
    bucket = TokenBucket(rate=1.0, burst=3, clock=clock)
    assert math.isinf(bucket.take(4))
    assert bucket.take(3) == 0.0
