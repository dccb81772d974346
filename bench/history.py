"""Joining a room with a full visible window: the history query's plan and its CPU time.

::

    python -m bench.history --messages 10000 [--database-url postgresql+asyncpg://...]

Fills one room with ``--messages`` visible messages (and as many in another room and in
private conversations, so the index has to pick the room), then runs
``MessageStore.recent_in_room`` (the query a join makes) ``--repeat`` times and reports the
query plan (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL) and the process CPU time
per call, the engine's thread hops included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql, sqlite

from causerie.store.database import create_engine, migrate
from causerie.store.messages import MessageStore
from causerie.store.schema import messages

try:
    from causerie.store.messages import RECENT_IN_ROOM
except ImportError:  # an older tree (the "before" of docs/benchmarks.md): its query, inline
    from sqlalchemy import select

    from causerie.store.messages import _COLUMNS

    def recent_in_room_query(room_id: str, since: float, limit: int) -> Any:
        return (
            select(*_COLUMNS)
            .where(messages.c.room_id == room_id, messages.c.created_at > since)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )


async def run(url: str, count: int, repeat: int, limit: int) -> dict[str, object]:
    engine = create_engine(url)
    store = MessageStore(engine)
    now = time.time()
    rows = []
    for i in range(count):
        for room in ("general", "musique", None):
            rows.append(
                {
                    "room_id": room,
                    "sender_session": f"s{i % 50}",
                    "sender_nickname": f"n{i % 50}",
                    "recipient_session": None if room else "s0",
                    "recipient_nickname": None if room else "n0",
                    "text": f"message {i}",
                    "blurred": False,
                    "created_at": now - count + i,
                    "expires_at": now + 3600,
                }
            )
    async with engine.begin() as conn:
        await conn.execute(messages.delete())
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(messages), rows[start : start + 5000])
    since = now - count - 10
    query = RECENT_IN_ROOM.params(room_id="general", since=since, limit=limit)
    dialect = sqlite.dialect() if url.startswith("sqlite") else postgresql.dialect()
    compiled = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN ANALYZE "
    async with engine.connect() as conn:
        if not url.startswith("sqlite"):
            await conn.execute(text("ANALYZE messages"))
        plan = [" ".join(str(c) for c in r) for r in await conn.execute(text(explain + compiled))]
    got = await store.recent_in_room("general", since, limit)
    assert len(got) == limit and got[-1].text == f"message {count - 1}", got[-1]
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(repeat):
        await store.recent_in_room("general", since, limit)
    cpu_ms = (time.process_time() - cpu) * 1000 / repeat
    wall_ms = (time.perf_counter() - wall) * 1000 / repeat
    await engine.dispose()
    return {
        "database": url.split(":", 1)[0],
        "visible_messages_in_room": count,
        "limit": limit,
        "plan": plan,
        "cpu_ms_per_query": round(cpu_ms, 3),
        "wall_ms_per_query": round(wall_ms, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"
        migrate(url)
        result = asyncio.run(run(url, args.messages, args.repeat, args.limit))
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
