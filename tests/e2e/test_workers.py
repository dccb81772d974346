"""``causerie serve --workers 2``: two processes on one port, one bus, one database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from causerie.cli.serve import workers_refused
from causerie.client import Client, PrivateMessage
from causerie.settings import Settings
from causerie.store.database import create_engine
from causerie.store.schema import nodes as node_table
from causerie.store.schema import online_sessions
from tests.conftest import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.broker]


def test_more_than_one_worker_needs_a_shared_bus_and_database() -> None:
    settings = Settings()
    refused = workers_refused(settings, 2)
    assert refused is not None
    assert "redis or nats" in refused and "PostgreSQL" in refused
    assert workers_refused(settings, 1) is None


def test_serve_refuses_workers_on_the_memory_bus(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")}
    env["CAUSERIE_DATABASE__URL"] = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "causerie.cli.main", "serve", "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--workers 2 needs a cross-process bus" in done.stderr


@pytest.fixture
def two_workers(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")}
    env |= {
        "CAUSERIE_DATABASE__URL": postgres_url,
        "CAUSERIE_BUS__BACKEND": "redis",
        "CAUSERIE_BUS__URL": "redis://127.0.0.1:6379/0",
        "CAUSERIE_BUS__CHANNEL": f"causerie.test.{secrets.token_hex(4)}",
        "CAUSERIE_SERVER__NODE_ID": "box",
    }
    command = [sys.executable, "-m", "causerie.cli.main", "serve", "--workers", "2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 90
        ready = 0
        while ready < 2:  # both workers answer (a few tries land on each)
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                ready += 1
            time.sleep(0.3)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "Juliett"]
NAMES += ["Kilo", "Mike", "November"]


@contextlib.asynccontextmanager
async def chatters(url: str, count: int) -> AsyncIterator[list[tuple[Client, str]]]:
    async with contextlib.AsyncExitStack() as stack:
        entered = []
        for i in range(count):
            client = await stack.enter_async_context(Client(url))
            welcome = await client.enter(NAMES[i], 30, "other", "69001")
            entered.append((client, welcome.session))
        yield entered


async def test_a_private_message_crosses_workers(two_workers: str, postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        # Each worker registers its node before it serves; /healthz may have reached one only.
        for _ in range(300):
            async with engine.connect() as conn:
                started = set((await conn.execute(select(node_table.c.id))).scalars())
            if started >= {"box-w1", "box-w2"}:
                break
            await asyncio.sleep(0.1)
        assert started >= {"box-w1", "box-w2"}, started
        async with chatters(two_workers, 12) as people:
            async with engine.connect() as conn:
                rows = await conn.execute(select(online_sessions.c.id, online_sessions.c.node_id))
                node_of = {row.id: row.node_id for row in rows}
            nodes = {node_of[session] for _, session in people}
            # 12 connections over two SO_REUSEPORT sockets: all on one worker is 1 in 2,048.
            assert nodes == {"box-w1", "box-w2"}, node_of
            sender, sender_session = people[0]
            me = next(i for i, (_, s) in enumerate(people) if node_of[s] != node_of[sender_session])
            receiver = people[me][0]
            await sender.send_private(NAMES[me], "bonjour de l'autre processus")
            message = await receiver.next_event(PrivateMessage, within=10)
            assert message.text == "bonjour de l'autre processus"
            assert message.sender == NAMES[0]
    finally:
        await engine.dispose()
