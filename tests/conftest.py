"""Shared fixtures: real servers on free ports, real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from causerie.client import Client
from causerie.gateway.app import create_app
from causerie.node import Node
from causerie.settings import Settings

POSTGRES_URL = os.environ.get(
    "CAUSERIE_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the ``test`` database, dropped afterwards."""
    import asyncpg

    schema = f"t_{secrets.token_hex(6)}"
    dsn = POSTGRES_URL.replace("postgresql+asyncpg", "postgresql")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(run(f"CREATE SCHEMA {schema}"))
    except (OSError, asyncpg.PostgresError) as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is required for the store tests and is not reachable: {exc}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    asyncio.run(run(f"DROP SCHEMA {schema} CASCADE"))


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
        ws_max_size=max(1 << 20, settings.limits.max_frame_bytes * 4),
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


@pytest.fixture
def make_settings(sqlite_url: str) -> Callable[..., Settings]:
    def build(**sections: Any) -> Settings:
        sections.setdefault("database", {"url": sqlite_url})
        return Settings(**sections)

    return build


@pytest.fixture
async def server(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningServer]:
    async with run_server(make_settings()) as running:
        yield running
