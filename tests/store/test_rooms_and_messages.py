"""Rooms and messages repositories, and the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.chat.rooms import load_catalogue, room_name_key
from causerie.protocol.geo import REGIONS
from causerie.store.database import alembic_config, create_engine, migrate
from causerie.store.messages import MessageStore
from causerie.store.presence import PresenceStore
from causerie.store.rooms import RoomExists, RoomRow, RoomStore
from causerie.store.schema import metadata
from tests.store.test_presence import chatter

# -- migrations -----------------------------------------------------------------------------


def _table_of(diff: Any) -> str | None:
    """The table an Alembic autogenerate difference is about."""
    if isinstance(diff, list):  # column modifications come as lists of tuples
        return _table_of(diff[0])
    kind, subject = diff[0], diff[1]
    if kind.endswith("_table"):
        return str(subject.name)
    if kind.endswith("_index") or kind.endswith("_constraint"):
        return str(subject.table.name)
    if kind.endswith("_column") or kind.startswith("modify_"):
        return str(diff[2])
    return None


def _schema_differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    ours = set(metadata.tables)
    # Other capabilities keep tables of their own in the same database: only ours are compared.
    return [diff for diff in compare_metadata(context, metadata) if _table_of(diff) in ours]


async def test_migrations_build_exactly_the_schema_and_can_run_twice(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url)
    await asyncio.to_thread(migrate, database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            assert set(metadata.tables) <= tables
            assert await conn.run_sync(_schema_differences) == []
            heads = set(
                await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
            )
    finally:
        await engine.dispose()
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert heads == set(script.get_heads())


async def test_a_url_with_a_percent_sign_reaches_alembic_intact(tmp_path: Path) -> None:
    folder = tmp_path / "100%"
    folder.mkdir()
    await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{folder / 'chat.db'}")
    assert (folder / "chat.db").is_file()


# -- rooms ----------------------------------------------------------------------------------


def user_room(name: str, host: str = "zoe", room_id: str | None = None) -> RoomRow:
    return RoomRow(
        id=room_id or f"u-{name.lower()}",
        name=name,
        name_key=room_name_key(name),
        kind="user",
        audience="adults",
        region_code="",
        topic="",
        host_key=host,
        position=10_000,
    )


async def test_catalogue_sync_is_idempotent(engine: AsyncEngine) -> None:
    store = RoomStore(engine)
    catalogue = load_catalogue(None)
    await store.sync_catalogue(catalogue, 1.0)
    first = await store.all()
    await store.sync_catalogue(catalogue, 2.0)
    assert await store.all() == first == sorted(catalogue, key=lambda r: (r.position, r.name_key))
    assert len([r for r in first if r.kind == "regional"]) == len(REGIONS)


async def test_catalogue_edits_apply_and_leave_chatters_rooms_alone(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    store, presence = RoomStore(engine), PresenceStore(engine)
    rooms_file = tmp_path / "rooms.toml"
    rooms_file.write_text(
        '[[room]]\nid = "general"\nname = "Général"\ntopic = "old"\n'
        '[[room]]\nid = "echecs"\nname = "Échecs"\n',
        "utf-8",
    )
    await store.sync_catalogue(load_catalogue(rooms_file), 1.0)
    await store.create(user_room("Origami"), 1.0)
    await presence.register_node("n", 1.0)
    await presence.add_session(chatter("Zoe", node="n"), 1.0)
    await presence.join("s-zoe-n", ["echecs", "general"], 1.0)

    rooms_file.write_text(
        '[[room]]\nid = "general"\nname = "Général !"\ntopic = "new"\naudience = "adults"\n',
        "utf-8",
    )
    await store.sync_catalogue(load_catalogue(rooms_file), 2.0)
    general = await store.get("general")
    assert general is not None
    assert (general.name, general.topic, general.audience) == ("Général !", "new", "adults")
    assert await store.get("echecs") is None
    assert await presence.rooms_of("s-zoe-n") == ["general"]
    assert await store.get("u-origami") == user_room("Origami")


async def test_room_names_are_unique_ignoring_case_and_accents(
    catalogue_engine: AsyncEngine,
) -> None:
    store = RoomStore(catalogue_engine)
    await store.create(user_room("Échecs", room_id="u-echecs"), 1.0)
    with pytest.raises(RoomExists):
        await store.create(user_room("echecs", room_id="u-other"), 1.0)
    with pytest.raises(RoomExists):
        await store.create(user_room("MUSIQUE", room_id="u-musique-2"), 1.0)
    with pytest.raises(RoomExists):
        await store.create(user_room("Autre", room_id="u-echecs"), 1.0)


async def test_rooms_listed_in_order_and_topics_set(catalogue_engine: AsyncEngine) -> None:
    store = RoomStore(catalogue_engine)
    await store.create(user_room("Origami"), 1.0)
    rooms = await store.all()
    assert rooms[0].id == "general"
    assert rooms[-1].id == "u-origami"
    await store.set_topic("u-origami", "plis et pliages")
    assert await store.get("u-origami") == dataclasses.replace(
        user_room("Origami"), topic="plis et pliages"
    )
    assert await store.get("nowhere") is None


# -- messages -------------------------------------------------------------------------------


async def add(store: MessageStore, text: str, at: float, room: str | None = "general") -> int:
    return await store.add(
        sender_session="s1",
        sender_nickname="Zoe",
        text=text,
        created_at=at,
        expires_at=at + 100,
        room_id=room,
        recipient_session=None if room else "s2",
        recipient_nickname=None if room else "Bob",
    )


async def test_messages_get_increasing_ids_and_are_read_back(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    first = await add(store, "un", 10.0)
    second = await add(store, "deux", 11.0, room=None)
    assert second > first
    message = await store.get(second)
    assert message is not None
    assert (message.text, message.room_id, message.recipient_nickname) == ("deux", None, "Bob")
    assert await store.get(second + 1000) is None


async def test_recent_window_is_the_newest_messages_oldest_first(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    for i in range(10):
        await add(store, f"m{i}", 100.0 + i)
    await add(store, "elsewhere", 105.5, room="musique")
    await add(store, "private", 105.5, room=None)
    recent = await store.recent_in_room("general", since=102.0, limit=5)
    assert [m.text for m in recent] == ["m5", "m6", "m7", "m8", "m9"]
    recent = await store.recent_in_room("general", since=106.0, limit=50)
    assert [m.text for m in recent] == ["m7", "m8", "m9"]
    assert await store.recent_in_room("general", since=0.0, limit=0) == []
    assert await store.recent_in_room("nowhere", since=0.0, limit=50) == []


async def test_purge_removes_expired_messages_only(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    old = await add(store, "old", 0.0)  # expires at 100
    edge = await add(store, "edge", 50.0)  # expires at 150
    fresh = await add(store, "fresh", 51.0)  # expires at 151
    assert await store.purge_expired(now=150.0) == 2
    assert await store.get(old) is None
    assert await store.get(edge) is None
    assert await store.get(fresh) is not None
    assert await store.purge_expired(now=150.0) == 0
