"""The one review queue, on SQLite and PostgreSQL: enqueueing, claims, decisions, counts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.cli.main import main
from causerie.domain import AgeBand, Category, ConversationKey, JobStatus, ReviewQueue
from causerie.store.database import create_engine, migrate
from causerie.store.review import (
    HistoryMessage,
    ItemKind,
    NewEvent,
    NewItem,
    NewJob,
    ReviewStore,
    Source,
    priority_of,
    queue_of,
)

NOW = 1_750_000_000.0


def item(key: str, text: str = "texte", **fields: object) -> NewItem:
    values: dict[str, object] = {
        "kind": ItemKind.MESSAGE,
        "key": key,
        "author_key": "marc",
        "author_nickname": "Marc",
        "text": text,
        "room_id": "general",
    }
    values.update(fields)
    return NewItem(**values)  # type: ignore[arg-type]


def job(category: Category | None, source: Source = Source.RULES, kind: str = "escalate") -> NewJob:
    return NewJob.for_category(category, source=source, kind=kind, reason=f"{kind} {category}")


async def test_enqueue_keeps_one_waiting_job_per_item_and_raises_its_priority(
    engine: AsyncEngine,
) -> None:
    store = ReviewStore(engine)
    key = ConversationKey.room("general", "marc")
    conversation = item(
        key,
        kind=ItemKind.CONVERSATION,
        conversation_key=key,
        author_band=AgeBand.ADULT,
        signals=("meeting", "link"),
    )
    first = await store.enqueue(conversation, job(Category.OFF_PLATFORM), now=NOW)
    assert first.opened
    second = await store.enqueue(conversation, job(Category.SPAM), now=NOW + 1)
    assert (second.opened, second.job_id, second.item_id) == (False, first.job_id, first.item_id)
    (waiting,) = await store.jobs()
    assert (waiting.queue, waiting.priority, waiting.signals) == (ReviewQueue.GENERAL, 3, 2)

    # A child-safety signal moves the job to the child-safety queue, at the top.
    third = await store.enqueue(conversation, job(Category.CHILD_SAFETY), now=NOW + 2)
    assert not third.opened
    (waiting,) = await store.jobs()
    assert (waiting.queue, waiting.priority, waiting.category, waiting.signals) == (
        ReviewQueue.CHILD_SAFETY,
        0,
        Category.CHILD_SAFETY,
        3,
    )
    assert waiting.created_at == NOW and waiting.updated_at == NOW + 2
    assert waiting.item.kind is ItemKind.CONVERSATION
    assert waiting.item.conversation_key == key and waiting.item.author_band is AgeBand.ADULT
    assert waiting.item.signals == ("link", "meeting")

    # Once decided, the next signal about the same item opens a new job.
    assert await store.claim(first.job_id, "alice", now=NOW + 3, ttl_seconds=60)
    assert await store.decide(first.job_id, "alice", "dismiss", "rien", now=NOW + 4)
    fourth = await store.enqueue(conversation, job(Category.SPAM), now=NOW + 5)
    assert fourth.opened and fourth.job_id != first.job_id


async def test_jobs_come_child_safety_first_then_oldest_first(engine: AsyncEngine) -> None:
    store = ReviewStore(engine)
    order = [
        (Category.SPAM, "spam"),
        (Category.DRUGS, "drugs"),
        (Category.CHILD_SAFETY, "child"),
        (Category.VIOLENCE, "violence"),
        (Category.HARASSMENT, "harassment"),
        (Category.CHILD_SAFETY, "child later"),
        (None, "uncategorised"),
    ]
    for offset, (category, text) in enumerate(order):
        await store.enqueue(item(f"decision:{offset}", text), job(category), now=NOW + offset)
    jobs = await store.jobs()
    assert [j.item.text for j in jobs] == [
        "child",
        "child later",
        "violence",
        "drugs",
        "harassment",
        "spam",
        "uncategorised",
    ]
    assert [j.priority for j in jobs] == [0, 0, 1, 2, 3, 4, 4]
    assert [j.queue for j in jobs[:3]] == [
        ReviewQueue.CHILD_SAFETY,
        ReviewQueue.CHILD_SAFETY,
        ReviewQueue.VIOLENCE,
    ]
    assert {j.queue for j in jobs[3:]} == {ReviewQueue.GENERAL}
    assert priority_of(Category.WEAPONS) == priority_of(Category.SOLICITATION) == 2
    assert queue_of(None) is ReviewQueue.GENERAL

    # Filters: by queue, by category, by status.
    general = await store.jobs(queue=ReviewQueue.GENERAL)
    assert [j.item.text for j in general] == ["drugs", "harassment", "spam", "uncategorised"]
    assert [j.item.text for j in await store.jobs(category=Category.VIOLENCE)] == ["violence"]
    assert await store.jobs(status=JobStatus.DECIDED) == []

    # A reviewer who may see the general queue only never gets a child-safety job.
    taken = await store.next_job("bob", [ReviewQueue.GENERAL], now=NOW + 10, ttl_seconds=60)
    assert taken is not None and taken.item.text == "drugs"
    assert taken.status is JobStatus.CLAIMED and taken.claimed_by == "bob"
    taken = await store.next_job(
        "carol", [ReviewQueue.CHILD_SAFETY, ReviewQueue.GENERAL], now=NOW + 10, ttl_seconds=60
    )
    assert taken is not None and taken.item.text == "child"
    assert await store.next_job("dave", [ReviewQueue.APPEALS], now=NOW, ttl_seconds=60) is None


async def test_two_concurrent_claims_one_wins(engine: AsyncEngine) -> None:
    store = ReviewStore(engine)
    enqueued = await store.enqueue(item("decision:a"), job(Category.CHILD_SAFETY), now=NOW)
    for round_ in range(5):
        results = await asyncio.gather(
            store.claim(enqueued.job_id, f"alice{round_}", now=NOW + round_ * 100, ttl_seconds=50),
            store.claim(enqueued.job_id, f"bob{round_}", now=NOW + round_ * 100, ttl_seconds=50),
        )
        assert sorted(results) == [False, True]
        (claimed,) = await store.jobs()
        winner = f"alice{round_}" if results[0] else f"bob{round_}"
        assert claimed.claimed_by == winner and claimed.status is JobStatus.CLAIMED


async def test_two_reviewers_asking_for_the_next_job_get_different_ones(
    engine: AsyncEngine,
) -> None:
    store = ReviewStore(engine)
    for n in range(2):
        await store.enqueue(item(f"decision:{n}", f"t{n}"), job(Category.VIOLENCE), now=NOW + n)
    first, second = await asyncio.gather(
        store.next_job("alice", [ReviewQueue.VIOLENCE], now=NOW + 5, ttl_seconds=60),
        store.next_job("bob", [ReviewQueue.VIOLENCE], now=NOW + 5, ttl_seconds=60),
    )
    assert first is not None and second is not None
    assert {first.item.text, second.item.text} == {"t0", "t1"}
    assert await store.next_job("carol", [ReviewQueue.VIOLENCE], now=NOW + 5) is None


async def test_a_claim_expires_and_only_the_claimer_decides(engine: AsyncEngine) -> None:
    store = ReviewStore(engine)
    job_id = (await store.enqueue(item("decision:x"), job(Category.DRUGS), now=NOW)).job_id
    assert await store.claim(job_id, "alice", now=NOW, ttl_seconds=60)
    assert not await store.claim(job_id, "bob", now=NOW + 59, ttl_seconds=60)
    # The claimer renews; someone else only once the claim has expired.
    assert await store.claim(job_id, "alice", now=NOW + 30, ttl_seconds=60)
    assert not await store.claim(job_id, "bob", now=NOW + 80, ttl_seconds=60)
    assert not await store.decide(job_id, "bob", "remove", now=NOW + 85)
    assert await store.claim(job_id, "bob", now=NOW + 90, ttl_seconds=60)
    # Alice's lock has gone: she can neither decide nor release it any more.
    assert not await store.decide(job_id, "alice", "remove", now=NOW + 91)
    assert not await store.release_claim(job_id, "alice")
    assert await store.release_claim(job_id, "bob")
    (released,) = await store.jobs()
    assert released.status is JobStatus.OPEN and released.claimed_by is None

    # An open job cannot be decided without a claim.
    assert not await store.decide(job_id, "bob", "remove", now=NOW + 92)
    assert await store.claim(job_id, "bob", now=NOW + 93, ttl_seconds=60)
    assert await store.decide(job_id, "bob", "remove", "vente de drogue", now=NOW + 94)
    (decided,) = await store.jobs()
    assert decided.status is JobStatus.DECIDED
    assert (decided.decided_by, decided.action, decided.note, decided.decided_at) == (
        "bob",
        "remove",
        "vente de drogue",
        NOW + 94,
    )
    # A decided job is no one's to claim or decide again.
    assert not await store.claim(job_id, "carol", now=NOW + 10_000, ttl_seconds=60)
    assert not await store.decide(job_id, "bob", "ban", now=NOW + 95)


async def test_counts_by_queue_and_status(engine: AsyncEngine) -> None:
    store = ReviewStore(engine)
    ids = [
        (await store.enqueue(item(f"decision:{n}"), job(category), now=NOW + n)).job_id
        for n, category in enumerate(
            [Category.CHILD_SAFETY, Category.CHILD_SAFETY, Category.SPAM, Category.VIOLENCE]
        )
    ]
    assert await store.claim(ids[0], "alice", now=NOW, ttl_seconds=60)
    assert await store.claim(ids[2], "alice", now=NOW, ttl_seconds=60)
    assert await store.decide(ids[2], "alice", "dismiss", now=NOW + 1)
    counts = await store.counts()
    assert counts[ReviewQueue.CHILD_SAFETY] == {
        JobStatus.OPEN: 1,
        JobStatus.CLAIMED: 1,
        JobStatus.DECIDED: 0,
    }
    assert counts[ReviewQueue.GENERAL][JobStatus.DECIDED] == 1
    assert counts[ReviewQueue.VIOLENCE][JobStatus.OPEN] == 1
    assert sum(counts[ReviewQueue.APPEALS].values()) == 0


async def test_a_job_reads_with_its_item_events_and_frozen_history(engine: AsyncEngine) -> None:
    store = ReviewStore(engine)
    key = ConversationKey.pair("lea", "marc")

    def attempt(text: str) -> NewEvent:
        return NewEvent(
            key, "private_attempt", "refused", "s1", "Marc", "marc", "18+", "@Lea", text
        )

    await store.add_event(attempt("avant"), at=NOW)
    history = [
        HistoryMessage(1, None, "Marc", "Lea", "salut", NOW - 10),
        HistoryMessage(2, None, "Lea", "Marc", "bonjour", NOW - 5),
    ]
    enqueued = await store.enqueue(
        item(key, kind=ItemKind.CONVERSATION, conversation_key=key, room_id=None, place="@Lea"),
        job(Category.CHILD_SAFETY, Source.FREEZE, "grooming"),
        now=NOW + 1,
        history=history,
    )
    assert await store.attach_events(key, enqueued.item_id) == 1
    await store.add_event(attempt("pendant"), at=NOW + 2, item_id=enqueued.item_id)
    await store.add_event(attempt("seul"), at=NOW + 3)
    await store.set_evidence_ref(enqueued.job_id, "trust-escalation-1")

    detail = await store.job(enqueued.job_id)
    assert detail is not None
    assert detail.item.evidence_ref == "trust-escalation-1" and detail.item.place == "@Lea"
    assert detail.job.source is Source.FREEZE and detail.job.kind == "grooming"
    assert [e.text for e in detail.events] == ["avant", "pendant"]
    assert {e.job_id for e in detail.events} == {enqueued.job_id}
    assert detail.history == history
    assert await store.job(enqueued.job_id + 1000) is None

    # Events no job took up go once their window has passed; the others stay.
    assert await store.purge_events(NOW + 10) == 1
    assert [e.text for e in await store.events(conversation_key=key)] == ["avant", "pendant"]


def test_policy_queue_lists_the_one_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"
    migrate(url)

    async def fill() -> None:
        engine = create_engine(url)
        try:
            store = ReviewStore(engine)
            await store.enqueue(item("decision:1", "achetez"), job(Category.SPAM), now=NOW)
            key = ConversationKey.room("general", "marc")
            await store.enqueue(
                item(key, "", kind=ItemKind.CONVERSATION, conversation_key=key),
                job(Category.CHILD_SAFETY, Source.FREEZE, "grooming"),
                now=NOW + 1,
            )
            decided = await store.enqueue(item("decision:2"), job(Category.DRUGS), now=NOW + 2)
            assert await store.claim(decided.job_id, "alice", now=NOW + 3, ttl_seconds=60)
            assert await store.decide(decided.job_id, "alice", "remove", now=NOW + 4)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    config = tmp_path / "causerie.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    assert main(["--config", str(config), "policy", "queue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "p0 child_safety" in lines[0] and "freeze/grooming" in lines[0]
    assert "p4 general" in lines[1] and "'achetez'" in lines[1]

    assert main(["--config", str(config), "policy", "queue", "--json", "--status", "decided"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (decided,) = listed["jobs"]
    assert (decided["status"], decided["decided_by"], decided["action"]) == (
        "decided",
        "alice",
        "remove",
    )
    assert decided["item"]["author_nickname"] == "Marc" and decided["category"] == "drugs"
    assert listed["counts"]["child_safety"] == {"open": 1, "claimed": 0, "decided": 0}
    assert listed["counts"]["general"]["decided"] == 1

    assert main(["--config", str(config), "policy", "queue", "--queue", "general", "--json"]) == 0
    assert [j["item"]["text"] for j in json.loads(capsys.readouterr().out)["jobs"]] == ["achetez"]
