"""Turning WebSocket text into typed frames and back, with a stable error for every bad input."""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from causerie.errors import ErrorCode
from causerie.protocol.frames import ClientFrame, Error, ServerFrame

_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
_encoder = msgspec.json.Encoder()


class _Envelope(msgspec.Struct):
    """What can still be read from a frame that failed validation, to answer it precisely."""

    type: str | None = None
    ref: str | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_field_path = re.compile(r"at `\$\.(\w+)")


class FrameRejected(Exception):
    """A frame that cannot be accepted; ``error`` is the frame to answer with."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error


def decode_client_frame(data: str | bytes, max_bytes: int) -> ClientFrame:
    """Decode one client frame or raise :class:`FrameRejected` with the matching error."""
    raw = data.encode() if isinstance(data, str) else data
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


def _validation_error(raw: bytes, detail: str) -> Error:
    try:
        envelope = _envelope_decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return Error(
            code=ErrorCode.MALFORMED_FRAME, message=f"frame must be a JSON object: {detail}"
        )
    match = _field_path.search(detail)
    field = match.group(1) if match else None
    if field == "type" or envelope.type is None:
        kind = envelope.type if envelope.type is not None else "(missing)"
        return Error(
            code=ErrorCode.UNKNOWN_FRAME,
            message=f"unknown frame type {kind!r}",
            ref=envelope.ref,
        )
    return Error(
        code=ErrorCode.INVALID_FIELD,
        message=detail,
        ref=envelope.ref,
        frame=envelope.type,
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
