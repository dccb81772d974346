"""The message group commit: many inserts, one transaction; ids only after the commit.

On SQLite (its own thread and ``sqlite3`` connection) and on PostgreSQL (one
``INSERT ... RETURNING`` per batch through the engine).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.messages import GroupCommit, MessageStore
from causerie.store.schema import messages


@contextlib.asynccontextmanager
async def running(store: MessageStore) -> AsyncIterator[GroupCommit]:
    task = asyncio.create_task(store.writer.run())
    await asyncio.sleep(0)
    assert store.writer.running
    try:
        yield store.writer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def add(store: MessageStore, n: int, text: str | None = None) -> int:
    return await store.add(
        room_id="r",
        sender_session=f"s{n}",
        sender_nickname=f"N{n}",
        text=text if text is not None else f"message {n}",
        created_at=100.0 + n,
        expires_at=10_000.0,
    )


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(messages))).scalar_one())


async def test_concurrent_inserts_share_commits_and_each_gets_its_own_id(
    engine: AsyncEngine,
) -> None:
    store = MessageStore(engine)
    async with running(store) as writer:
        ids = await asyncio.gather(*(add(store, n) for n in range(50)))
        assert len(set(ids)) == 50
        assert writer.rows == 50
        # The first commit takes the first caller; everyone who queued meanwhile shares the next.
        assert writer.commits <= 5
        for n, message_id in enumerate(ids):
            row = await store.get(message_id)
            assert row is not None and row.text == f"message {n}"


async def test_an_idle_writer_commits_at_once(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    async with running(store) as writer:
        for n in range(3):
            # Each insert is its own commit, and visible to every other connection on return.
            message_id = await asyncio.wait_for(add(store, n), 2.0)
            assert writer.commits == n + 1
            assert await store.get(message_id) is not None


async def test_a_bad_row_fails_only_its_own_caller(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    async with running(store):
        good = [add(store, n) for n in range(5)]
        # NOT NULL on text: this row cannot be written.
        bad = store.add(
            room_id="r",
            sender_session="bad",
            sender_nickname="Bad",
            text=None,  # type: ignore[arg-type]
            created_at=1.0,
            expires_at=2.0,
        )
        results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(r, int) for r in results[:5])
    assert isinstance(results[5], Exception)
    assert await count(engine) == 5


async def test_stopping_the_writer_commits_what_is_pending(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    task = asyncio.create_task(store.writer.run())
    await asyncio.sleep(0)
    pending = [asyncio.create_task(add(store, n)) for n in range(20)]
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ids = await asyncio.gather(*pending)
    assert len(set(ids)) == 20
    assert await count(engine) == 20
    # Without a writer each insert commits on its own.
    assert not store.writer.running
    await add(store, 99)
    assert await count(engine) == 21


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_sqlite_files_get_their_own_writer_thread(engine: AsyncEngine) -> None:
    store = MessageStore(engine)
    assert store.writer._thread is not None
