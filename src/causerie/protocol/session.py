"""A chat connection's protocol state, free of I/O.

The gateway feeds it every WebSocket message; it answers with either a frame the chat service
must act on or an error frame to send back. It owns what can be decided from the connection
alone: frame size and shape, the order of frames (``enter`` first), message length and the
per-connection flood limits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import Enum, auto

from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.codec import FrameRejected, decode_client_frame
from causerie.protocol.identity import nickname_key
from causerie.protocol.ratelimit import TokenBucket
from causerie.settings import LimitSettings


class SessionState(Enum):
    AWAITING_ENTRY = auto()
    ENTERED = auto()
    CLOSED = auto()


class IllegalTransition(RuntimeError):
    pass


class Session:
    def __init__(self, limits: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.state = SessionState.AWAITING_ENTRY
        self.consecutive_errors = 0
        self._frames = TokenBucket(limits.frames_per_second, limits.frames_burst, clock)
        self._messages = TokenBucket(limits.messages_per_second, limits.messages_burst, clock)
        self._joins = TokenBucket(limits.joins_per_second, limits.joins_burst, clock)
        self._conversations = TokenBucket(
            limits.conversations_per_second, limits.conversations_burst, clock
        )
        # Keys of the people this session has already written to: only a new one costs a
        # conversation token.
        self._partners: set[str] = set()

    # -- transitions -------------------------------------------------------------------------

    def entered(self) -> None:
        if self.state is not SessionState.AWAITING_ENTRY:
            raise IllegalTransition(f"cannot enter from {self.state.name}")
        self.state = SessionState.ENTERED

    def close(self) -> None:
        self.state = SessionState.CLOSED

    @property
    def should_close(self) -> bool:
        """True once the peer has sent nothing but errors for too long."""
        return self.consecutive_errors >= self.limits.max_consecutive_errors

    # -- input -------------------------------------------------------------------------------

    def receive_binary(self) -> f.Error:
        return self._fail(
            f.Error(
                code=ErrorCode.BINARY_NOT_SUPPORTED,
                message="frames are JSON text; binary messages are not accepted",
            )
        )

    def receive_text(self, data: str | bytes) -> f.ClientFrame | f.Error:
        """Check one incoming message; return the frame to act on or the error to send."""
        if self.state is SessionState.CLOSED:
            raise IllegalTransition("session is closed")
        wait = self._frames.take()
        if wait:
            return self._fail(_rate_limited(ErrorCode.RATE_LIMITED_FRAMES, "frames", wait))
        try:
            frame = decode_client_frame(data, self.limits.max_frame_bytes)
        except FrameRejected as rejected:
            return self._fail(rejected.error)
        error = self._check(frame)
        if error is not None:
            return self._fail(error)
        self.consecutive_errors = 0
        return frame

    def forget_partner(self, key: str) -> None:
        self._partners.discard(key)

    def _fail(self, error: f.Error) -> f.Error:
        self.consecutive_errors += 1
        return error

    def _check(self, frame: f.ClientFrame) -> f.Error | None:
        kind = str(type(frame).__struct_config__.tag)
        ref = getattr(frame, "ref", None)
        if isinstance(frame, f.Enter | f.Resume):
            if self.state is SessionState.ENTERED:
                return f.Error(
                    code=ErrorCode.ALREADY_ENTERED,
                    message="this connection has entered already",
                    frame="enter",
                )
            return None
        if isinstance(frame, f.Ping):
            return None
        if self.state is not SessionState.ENTERED:
            return f.Error(
                code=ErrorCode.NOT_ENTERED,
                message="send an 'enter' frame first",
                frame=str(kind),
                ref=ref,
            )
        if isinstance(frame, f.Say | f.SendPrivate):
            text_error = self._check_text(frame.text, ref, str(kind))
            if text_error is not None:
                return text_error
            wait = self._messages.take()
            if wait:
                return _rate_limited(ErrorCode.RATE_LIMITED_MESSAGES, "messages", wait, ref, kind)
            if isinstance(frame, f.SendPrivate):
                key = nickname_key(frame.to)
                if key not in self._partners:
                    wait = self._conversations.take()
                    if wait:
                        # Not sent, so it must not count against the message budget either.
                        self._messages.give_back()
                        return _rate_limited(
                            ErrorCode.RATE_LIMITED_CONVERSATIONS,
                            "new conversations",
                            wait,
                            ref,
                            kind,
                        )
                    self._partners.add(key)
        elif isinstance(frame, f.Join | f.CreateRoom):
            # Naming a room twice joins it once, and costs once.
            cost = len(set(frame.rooms)) if isinstance(frame, f.Join) else 1
            if isinstance(frame, f.Join) and not frame.rooms:
                return f.Error(
                    code=ErrorCode.INVALID_FIELD,
                    message="name at least one room",
                    frame="join",
                    field="rooms",
                )
            wait = self._joins.take(cost)
            if wait:
                return _rate_limited(ErrorCode.RATE_LIMITED_JOINS, "room joins", wait, None, kind)
        elif isinstance(frame, f.SetTopic) and len(frame.topic) > self.limits.max_topic_chars:
            return f.Error(
                code=ErrorCode.MESSAGE_TOO_LONG,
                message=f"a topic has at most {self.limits.max_topic_chars} characters",
                frame="set_topic",
                field="topic",
            )
        return None

    def _check_text(self, text: str, ref: str | None, kind: str) -> f.Error | None:
        if not text.strip():
            return f.Error(
                code=ErrorCode.MESSAGE_EMPTY, message="the message is empty", ref=ref, frame=kind
            )
        if len(text) > self.limits.max_message_chars:
            return f.Error(
                code=ErrorCode.MESSAGE_TOO_LONG,
                message=f"a message has at most {self.limits.max_message_chars} characters",
                ref=ref,
                frame=kind,
                field="text",
            )
        return None


def _rate_limited(
    code: ErrorCode, what: str, wait: float, ref: str | None = None, frame: str | None = None
) -> f.Error:
    retry = None if math.isinf(wait) else round(wait, 2)
    return f.Error(
        code=code,
        message=f"too many {what}: slow down",
        ref=ref,
        frame=frame,
        retry_after=retry,
    )
