"""kill -9 under load: every acknowledged message is in the database after a restart.

A child process runs a real node (SQLite, the group commit's writer threads, the retention
store) with ten chatters saying messages as fast as their acks come back, and prints each
acknowledged id. The test kills it with SIGKILL in the middle of that, then starts a node on
the same files: each printed id must be there, with its traffic record.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import textwrap
from pathlib import Path
from typing import Any

from causerie.node import Node
from causerie.settings import Settings

CHILD = textwrap.dedent(
    """
    import asyncio, json, secrets, sys
    from causerie.chat.hooks import Peer
    from causerie.node import Node
    from causerie.protocol import frames as f
    from causerie.settings import Settings

    class Outbox:
        def push(self, frame): pass
        def close(self, frame, reason): pass

    async def main():
        node = Node(Settings(**json.loads(sys.argv[1])))
        await node.start()
        room = next(r.id for r in await node.rooms.all() if r.audience == "all")

        async def chatter(i):
            peer = Peer(ip=f"10.9.0.{i + 1}", port=40000)
            enter = f.Enter(nickname=f"Durable{i}", age=30 + i, gender="woman",
                            postal_code="75011", device=secrets.token_urlsafe(24))
            session, _ = await node.chat.enter(enter, Outbox(), peer)
            await node.chat.join(session, [room])
            n = 0
            while True:
                ack = await node.chat.say(session, room, f"durable {i} v{n}", None, peer)
                # Acknowledged: what the chatter would now be told.
                sys.stdout.write(f"{ack.id}\\n")
                sys.stdout.flush()
                n += 1

        sys.stdout.write("ready\\n")
        sys.stdout.flush()
        await asyncio.gather(*(chatter(i) for i in range(10)))

    asyncio.run(main())
    """
)


def settings(directory: Path) -> dict[str, Any]:
    return {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"},
        "safety": {"enabled": False},
        "legal": {"keys_file": str(directory / "keys" / "retention.keys")},
    }


async def test_kill_9_under_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        json.dumps(settings(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert child.stdout is not None
    acknowledged: list[int] = []
    try:
        async with asyncio.timeout(60):
            assert (await child.stdout.readline()).strip() == b"ready"
            while len(acknowledged) < 300:
                line = await child.stdout.readline()
                assert line, "the node stopped by itself"
                acknowledged.append(int(line))
    finally:
        # In the middle of the load: commits in flight, callers waiting.
        child.send_signal(signal.SIGKILL)
        # Whatever was acknowledged before the kill landed is still in the pipe.
        rest, _ = await child.communicate()
    acknowledged.extend(int(line) for line in rest.split())
    assert child.returncode == -signal.SIGKILL
    assert len(set(acknowledged)) == len(acknowledged) >= 300

    node = Node(Settings(**settings(tmp_path)))
    await node.start()
    try:
        missing = [i for i in acknowledged if await node.messages.get(i) is None]
        assert missing == []
        traffic = await node.legal.stores.traffic.count()
    finally:
        await node.stop()
    # Each acknowledged message has its traffic record (plus the ten connections' openings).
    assert traffic >= len(acknowledged) + 10
    # The WAL was left as the kill left it, and the database still reads as consistent.
    with sqlite3.connect(tmp_path / "chat.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
