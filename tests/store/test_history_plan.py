"""A join's history is read along the (room, created_at) index, without sorting the window."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from causerie.store.database import create_engine
from causerie.store.messages import RECENT_IN_ROOM, MessageStore


async def test_sqlite_reads_history_through_the_index_without_a_temp_b_tree(
    migrated_sqlite: str,
) -> None:
    query = RECENT_IN_ROOM.params(room_id="general", since=100.0, limit=50)
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    engine = create_engine(migrated_sqlite)
    try:
        async with engine.connect() as conn:
            plan = [str(row[-1]) for row in await conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
    finally:
        await engine.dispose()
    assert any("USING INDEX ix_messages_room_created" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


async def test_ties_in_time_come_back_in_id_order(migrated_sqlite: str) -> None:
    engine = create_engine(migrated_sqlite)
    store = MessageStore(engine)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM messages"))
        ids = [
            await store.add(
                sender_session="s",
                sender_nickname="Alice",
                text=f"m{i}",
                created_at=200.0,
                expires_at=300.0,
                room_id="general",
            )
            for i in range(4)
        ]
        recent = await store.recent_in_room("general", since=100.0, limit=3)
        assert [m.id for m in recent] == ids[1:]
    finally:
        await engine.dispose()
