"""The frame codec, byte for byte, without a socket: every bad input gets its stable error."""

from __future__ import annotations

import math
import typing
from typing import Any

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.codec import (
    FrameRejected,
    decode_client_frame,
    encode,
    encode_batch,
    encode_text,
)

LIMIT = 16_384
CLIENT_FRAMES: tuple[type[Any], ...] = typing.get_args(f.ClientFrame)
SERVER_FRAMES: tuple[type[Any], ...] = typing.get_args(f.ServerFrame)
# What the Python client decodes a server message with: one frame or a batch of them.
server_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    f.ServerFrame | list[f.ServerFrame]
)


def rejected(data: str | bytes, max_bytes: int = LIMIT) -> f.Error:
    with pytest.raises(FrameRejected) as caught:
        decode_client_frame(data, max_bytes)
    error = caught.value.error
    assert error.message, "every error explains itself"
    return error


# -- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["", "{", '{"type": "ping"', "not json", "{'type': 'ping'}", b"\xff\xfe\x00", "\ud800"],
)
def test_malformed_json_is_malformed_frame(data: str | bytes) -> None:
    assert rejected(data).code == ErrorCode.MALFORMED_FRAME


@pytest.mark.parametrize(
    "data",
    ["[]", '[{"type": "ping"}]', "[1, 2", "1", '"ping"', "null", "true", "3.5"],
)
def test_arrays_and_other_non_objects_are_malformed_frames(data: str) -> None:
    error = rejected(data)
    assert error.code == ErrorCode.MALFORMED_FRAME
    assert "object" in error.message


# -- type -----------------------------------------------------------------------------------


def test_unknown_type_is_named_and_its_ref_echoed() -> None:
    error = rejected('{"type": "teleport", "ref": "r7"}')
    assert error.code == ErrorCode.UNKNOWN_FRAME
    assert "teleport" in error.message
    assert error.ref == "r7"


@pytest.mark.parametrize("data", ["{}", '{"room": "general", "text": "hi"}'])
def test_missing_type_is_unknown_frame(data: str) -> None:
    error = rejected(data)
    assert error.code == ErrorCode.UNKNOWN_FRAME
    assert "missing" in error.message


@pytest.mark.parametrize("kind", ["5", "null", '["say"]', '{"a": 1}'])
def test_type_that_is_not_a_string_is_unknown_frame(kind: str) -> None:
    assert rejected(f'{{"type": {kind}}}').code == ErrorCode.UNKNOWN_FRAME


def test_type_is_case_sensitive() -> None:
    assert rejected('{"type": "PING"}').code == ErrorCode.UNKNOWN_FRAME


# -- fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "frame", "field"),
    [
        ('{"type":"enter","nickname":5,"age":30,"gender":"woman","postal_code":"75011"}',
         "enter", "nickname"),
        ('{"type":"enter","nickname":"Zoe","age":"30","gender":"woman","postal_code":"75011"}',
         "enter", "age"),
        ('{"type":"enter","nickname":"Zoe","age":30.5,"gender":"woman","postal_code":"75011"}',
         "enter", "age"),
        ('{"type":"enter","nickname":"Zoe","age":true,"gender":"woman","postal_code":"75011"}',
         "enter", "age"),
        ('{"type":"enter","nickname":"Zoe","age":30,"gender":"woman","postal_code":75011}',
         "enter", "postal_code"),
        ('{"type":"join","rooms":"general"}', "join", "rooms"),
        ('{"type":"join","rooms":[1]}', "join", "rooms"),
        ('{"type":"say","room":"general","text":["hi"]}', "say", "text"),
        ('{"type":"say","room":null,"text":"hi"}', "say", "room"),
        ('{"type":"say","room":"general","text":"hi","ref":5}', "say", "ref"),
        ('{"type":"private","to":{"nickname":"Bob"},"text":"hi"}', "private", "to"),
        ('{"type":"people","age_band":"30-40"}', "people", "age_band"),
    ],
)  # fmt: skip
def test_wrong_field_type_names_the_frame_and_the_field(data: str, frame: str, field: str) -> None:
    error = rejected(data)
    assert (error.code, error.frame, error.field) == (ErrorCode.INVALID_FIELD, frame, field)


def test_wrong_field_type_keeps_the_ref_for_the_client_to_match() -> None:
    error = rejected('{"type":"say","room":"general","text":7,"ref":"r1"}')
    assert (error.code, error.field, error.ref) == (ErrorCode.INVALID_FIELD, "text", "r1")


def test_missing_field_is_named() -> None:
    error = rejected('{"type":"enter","nickname":"Zoe","age":30,"gender":"woman"}')
    assert (error.code, error.frame, error.field) == (
        ErrorCode.INVALID_FIELD,
        "enter",
        "postal_code",
    )


def test_unknown_field_is_refused_and_named() -> None:
    error = rejected('{"type":"ping","admin":true}')
    assert (error.code, error.frame, error.field) == (ErrorCode.INVALID_FIELD, "ping", "admin")


