"""The protection of minors' tables, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from causerie.domain import Category, JobStatus, ReviewQueue
from causerie.store.database import create_engine, migrate
from causerie.store.messages import MessageStore
from causerie.store.review import ReviewStore, Source
from causerie.store.trust import (
    EscalationRequest,
    History,
    NewIncident,
    Offender,
    TrustStore,
    trust_metadata,
)

ADULT = Offender(session="s1", nickname="Marc", key="marc", band="18+")


def _differences(connection: Connection) -> list[object]:
    # Other capabilities share the database: only differences about our tables count.
    return [
        diff
        for diff in compare_metadata(MigrationContext.configure(connection), trust_metadata)
        if "trust_" in repr(diff) and not (isinstance(diff, tuple) and diff[0] == "remove_table")
    ]


def _incident(text: str) -> NewIncident:
    return NewIncident("message", "refused", ("meeting",), ADULT, "general", text)


async def test_trust_tables_migrate_and_keep_what_they_must(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
        store = TrustStore(engine)
        messages = MessageStore(engine)
        for text in ("premier", "second"):
            await messages.add(
                room_id="general",
                sender_session="s1",
                sender_nickname="Marc",
                text=text,
                created_at=1.0,
                expires_at=2.0,
            )

        # Remembered ages: the youngest and the latest expiry win; expired ones are ignored.
        await store.remember_age(["k1"], 15, 100.0)
        await store.remember_age(["k1"], 17, 200.0)
        assert await store.remembered_ages(["k1", "k2"], 150.0) == {"k1": 15}
        assert await store.remembered_ages(["k1"], 250.0) == {}

        # A token is good once.
        assert await store.use_age_token("nonce-hash", 100.0)
        assert not await store.use_age_token("nonce-hash", 100.0)

        # An unescalated incident, then an escalation that takes it up with the room's history.
        first = await store.record("room:general:marc", score=2.0, at=10.0, incident=_incident("a"))
        assert first.escalation_id is None and not first.frozen
        request = EscalationRequest(
            "contact_attempt", "reason", ADULT, "general", ("meeting",), History(room_id="general")
        )
        second = await store.record(
            "room:general:marc",
            score=12.0,
            at=11.0,
            incident=_incident("b"),
            escalate=request,
            freeze=True,
        )
        assert second.opened and second.frozen and second.escalation_id is not None
        third = await store.record(
            "room:general:marc", score=12.0, at=12.0, incident=_incident("c"), escalate=request
        )
        assert not third.opened and third.escalation_id == second.escalation_id
        (escalation,) = await store.escalations()
        assert [i.escalation_id for i in await store.incidents()] == [escalation.id] * 3
        assert [m.text for m in await store.preserved(escalation.id)] == ["premier", "second"]
        state = await store.conversation("room:general:marc")
        assert state is not None and state.frozen_at == 11.0
        # The escalation is a job of the one review queue, child safety first.
        (job,) = await ReviewStore(engine).jobs()
        assert (job.id, job.queue, job.priority, job.category, job.source) == (
            escalation.id,
            ReviewQueue.CHILD_SAFETY,
            0,
            Category.CHILD_SAFETY,
            Source.FREEZE,
        )
        assert job.signals == 2 and job.item.conversation_key == "room:general:marc"

        # The purge keeps escalated incidents and frozen conversations, forgets the rest.
        await store.record("room:musique:marc", score=1.0, at=10.0, incident=_incident("d"))
        await store.purge(1_000.0, incidents_before=500.0, quiet_before=500.0)
        assert [i.text for i in await store.incidents()] == ["a", "b", "c"]
        assert await store.conversation("room:musique:marc") is None
        assert await store.conversation("room:general:marc") is not None

        # A moderator's release unfreezes the conversation and closes the escalation.
        await store.release("room:general:marc", status="closed", at=2_000.0)
        state = await store.conversation("room:general:marc")
        assert state is not None and state.frozen_at is None and state.escalation_id is None
        assert [e.status for e in await store.escalations()] == ["closed"]
        (closed,) = await ReviewStore(engine).jobs(status=JobStatus.DECIDED)
        assert (closed.action, closed.decided_at) == ("closed", 2_000.0)
    finally:
        await engine.dispose()
