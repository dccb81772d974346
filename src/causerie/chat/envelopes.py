"""What nodes say to each other over the bus. Frames travel pre-encoded, as raw JSON."""

from __future__ import annotations

import msgspec

from causerie.bus import Bus
from causerie.errors import ErrorCode
from causerie.protocol.codec import encode
from causerie.protocol.frames import Error, ServerFrame


class Deliver(msgspec.Struct, tag="deliver", tag_field="kind", omit_defaults=True):
    """Send ``frame`` to the members of ``room``, or to the one ``session``."""

    frame: msgspec.Raw
    room: str | None = None
    session: str | None = None
    # The sender's nickname key: recipients who ignore it do not receive the frame.
    sender_key: str | None = None
    exclude_session: str | None = None
    # Only the room's members on this side of the age line (``minor`` or ``adult``): an
    # arrival in an all-ages room is announced once per room, and each node keeps it from
    # the other side (causerie.chat.membership).
    side: str | None = None


class Disconnect(msgspec.Struct, tag="disconnect", tag_field="kind"):
    """Close a session's connection, wherever it is, after sending it ``frame``."""

    session: str
    frame: msgspec.Raw
    reason: str


class ConversationChanged(msgspec.Struct, tag="conversation_changed", tag_field="kind"):
    """The minors fence recorded something about a conversation (a score, a freeze): every
    node drops its cached state of ``key`` (causerie.trust.fence)."""

    key: str


class PresenceChanged(msgspec.Struct, tag="presence_changed", tag_field="kind", omit_defaults=True):
    """Who is online changed: every node drops its copies of these nickname keys, sessions and
    every session of these nodes (causerie.chat.presence)."""

    keys: list[str] = []
    sessions: list[str] = []
    nodes: list[str] = []


class Ping(msgspec.Struct, tag="ping", tag_field="kind"):
    """A node's heartbeat on the bus; its arrival measures the bus's lag (causerie.metrics)."""

    node: str
    sent: float


Envelope = Deliver | Disconnect | ConversationChanged | PresenceChanged | Ping
envelope_encoder = msgspec.json.Encoder()
envelope_decoder: msgspec.json.Decoder[Envelope] = msgspec.json.Decoder(Envelope)


def deliver(
    frame: ServerFrame,
    *,
    room: str | None = None,
    session: str | None = None,
    sender_key: str | None = None,
    exclude_session: str | None = None,
    side: str | None = None,
) -> bytes:
    """The bus payload that delivers ``frame`` to a room or to one session."""
    envelope = Deliver(
        frame=msgspec.Raw(encode(frame)),
        room=room,
        session=session,
        sender_key=sender_key,
        exclude_session=exclude_session,
        side=side,
    )
    return envelope_encoder.encode(envelope)


def disconnect(session_id: str, code: ErrorCode, message: str) -> bytes:
    """The bus payload that closes a session's connection, on whichever node holds it."""
    frame = msgspec.Raw(encode(Error(code=code, message=message)))
    return envelope_encoder.encode(Disconnect(session=session_id, frame=frame, reason=message))


class BusPublishing:
    """Publishing frames to nodes over ``self.bus``: the chat core's, and the moderation
    command's, which has a bus but no node."""

    bus: Bus

    async def publish(
        self,
        frame: ServerFrame,
        *,
        room: str | None = None,
        session: str | None = None,
        sender_key: str | None = None,
        exclude_session: str | None = None,
        side: str | None = None,
    ) -> None:
        await self.bus.publish(
            deliver(
                frame,
                room=room,
                session=session,
                sender_key=sender_key,
                exclude_session=exclude_session,
                side=side,
            )
        )

    async def disconnect(self, session_id: str, code: ErrorCode, message: str) -> None:
        """Close a chatter's connection on whichever node holds it."""
        await self.bus.publish(disconnect(session_id, code, message))
