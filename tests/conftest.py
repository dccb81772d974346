"""Shared fixtures: real servers on free ports, real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from causerie.client import Client, Joined
from causerie.gateway.app import create_app
from causerie.gateway.websocket import ChatWebSocketProtocol
from causerie.node import Node
from causerie.settings import Settings
from causerie.store.database import migrate

POSTGRES_URL = os.environ.get(
    "CAUSERIE_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

# The suite decides on rules, the n-gram model and the fence: the semantic stage (the model on a
# real site) is tested by tests/safety_model and tests/safety, and measured by
# scripts/evaluate_safety.py; loading its encoder in every server process the suite starts would
# cost minutes, and the n-gram model (off by default since the semantic heads were retrained) is
# the cheap stand-in that keeps the model stage on the suite's path. Set here, so that servers
# started as subprocesses inherit it; a test that passes safety settings explicitly still wins.
os.environ.setdefault("CAUSERIE_SAFETY__SEMANTIC", "false")
os.environ.setdefault("CAUSERIE_SAFETY__MODEL", "true")
# Moderators' overrides written by the suite's servers stay out of the repository's data/.
os.environ.setdefault(
    "CAUSERIE_SAFETY__OVERRIDES_FILE",
    str(Path(tempfile.gettempdir()) / f"causerie-test-overrides-{os.getpid()}.jsonl"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"


def off_loop(function: Callable[..., object], *args: object) -> None:
    """Run blocking set-up that starts its own event loop, whether or not one is running here."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(function, *args).result()


def postgres_sql(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    off_loop(asyncio.run, run())


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh schema in the ``test`` database, dropped afterwards."""
    import asyncpg

    schema = f"t_{secrets.token_hex(6)}"
    try:
        postgres_sql(f"CREATE SCHEMA {schema}")
    except (OSError, asyncpg.PostgresError) as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable: {exc}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        postgres_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


# Migrating takes longer than most tests: the repository tests share one migrated database per
# backend for the whole run and empty the tables they use before each test.
@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("migrated") / "causerie.db"
    url = f"sqlite+aiosqlite:///{path}"
    off_loop(migrate, url)
    return url


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[str]:
    with postgres_schema() as url:
        off_loop(migrate, url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@dataclass
class RunningServer:
    url: str
    http: str
    node: Node
    settings: Settings

    def client(self, **kwargs: Any) -> Client:
        return Client(self.url, **kwargs)


@contextlib.asynccontextmanager
async def run_server(settings: Settings, node: Node | None = None) -> AsyncIterator[RunningServer]:
    port = free_port()
    node = node or Node(settings)
    app = create_app(settings, node)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws=ChatWebSocketProtocol,  # what `causerie serve` runs (gateway/server.py)
        ws_max_size=settings.websocket_max_bytes,
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.01)
    try:
        yield RunningServer(
            url=f"ws://127.0.0.1:{port}/ws",
            http=f"http://127.0.0.1:{port}",
            node=node,
            settings=settings,
        )
    finally:
        server.should_exit = True
        await task


async def adults_in_general(
    server: RunningServer, stack: contextlib.AsyncExitStack, names: Iterable[str]
) -> list[tuple[Client, Joined]]:
    """Adults aged 30, 31... under ``names``, each on a client of its own kept open by ``stack``,
    enter and join "general": each client with its ``joined`` reply, in order."""
    replies = []
    for i, name in enumerate(names):
        client = await stack.enter_async_context(server.client())
        await client.enter(name, 30 + i, "woman", "75011")
        (joined,) = await client.join("general")
        replies.append((client, joined))
    return replies


@pytest.fixture
def make_settings(sqlite_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def build(**sections: Any) -> Settings:
        sections.setdefault("database", {"url": sqlite_url})
        # Each test's own retention key, never the one in the home directory.
        legal = sections.setdefault("legal", {})
        if isinstance(legal, dict):
            legal.setdefault("keys_file", str(tmp_path / "keys" / "causerie-retention.keys"))
        return Settings(**sections)

    return build


@pytest.fixture
async def server(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningServer]:
    async with run_server(make_settings()) as running:
        yield running
