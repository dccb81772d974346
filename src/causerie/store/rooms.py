"""The rooms that exist: the operator's themed rooms, one per region, and those chatters open."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.database import read_rows
from causerie.store.schema import room_members, rooms


class RoomExists(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    name: str
    name_key: str
    kind: str
    audience: str
    region_code: str
    topic: str
    host_key: str | None
    position: int
    name_en: str = ""
    topic_en: str = ""


_COLUMNS = (
    rooms.c.id,
    rooms.c.name,
    rooms.c.name_key,
    rooms.c.kind,
    rooms.c.audience,
    rooms.c.region_code,
    rooms.c.topic,
    rooms.c.host_key,
    rooms.c.position,
    rooms.c.name_en,
    rooms.c.topic_en,
)
_ROOM_BY_ID = select(*_COLUMNS).where(rooms.c.id == bindparam("room_id"))


def _row(row: object) -> RoomRow:
    return RoomRow(**row._mapping)  # type: ignore[attr-defined]


class RoomStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def sync_catalogue(self, catalogue: list[RoomRow], now: float) -> None:
        """Make the operator's rooms those of ``catalogue``; chatters' rooms are left alone.

        A themed room the operator removed from the file is removed here too (its members with
        it); an edited name, audience or topic takes effect at the next start.
        """
        wanted = {room.id for room in catalogue}
        async with self.engine.begin() as conn:
            existing = {r.id: r for r in map(_row, await conn.execute(select(*_COLUMNS)))}
            removed = [r.id for r in existing.values() if r.kind != "user" and r.id not in wanted]
            if removed:
                await conn.execute(delete(rooms).where(rooms.c.id.in_(removed)))
            for room in catalogue:
                # The topic too: nobody hosts a catalogue room, so the file is its only source.
                values = {
                    "name": room.name,
                    "name_key": room.name_key,
                    "kind": room.kind,
                    "audience": room.audience,
                    "region_code": room.region_code,
                    "topic": room.topic,
                    "position": room.position,
                    "name_en": room.name_en,
                    "topic_en": room.topic_en,
                }
                if room.id in existing:
                    await conn.execute(update(rooms).where(rooms.c.id == room.id).values(**values))
                else:
                    await conn.execute(
                        insert(rooms).values(id=room.id, created_at=now, host_key=None, **values)
                    )

    async def all(self) -> list[RoomRow]:
        async with self.engine.connect() as conn:
            query = select(*_COLUMNS).order_by(rooms.c.position, rooms.c.name_key)
            return [_row(r) for r in await conn.execute(query)]

    async def get(self, room_id: str) -> RoomRow | None:
        found = await read_rows(self.engine, _ROOM_BY_ID, {"room_id": room_id})
        return _row(found[0]) if found else None

    async def create(self, room: RoomRow, now: float) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(rooms).values(
                        id=room.id,
                        name=room.name,
                        name_key=room.name_key,
                        kind=room.kind,
                        audience=room.audience,
                        region_code=room.region_code,
                        topic=room.topic,
                        host_key=room.host_key,
                        position=room.position,
                        created_at=now,
                    )
                )
        except IntegrityError:
            raise RoomExists(room.name) from None

    async def remove_empty_user_rooms(self, opened_before: float) -> list[str]:
        """Chatters' rooms opened before ``opened_before`` that nobody is in: removed, and their
        ids returned. The operator's rooms stay, empty or not."""
        occupied = select(room_members.c.room_id)
        empty = (rooms.c.kind == "user", rooms.c.created_at < opened_before)
        async with self.engine.begin() as conn:
            ids = [
                room_id
                for (room_id,) in await conn.execute(
                    select(rooms.c.id).where(*empty, rooms.c.id.not_in(occupied))
                )
            ]
            if ids:
                # Checked again in the same statement: someone may have joined meanwhile.
                result = await conn.execute(
                    delete(rooms)
                    .where(rooms.c.id.in_(ids), rooms.c.id.not_in(occupied))
                    .returning(rooms.c.id)
                )
                ids = [room_id for (room_id,) in result]
        return ids

    async def set_topic(self, room_id: str, topic: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(rooms).where(rooms.c.id == room_id).values(topic=topic))
