"""Migrated databases for the store tests, SQLite and PostgreSQL alike.

Each backend is migrated once per run (``migrated_*`` in tests/conftest.py) and emptied before
each test; the migrations themselves are tested on fresh databases (``database_url``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.chat.rooms import load_catalogue
from causerie.store.database import create_engine
from causerie.store.rooms import RoomStore
from causerie.store.schema import metadata


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
