"""Safety fixtures: a pipeline on a migrated database (SQLite and PostgreSQL), a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.moderation.verdict import Author, Subject
from causerie.protocol.identity import age_band, nickname_key
from causerie.safety.pipeline import SafetyPipeline
from causerie.settings import SafetySettings
from causerie.store.database import create_engine
from causerie.store.presence import OnlineSession
from causerie.store.rooms import RoomRow
from causerie.store.safety import (
    SafetyStore,
    safety_decisions,
    safety_sanctions,
    safety_strikes,
)
from causerie.store.schema import review_events, review_history, review_items, review_jobs


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def safety_engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A migrated database with the safety tables and the review queue empty."""
    url = str(request.getfixturevalue(f"migrated_{request.param}"))
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in (
            safety_decisions,
            safety_strikes,
            safety_sanctions,
            review_events,
            review_history,
            review_jobs,
            review_items,
        ):
            await conn.execute(delete(table))
    try:
        yield engine
    finally:
        await engine.dispose()


@dataclass
class FakeClock:
    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(safety_engine: AsyncEngine) -> SafetyStore:
    return SafetyStore(safety_engine)


@pytest.fixture
def pipeline(store: SafetyStore, clock: FakeClock) -> SafetyPipeline:
    return SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, clock=clock, with_model=False
    )


@pytest.fixture
def rules_only() -> SafetyPipeline:
    """A pipeline with no database and no model: the pure decision path."""
    return SafetyPipeline.from_settings(SafetySettings(model=False), with_model=False)


def author(nickname: str = "Camille", age: int = 30) -> Author:
    return Author(
        session_id=f"s-{nickname}",
        nickname=nickname,
        key=nickname_key(nickname),
        age=age,
        band=age_band(age),
    )


def room(audience: str = "all", room_id: str = "general") -> RoomRow:
    return RoomRow(
        id=room_id,
        name=room_id.title(),
        name_key=room_id,
        kind="themed",
        audience=audience,
        region_code="",
        topic="",
        host_key=None,
        position=0,
    )


def online(nickname: str, age: int) -> OnlineSession:
    return OnlineSession(
        id=f"s-{nickname}",
        nickname=nickname,
        nickname_key=nickname_key(nickname),
        age=age,
        gender="woman",
        department="75",
        region_code="11",
        node_id="n",
    )


def say(text: str, *, by: Author | None = None, audience: str = "all") -> Subject:
    return Subject(kind="message", text=text, author=by or author(), room=room(audience))


def private(text: str, *, by: Author | None = None, to_age: int = 30) -> Subject:
    return Subject(
        kind="private", text=text, author=by or author(), recipient=online("Dominique", to_age)
    )
