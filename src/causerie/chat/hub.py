"""Node-local delivery: which connections this node holds and which rooms they are in.

Every node receives every envelope from the bus and delivers it to its own connections only.
A connection is anything with an :class:`Outbox`; the gateway supplies WebSocket ones and tests
supply lists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from causerie import metrics
from causerie.chat.envelopes import (
    ConversationChanged,
    Deliver,
    Disconnect,
    Ping,
    PresenceChanged,
    envelope_decoder,
)
from causerie.domain import AgeBand, Side

log = logging.getLogger(__name__)


class Outbox(Protocol):
    def push(self, frame: str) -> None:
        """Queue an encoded frame (JSON text) for the client; must not block."""

    def close(self, frame: str, reason: str) -> None:
        """Send ``frame`` then close the connection."""


@dataclass(eq=False, slots=True)
class LocalSession:
    """A chatter connected to this node, as the chat service knows them."""

    id: str
    nickname: str
    key: str
    age: int
    band: AgeBand
    gender: str
    department: str
    region_code: str
    outbox: Outbox
    rooms: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)
    # The chatter's sessions before a resume: their private history is this chatter's too.
    earlier_sessions: tuple[str, ...] = ()


class Hub:
    def __init__(self) -> None:
        self.sessions: dict[str, LocalSession] = {}
        self.rooms: dict[str, set[LocalSession]] = {}
        self.delivered = 0
        # The minors fence's cache (causerie.trust.fence): told of every conversation_changed.
        self.conversation_changed: Callable[[str], None] | None = None
        # The presence cache (causerie.chat.presence): told of every presence_changed.
        self.presence_changed: Callable[[PresenceChanged], None] | None = None

    def attach(self, session: LocalSession) -> None:
        self.sessions[session.id] = session

    def detach(self, session_id: str) -> LocalSession | None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            for room in session.rooms:
                self.unsubscribe(session, room)
        return session

    def subscribe(self, session: LocalSession, room: str) -> None:
        session.rooms.add(room)
        self.rooms.setdefault(room, set()).add(session)

    def unsubscribe(self, session: LocalSession, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(session)
            if not members:
                del self.rooms[room]

    def leave_room(self, session: LocalSession, room: str) -> None:
        session.rooms.discard(room)
        self.unsubscribe(session, room)

    async def on_envelope(self, payload: bytes) -> None:
        try:
            envelope = envelope_decoder.decode(payload)
        except Exception:
            log.exception("undecodable bus envelope dropped")
            return
        if isinstance(envelope, Deliver):
            self.deliver(envelope)
        elif isinstance(envelope, Disconnect):
            session = self.sessions.get(envelope.session)
            if session is not None:
                session.outbox.close(bytes(envelope.frame).decode(), envelope.reason)
        elif isinstance(envelope, ConversationChanged) and self.conversation_changed is not None:
            self.conversation_changed(envelope.key)
        elif isinstance(envelope, PresenceChanged) and self.presence_changed is not None:
            self.presence_changed(envelope)
        elif isinstance(envelope, Ping):
            metrics.bus_lag_seconds.observe(max(0.0, time.time() - envelope.sent))

    def deliver(self, envelope: Deliver) -> None:
        # Decoded once here, not once per recipient: WebSocket text frames take str.
        frame = bytes(envelope.frame).decode()
        sender_key = envelope.sender_key
        if envelope.room is not None:
            members = self.rooms.get(envelope.room)
            if not members:
                return
            exclude = envelope.exclude_session
            side = envelope.side
            if side is not None:
                # One side of the age line only (an arrival in an all-ages room).
                minor = side == Side.MINOR
                count = 0
                for session in members:
                    if (
                        session.band.is_minor != minor
                        or session.id == exclude
                        or (sender_key is not None and sender_key in session.ignored)
                    ):
                        continue
                    session.outbox.push(frame)
                    count += 1
            elif exclude is None and sender_key is not None:
                # The common case, a room message, kept to one set lookup and one push per
                # member: this loop runs once per member for every message of a busy room.
                count = 0
                for session in members:
                    if sender_key not in session.ignored:
                        session.outbox.push(frame)
                        count += 1
            else:
                count = 0
                for session in members:
                    if session.id == exclude or (
                        sender_key is not None and sender_key in session.ignored
                    ):
                        continue
                    session.outbox.push(frame)
                    count += 1
            self.delivered += count
            metrics.deliveries.labels("room").inc(count)
        elif envelope.session is not None:
            target = self.sessions.get(envelope.session)
            if target is None or (sender_key is not None and sender_key in target.ignored):
                return
            target.outbox.push(frame)
            self.delivered += 1
            metrics.deliveries.labels("session").inc()