# -- size -----------------------------------------------------------------------------------


def test_frame_at_the_limit_passes_and_one_byte_more_is_too_large() -> None:
    base = '{"type":"say","room":"general","text":""}'
    at_limit = base.replace('""', '"' + "a" * (300 - len(base)) + '"')
    assert len(at_limit) == 300
    assert isinstance(decode_client_frame(at_limit, 300), f.Say)
    error = rejected(at_limit, 299)
    assert error.code == ErrorCode.FRAME_TOO_LARGE
    assert "299" in error.message


def test_size_is_counted_in_bytes_not_characters() -> None:
    text = "é" * 200  # 400 bytes in UTF-8
    error = rejected(f'{{"type":"say","room":"general","text":"{text}"}}', 300)
    assert error.code == ErrorCode.FRAME_TOO_LARGE


def test_oversized_garbage_is_too_large_before_it_is_parsed() -> None:
    assert rejected("x" * (LIMIT + 1)).code == ErrorCode.FRAME_TOO_LARGE


# -- valid frames ---------------------------------------------------------------------------


def _json_safe(value: Any) -> bool:
    """JSON has no NaN or infinity and our peers no integers past 64 bits."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return all(_json_safe(v) for v in value.values())
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    return True


any_client_frame = st.one_of([st.builds(cls) for cls in CLIENT_FRAMES])
any_server_frame = st.one_of([st.builds(cls) for cls in SERVER_FRAMES])


@pytest.mark.parametrize("cls", CLIENT_FRAMES, ids=lambda cls: cls.__name__)
def test_every_client_frame_type_is_decodable(cls: type[Any]) -> None:
    tag = cls.__struct_config__.tag
    assert tag, f"{cls.__name__} has no type tag"
    # The smallest valid instance of each: required fields (those before the defaults) filled
    # with typed placeholders.
    fields = cls.__struct_fields__
    hints = typing.get_type_hints(cls)
    required = {
        name: _placeholder(hints[name])
        for name in fields[: len(fields) - len(cls.__struct_defaults__)]
    }
    decoded = decode_client_frame(msgspec.json.encode({"type": tag, **required}), LIMIT)
    assert type(decoded) is cls


def _placeholder(hint: Any) -> Any:
    if hint is int:
        return 30
    if typing.get_origin(hint) is list:
        return ["general"]
    return "general"


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(any_client_frame)
def test_client_frames_round_trip(frame: Any) -> None:
    data = msgspec.json.encode(frame)
    assume(len(data) <= LIMIT and _json_safe(msgspec.to_builtins(frame)))
    assert decode_client_frame(data, LIMIT) == frame
    assert decode_client_frame(data.decode(), LIMIT) == frame


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(any_server_frame)
def test_server_frames_round_trip_through_the_client_decoder(frame: Any) -> None:
    assume(_json_safe(msgspec.to_builtins(frame)))
    assert server_decoder.decode(encode(frame)) == frame
    assert encode_text(frame) == encode(frame).decode()


def test_every_server_frame_carries_its_type() -> None:
    for cls in SERVER_FRAMES:
        assert cls.__struct_config__.tag_field == "type", cls.__name__
        assert isinstance(cls.__struct_config__.tag, str), cls.__name__


def test_batch_of_one_is_the_frame_itself_and_of_several_a_json_array() -> None:
    pong = encode_text(f.Pong(ref="1"))
    left = encode_text(f.Left(room="general"))
    assert encode_batch([pong]) == pong
    assert server_decoder.decode(encode_batch([pong, left])) == [
        f.Pong(ref="1"),
        f.Left(room="general"),
    ]


# -- nothing but FrameRejected ---------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from([str(cls.__struct_config__.tag) for cls in CLIENT_FRAMES])},
    optional={
        name: json_values
        for name in ("nickname", "age", "gender", "postal_code", "rooms", "room", "text", "to",
                     "ref", "topic", "name", "age_band", "region", "extra")
    },
)  # fmt: skip


def _decode_or_reject(data: str | bytes) -> None:
    try:
        frame = decode_client_frame(data, 2048)
    except FrameRejected as rejection:
        assert isinstance(rejection.error, f.Error)
        assert rejection.error.code in set(ErrorCode)
    else:
        assert isinstance(frame, CLIENT_FRAMES)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.binary(max_size=512))
def test_arbitrary_bytes_are_decoded_or_rejected(data: bytes) -> None:
    _decode_or_reject(data)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(max_size=512))
def test_arbitrary_text_is_decoded_or_rejected(data: str) -> None:
    _decode_or_reject(data)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(json_values)
def test_arbitrary_json_is_decoded_or_rejected(value: Any) -> None:
    _decode_or_reject(msgspec.json.encode(value))


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(frame_like)
def test_frames_with_arbitrary_fields_are_decoded_or_rejected(value: dict[str, Any]) -> None:
    _decode_or_reject(msgspec.json.encode(value))
