"""Who is online, on which node, and in which rooms. Shared by every node through the database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.domain import MAX_AGE, MIN_AGE
from causerie.store.database import Write, read_rows, write_in_thread
from causerie.store.schema import nodes, online_sessions, room_members


class NicknameTaken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DeadNodes:
    """Nodes found silent and removed, with the (room, nickname) memberships they took along."""

    nodes: list[str]
    departures: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class OnlineSession:
    id: str
    nickname: str
    nickname_key: str
    age: int
    gender: str
    department: str
    region_code: str
    node_id: str


def _row(row: Sequence[Any]) -> OnlineSession:
    # A row of _SESSION_COLUMNS, whose order is the dataclass's: a join lists every member of
    # the room, and reading each column by name through the row's mapping cost three times this.
    return OnlineSession(*row)


_SESSION_COLUMNS = (
    online_sessions.c.id,
    online_sessions.c.nickname,
    online_sessions.c.nickname_key,
    online_sessions.c.age,
    online_sessions.c.gender,
    online_sessions.c.department,
    online_sessions.c.region_code,
    online_sessions.c.node_id,
)
# Built once, filled from a dict: ``insert(...).values(...)`` per call builds a bound parameter
# per column, which cost more than the insert (docs/benchmarks.md).
_INSERT_SESSION = insert(online_sessions)
_BY_KEY = select(*_SESSION_COLUMNS).where(
    online_sessions.c.nickname_key == bindparam("nickname_key")
)
# A page of a room's members between two ages, after a nickname key: a join lists one page
# (listing every member made filling a room of 1,000 quadratic, docs/benchmarks.md).
_MEMBER_PAGE = (
    select(*_SESSION_COLUMNS)
    .join(room_members, room_members.c.session_id == online_sessions.c.id)
    .where(
        room_members.c.room_id == bindparam("room_id"),
        online_sessions.c.nickname_key > bindparam("after"),
        online_sessions.c.age.between(bindparam("min_age"), bindparam("max_age")),
    )
    .order_by(online_sessions.c.nickname_key)
    .limit(bindparam("limit"))
)
_MEMBER_COUNT = select(func.count()).where(room_members.c.room_id == bindparam("room_id"))


class PresenceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Nickname claims taken back after their entry was abandoned (see add_session).
        self._taking_back: set[asyncio.Future[list[str]]] = set()

    # -- nodes -------------------------------------------------------------------------------

    async def register_node(self, node_id: str, now: float) -> list[tuple[str, str]]:
        """Start a node's life; return the (room, nickname) memberships of its previous life.

        A node that restarts under the same name (a stable node id) forgets who it had at
        once: they are gone, and the caller tells their rooms.
        """
        async with self.engine.begin() as conn:
            ghosts = select(online_sessions.c.id).where(online_sessions.c.node_id == node_id)
            departures = [
                (room, nickname)
                for room, nickname in await conn.execute(
                    select(room_members.c.room_id, online_sessions.c.nickname)
                    .join(online_sessions, online_sessions.c.id == room_members.c.session_id)
                    .where(online_sessions.c.node_id == node_id)
                )
            ]
            await conn.execute(delete(room_members).where(room_members.c.session_id.in_(ghosts)))
            await conn.execute(delete(online_sessions).where(online_sessions.c.node_id == node_id))
            await conn.execute(delete(nodes).where(nodes.c.id == node_id))
            await conn.execute(insert(nodes).values(id=node_id, started_at=now, last_seen=now))
            return departures

    async def heartbeat(self, node_id: str, now: float) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(nodes).where(nodes.c.id == node_id).values(last_seen=now)
            )
            if result.rowcount == 0:
                await conn.execute(insert(nodes).values(id=node_id, started_at=now, last_seen=now))

    async def remove_dead_nodes(self, seen_before: float) -> DeadNodes:
        """Forget nodes silent since ``seen_before`` and everyone who was connected to them."""
        async with self.engine.begin() as conn:
            dead = list(
                (await conn.execute(select(nodes.c.id).where(nodes.c.last_seen < seen_before)))
                .scalars()
                .all()
            )
            departures: list[tuple[str, str]] = []
            if dead:
                departures = [
                    (room, nickname)
                    for room, nickname in await conn.execute(
                        select(room_members.c.room_id, online_sessions.c.nickname)
                        .join(online_sessions, online_sessions.c.id == room_members.c.session_id)
                        .where(online_sessions.c.node_id.in_(dead))
                    )
                ]
                await conn.execute(
                    delete(room_members).where(
                        room_members.c.session_id.in_(
                            select(online_sessions.c.id).where(online_sessions.c.node_id.in_(dead))
                        )
                    )
                )
                await conn.execute(
                    delete(online_sessions).where(online_sessions.c.node_id.in_(dead))
                )
                await conn.execute(delete(nodes).where(nodes.c.id.in_(dead)))
            return DeadNodes(nodes=dead, departures=departures)

    async def unregister_node(self, node_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(room_members).where(
                    room_members.c.session_id.in_(
                        select(online_sessions.c.id).where(online_sessions.c.node_id == node_id)
                    )
                )
            )
            await conn.execute(delete(online_sessions).where(online_sessions.c.node_id == node_id))
            await conn.execute(delete(nodes).where(nodes.c.id == node_id))

    # -- sessions ----------------------------------------------------------------------------

    async def add_session(
        self, session: OnlineSession, now: float, *, with_writes: Sequence[Write] = ()
    ) -> None:
        """Record a chatter as online; raise :class:`NicknameTaken` if the key is in use.

        ``with_writes`` run in the same transaction, after the claim: the entry's other rows
        (its ban keys, its resume token) cost no commit of their own and are never left behind
        by a nickname already taken.

        One crossing to a writer thread (:func:`write_in_thread`), which a cancelled caller
        cannot stop: if the entry is abandoned meanwhile (the connection closed), the claim is
        taken back once it has landed, so that no nickname stays taken by nobody.
        """
        row = {
            "id": session.id,
            "nickname": session.nickname,
            "nickname_key": session.nickname_key,
            "age": session.age,
            "gender": session.gender,
            "department": session.department,
            "region_code": session.region_code,
            "node_id": session.node_id,
            "connected_at": now,
        }

        def claim_and_write(conn: Connection) -> None:
            conn.execute(_INSERT_SESSION, row)
            for write in with_writes:
                write(conn)

        claim = asyncio.ensure_future(write_in_thread(self.engine, claim_and_write))
        try:
            await asyncio.shield(claim)
        except IntegrityError:
            raise NicknameTaken(session.nickname) from None
        except asyncio.CancelledError:
            claim.add_done_callback(lambda done: self._take_back(done, session.id))
            raise

    def _take_back(self, claim: asyncio.Future[Any], session_id: str) -> None:
        if claim.cancelled() or claim.exception() is not None:
            return
        task = asyncio.ensure_future(self.remove_session(session_id))
        self._taking_back.add(task)
        task.add_done_callback(self._taking_back.discard)

    async def remove_session(self, session_id: str) -> list[str]:
        """Take a chatter offline; return the rooms they were in."""

        def remove(conn: Connection) -> list[str]:
            members = room_members.c
            rooms = list(
                conn.execute(select(members.room_id).where(members.session_id == session_id))
                .scalars()
                .all()
            )
            conn.execute(delete(room_members).where(members.session_id == session_id))
            conn.execute(delete(online_sessions).where(online_sessions.c.id == session_id))
            return rooms

        return await write_in_thread(self.engine, remove)

    async def by_key(self, nickname_key: str) -> OnlineSession | None:
        rows = await read_rows(self.engine, _BY_KEY, {"nickname_key": nickname_key})
        return _row(rows[0]) if rows else None

    async def update_age(self, session_id: str, age: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(online_sessions).where(online_sessions.c.id == session_id).values(age=age)
            )

    async def people(
        self,
        *,
        min_age: int | None = None,
        max_age: int | None = None,
        gender: str | None = None,
        region_code: str | None = None,
        limit: int = 200,
    ) -> list[OnlineSession]:
        query = select(*_SESSION_COLUMNS)
        if min_age is not None:
            query = query.where(online_sessions.c.age >= min_age)
        if max_age is not None:
            query = query.where(online_sessions.c.age <= max_age)
        if gender is not None:
            query = query.where(online_sessions.c.gender == gender)
        if region_code is not None:
            query = query.where(online_sessions.c.region_code == region_code)
        query = query.order_by(online_sessions.c.nickname_key).limit(limit)
        return [_row(r) for r in await read_rows(self.engine, query)]

    # -- rooms -------------------------------------------------------------------------------

    async def join(self, session_id: str, room_ids: Iterable[str], now: float) -> list[str]:
        """Add the session to rooms; return those it was not in already."""
        wanted = list(dict.fromkeys(room_ids))

        def join(conn: Connection) -> list[str]:
            present = set(
                conn.execute(
                    select(room_members.c.room_id).where(
                        room_members.c.session_id == session_id,
                        room_members.c.room_id.in_(wanted),
                    )
                )
                .scalars()
                .all()
            )
            added = [room for room in wanted if room not in present]
            if added:
                conn.execute(
                    insert(room_members),
                    [{"room_id": r, "session_id": session_id, "joined_at": now} for r in added],
                )
            return added

        return await write_in_thread(self.engine, join)

    async def leave(self, session_id: str, room_ids: Iterable[str]) -> list[str]:
        """Remove the session from rooms; return those it was in."""
        wanted = list(dict.fromkeys(room_ids))
        async with self.engine.begin() as conn:
            present = list(
                (
                    await conn.execute(
                        select(room_members.c.room_id).where(
                            room_members.c.session_id == session_id,
                            room_members.c.room_id.in_(wanted),
                        )
                    )
                )
                .scalars()
                .all()
            )
            if present:
                await conn.execute(
                    delete(room_members).where(
                        room_members.c.session_id == session_id,
                        room_members.c.room_id.in_(present),
                    )
                )
            return present

    async def rooms_of(self, session_id: str) -> list[str]:
        async with self.engine.connect() as conn:
            return list(
                (
                    await conn.execute(
                        select(room_members.c.room_id).where(
                            room_members.c.session_id == session_id
                        )
                    )
                )
                .scalars()
                .all()
            )

    async def members(
        self,
        room_id: str,
        *,
        min_age: int = MIN_AGE,
        max_age: int = MAX_AGE,
        after: str = "",
        limit: int = 1_000_000,
    ) -> list[OnlineSession]:
        """The room's members aged ``min_age`` to ``max_age`` whose nickname key sorts after
        ``after``, in nickname key order, at most ``limit``."""
        params = {
            "room_id": room_id,
            "after": after,
            "min_age": min_age,
            "max_age": max_age,
            "limit": limit,
        }
        return [_row(r) for r in await read_rows(self.engine, _MEMBER_PAGE, params)]

    async def member_count(self, room_id: str) -> int:
        (count,) = (await read_rows(self.engine, _MEMBER_COUNT, {"room_id": room_id}))[0]
        return int(count)

    async def counts(
        self, *, min_age: int | None = None, max_age: int | None = None
    ) -> dict[str, int]:
        """People per room, optionally only those whose age is within the bounds."""
        query = select(room_members.c.room_id, func.count()).group_by(room_members.c.room_id)
        if min_age is not None or max_age is not None:
            query = query.join(online_sessions, online_sessions.c.id == room_members.c.session_id)
        if min_age is not None:
            query = query.where(online_sessions.c.age >= min_age)
        if max_age is not None:
            query = query.where(online_sessions.c.age <= max_age)
        async with self.engine.connect() as conn:
            return {room: count for room, count in await conn.execute(query)}
