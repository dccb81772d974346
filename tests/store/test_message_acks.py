"""Message ids reserved before the row; one stored message per request key."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.messages import MessageIds, MessageStore, RequestAcknowledged
from causerie.store.schema import message_ids


async def add(store: MessageStore, key: str | None = "s k", message_id: int | None = None) -> int:
    return await store.add(
        message_id=message_id,
        room_id="r",
        sender_session="s",
        sender_nickname="N",
        text="t",
        created_at=1.0,
        expires_at=10.0,
        request_key=key,
    )


@contextlib.asynccontextmanager
async def writing(store: MessageStore, writer: bool) -> AsyncIterator[None]:
    task = asyncio.create_task(store.writer.run()) if writer else None
    await asyncio.sleep(0)
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.parametrize("writer", [False, True], ids=["direct", "group-commit"])
async def test_one_stored_message_per_request_key(engine: AsyncEngine, writer: bool) -> None:
    store = MessageStore(engine)
    async with writing(store, writer):
        assert await store.acknowledged("s k") is None
        reserved = await store.reserve_id()
        # Nothing is in history for a reserved id until its row is written.
        assert await store.recent_in_room("r", 0.0, 10) == []
        # Written together (one transaction where the writer runs): the second of the same
        # request is refused with the first one's id, the one without a request is kept.
        one, other = await asyncio.gather(add(store, message_id=reserved), add(store, None))
        assert one == reserved
        with pytest.raises(RequestAcknowledged) as raced:
            await add(store)
        assert raced.value.first.id == one
        assert [m.id for m in await store.recent_in_room("r", 0.0, 10)] == [one, other]
        found = await store.acknowledged("s k")
        assert found is not None and found.id == one


async def test_ids_from_two_stores_on_one_database_never_meet(engine: AsyncEngine) -> None:
    # Two nodes (or a node and the console) on one database, each with its own block.
    first, second = MessageStore(engine), MessageStore(engine)
    first.ids.block = second.ids.block = 5
    taken = [await store.reserve_id() for _ in range(12) for store in (first, second)]
    assert len(set(taken)) == len(taken)
    # Rows written with them, and rows given an id by add itself, all fit.
    for message_id in taken[:6]:
        await add(first, None, message_id)
    assert await add(second, None) not in taken


async def test_ids_restart_past_the_rows_when_their_table_was_emptied(
    engine: AsyncEngine,
) -> None:
    store = MessageStore(engine)
    written = [await add(store, None) for _ in range(3)]
    async with engine.begin() as conn:
        await conn.execute(delete(message_ids))
    fresh = MessageIds(engine, block=10)
    assert await fresh.take() == max(written) + 1
    # The row it recreated is what the next reservation bumps.
    assert await MessageIds(engine, block=10).take() == max(written) + 11
