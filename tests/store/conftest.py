"""Migrated databases for the store tests, SQLite and PostgreSQL alike.

Migrating takes longer than most tests, so each backend is migrated once per run and emptied
before each test; the migrations themselves are tested on fresh databases (``database_url``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.chat.rooms import load_catalogue
from causerie.store.database import create_engine, migrate
from causerie.store.rooms import RoomStore
from causerie.store.schema import metadata
from tests.conftest import POSTGRES_URL


def _off_loop(function: Callable[..., object], *args: object) -> None:
    """Run blocking set-up that starts its own event loop, whether or not one is running here."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(function, *args).result()


def _postgres_schema(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _off_loop(asyncio.run, run())


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("store") / "causerie.db"
    url = f"sqlite+aiosqlite:///{path}"
    _off_loop(migrate, url)
    return url


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[str]:
    schema = f"t_{secrets.token_hex(6)}"
    try:
        _postgres_schema(f"CREATE SCHEMA {schema}")
    except OSError as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is required for the store tests and is not reachable: {exc}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    _off_loop(migrate, url)
    yield url
    _postgres_schema(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database with every table empty."""
    url = str(request.getfixturevalue(f"migrated_{request.param}"))
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(delete(table))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def catalogue_engine(engine: AsyncEngine) -> AsyncEngine:
    """The migrated database with the shipped rooms in it."""
    await RoomStore(engine).sync_catalogue(load_catalogue(None), 0.0)
    return engine
