"""The hot reads and writes: on a SQLite file through plain connections, a read on the calling
thread, a write transaction in one crossing to a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.database import _twin, read_rows, write_in_thread
from causerie.store.schema import rooms


async def test_reads_see_every_committed_write_at_once(engine: AsyncEngine) -> None:
    query = select(rooms.c.id).where(rooms.c.id == "r1")
    assert list(await read_rows(engine, query)) == []
    async with engine.begin() as conn:
        await conn.execute(
            insert(rooms).values(
                id="r1", name="Un", name_key="un", kind="theme", audience="all", created_at=1.0
            )
        )
    assert [tuple(r) for r in await read_rows(engine, query)] == [("r1",)]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_on_sqlite_they_run_on_this_thread_and_cannot_write(engine: AsyncEngine) -> None:
    reader = _twin(engine, read_only=True)
    assert reader is not None
    threads: list[int] = []

    def seen(*_: object) -> None:
        threads.append(threading.get_ident())

    event.listen(reader, "before_cursor_execute", seen)
    await read_rows(engine, select(rooms.c.id))
    assert threads == [threading.get_ident()]
    # The reader's connection is query_only: nothing written can go through it by mistake.
    with reader.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.execute(text("DELETE FROM rooms"))


async def test_a_write_commits_on_return_and_rolls_back_on_error(engine: AsyncEngine) -> None:
    def add(name: str, fail: bool = False) -> Callable[[Connection], int]:
        def work(conn: Connection) -> int:
            conn.execute(
                insert(rooms).values(
                    id=name, name=name, name_key=name, kind="theme", audience="all", created_at=1.0
                )
            )
            if fail:
                raise RuntimeError("half way")
            return threading.get_ident()

        return work

    thread = await write_in_thread(engine, add("kept"))
    with pytest.raises(RuntimeError):
        await write_in_thread(engine, add("dropped", fail=True))
    found = [r.id for r in await read_rows(engine, select(rooms.c.id).order_by(rooms.c.id))]
    assert found == ["kept"]
    # On SQLite the transaction ran off the event loop's thread.
    on_sqlite = engine.url.get_backend_name() == "sqlite"
    assert (thread != threading.get_ident()) is on_sqlite
