"""Turning WebSocket text into typed frames and back, with a stable error for every bad input."""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from causerie.errors import ErrorCode
from causerie.protocol.frames import ClientFrame, Error, ServerFrame

_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
_encoder = msgspec.json.Encoder()


# Where msgspec names the faulty field: in the path of a wrong value ("at `$.rooms[0]`") or
# in the message itself for a missing or unknown one ("missing required field `nickname`").
_field_path = re.compile(r"at `\$\.(\w+)")
_field_named = re.compile(r"(?:missing required|unknown) field `(\w+)`")

# No client frame nests deeper than an object holding a list of strings. Past this depth a
# document is refused before any schema-less decode, whose recursion a 2 KB frame of brackets
# (``"[" * 1000``) would otherwise take past Python's recursion limit.
MAX_DEPTH = 16
# JSON strings (their brackets are text) and everything that is not a bracket.
_json_string = re.compile(rb'"(?:[^"\\]|\\.)*"?')
_not_brackets = bytes(c for c in range(256) if c not in b"[]{}")


class FrameRejected(Exception):
    """A frame that cannot be accepted; ``error`` is the frame to answer with."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error


def decode_client_frame(data: str | bytes, max_bytes: int) -> ClientFrame:
    """Decode one client frame or raise :class:`FrameRejected` with the matching error."""
    # surrogatepass: a str with lone surrogates becomes invalid UTF-8 and is answered as
    # malformed instead of raising UnicodeEncodeError out of the protocol.
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise FrameRejected(
            Error(
                code=ErrorCode.FRAME_TOO_LARGE,
                message=f"frame of {len(raw)} bytes is over the limit of {max_bytes} bytes",
            )
        )
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise FrameRejected(_validation_error(raw, str(exc))) from None
    except msgspec.DecodeError as exc:
        raise FrameRejected(
            Error(code=ErrorCode.MALFORMED_FRAME, message=f"not a JSON object: {exc}")
        ) from None
    except RecursionError:  # pragma: no cover - the typed decode stops at the first bracket
        raise FrameRejected(_too_deep()) from None


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, brackets inside strings not counted."""
    brackets = _json_string.sub(b"", raw).translate(None, _not_brackets)
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _too_deep() -> Error:
    return Error(
        code=ErrorCode.MALFORMED_FRAME,
        message=f"JSON nested deeper than {MAX_DEPTH} levels",
    )


def _validation_error(raw: bytes, detail: str) -> Error:
    # Only the error path pays for this second, schema-less decode. The typed decode may have
    # stopped before the end (at an array's first bracket), so the JSON can still be broken,
    # and as deep as the peer likes: the depth is checked first.
    if nesting_depth(raw) > MAX_DEPTH:
        return _too_deep()
    try:
        document = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        document = None
    if not isinstance(document, dict):
        return Error(
            code=ErrorCode.MALFORMED_FRAME, message=f"frame must be a JSON object: {detail}"
        )
    kind = document.get("type")
    ref = document.get("ref")
    ref = ref if isinstance(ref, str) else None
    match = _field_path.search(detail) or _field_named.search(detail)
    field = match.group(1) if match else None
    if not isinstance(kind, str) or field == "type":
        name = repr(kind) if "type" in document else "(missing)"
        return Error(code=ErrorCode.UNKNOWN_FRAME, message=f"unknown frame type {name}", ref=ref)
    return Error(
        code=ErrorCode.INVALID_FIELD,
        message=detail,
        ref=ref,
        frame=kind,
        field=field,
    )


def encode(frame: ServerFrame) -> bytes:
    return _encoder.encode(frame)


def encode_text(frame: ServerFrame) -> str:
    return _encoder.encode(frame).decode()


def encode_batch(encoded: Sequence[str]) -> str:
    """Join already-encoded frames into one JSON array message without decoding them again."""
    if len(encoded) == 1:
        return encoded[0]
    return "[" + ",".join(encoded) + "]"
