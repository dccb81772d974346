"""What every chat use case shares: the stores, the bus, the hub, and how frames are published."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from causerie import metrics
from causerie.bus import Bus
from causerie.chat import envelopes
from causerie.chat.hooks import TrafficLog
from causerie.chat.hub import Hub, LocalSession
from causerie.domain import AgeBand, Side
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.core import Moderation
from causerie.moderation.verdict import Author
from causerie.protocol import frames as f
from causerie.protocol.geo import REGIONS_BY_CODE
from causerie.protocol.identity import nickname_key
from causerie.settings import Settings
from causerie.store.messages import MessageStore, StoredMessage
from causerie.store.presence import OnlineSession, PresenceStore
from causerie.store.rooms import RoomRow, RoomStore

# A room's audience never changes while nodes run (the catalogue is synced at start-up), so a
# short-lived copy for the message path can only show a topic a few seconds old.
ROOM_CACHE_SECONDS = 10.0

# The frames that carry what chatters wrote, counted by kind (causerie.metrics.messages).
_MESSAGE_KINDS: dict[type, str] = {
    f.RoomMessage: "room_message",
    f.PrivateMessage: "private_message",
    f.PhotoMessage: "photo",
}


def person_of(row: OnlineSession | LocalSession) -> f.Person:
    region = REGIONS_BY_CODE.get(row.region_code)
    key = row.key if isinstance(row, LocalSession) else row.nickname_key
    return f.Person(
        nickname=row.nickname,
        age=row.age,
        gender=row.gender,
        region=region.name if region else "",
        department=row.department,
        key=key,
        side=Side.of(AgeBand.of_age(row.age)).value,
    )


def room_info(row: RoomRow, count: int) -> f.RoomInfo:
    return f.RoomInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        audience=row.audience,  # type: ignore[arg-type]
        count=count,
        topic=row.topic,
        region=row.region_code,
        name_en=row.name_en,
        topic_en=row.topic_en,
    )


def message_frame(message: StoredMessage) -> f.RoomMessage:
    return f.RoomMessage(
        id=message.id,
        room=message.room_id or "",
        sender=message.sender_nickname,
        text=message.text,
        at=message.created_at,
        blurred=message.blurred,
        sender_key=nickname_key(message.sender_nickname),
    )


def author_of(session: LocalSession) -> Author:
    return Author(
        session_id=session.id,
        nickname=session.nickname,
        key=session.key,
        age=session.age,
        band=session.band,
    )


def visible_to(viewer: LocalSession, other: OnlineSession) -> bool:
    """Whether ``viewer`` may see ``other`` listed: minors and adults never see each other."""
    return other.id == viewer.id or viewer.band.same_side(AgeBand.of_age(other.age))


@dataclass
class ChatCore(envelopes.BusPublishing):
    """What every use case depends on, each given explicitly by :class:`causerie.node.Node`."""

    settings: Settings
    node_id: str
    presence: PresenceStore
    rooms: RoomStore
    messages: MessageStore
    bus: Bus
    hub: Hub
    moderation: Moderation
    traffic: TrafficLog
    clock: Callable[[], float] = time.time
    _room_cache: dict[str, tuple[float, RoomRow]] = field(default_factory=dict)

    @property
    def visible_seconds(self) -> float:
        return self.settings.chat.visible_hours * 3600

    async def room(self, room_id: str) -> RoomRow:
        row = await self.rooms.get(room_id)
        if row is None:
            raise ChatError(ErrorCode.ROOM_NOT_FOUND, f"there is no room {room_id!r}", room=room_id)
        return row

    async def room_for_message(self, room_id: str) -> RoomRow:
        now = time.monotonic()
        cached = self._room_cache.get(room_id)
        if cached is not None and now - cached[0] < ROOM_CACHE_SECONDS:
            return cached[1]
        row = await self.room(room_id)
        self._room_cache[room_id] = (now, row)
        return row

    def forget_room(self, room_id: str) -> None:
        self._room_cache.pop(room_id, None)

    async def publish(
        self,
        frame: f.ServerFrame,
        *,
        room: str | None = None,
        session: str | None = None,
        sender_key: str | None = None,
        exclude_session: str | None = None,
        side: str | None = None,
    ) -> None:
        await super().publish(
            frame,
            room=room,
            session=session,
            sender_key=sender_key,
            exclude_session=exclude_session,
            side=side,
        )
        kind = _MESSAGE_KINDS.get(type(frame))
        if kind is not None:
            metrics.messages.labels(kind).inc()
