"""Decisions through the chat core, in process: frames, sanctions, statements, overrides, audit,
the DSA export and the transparency figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import update

from causerie.console.dsa import BATCH, batches, to_dsa
from causerie.console.transparency import compute
from causerie.domain import JobStatus
from causerie.errors import ErrorCode
from causerie.moderation.actions import ModerationError
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key
from causerie.store.review import Source
from causerie.store.staff import Role, staff_audit
from causerie.store.statements import new_statement
from tests.console.conftest import Console

SCHEMA = json.loads((Path(__file__).parent / "dsa_schema.json").read_text())


async def _reported(console: Console) -> tuple[int, int]:
    """Bob says something in general; Alice reports it. (job id, message id)"""
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31)
    await alice.join("general")
    await bob.join("general")
    ack = await bob.say("general", "tu es vraiment nul, va-t'en")
    reported = await h.node.chat.report(alice.session, f"message:{ack.id}", "harassment", "", None)
    jobs = await console.parts.review.jobs(sources=[Source.REPORT])
    assert reported.report and len(jobs) == 1
    return jobs[0].id, ack.id


async def test_remove_and_warn_reach_the_room_and_the_author(console: Console) -> None:
    job_id, message_id = await _reported(console)
    alice, bob = console.harness.chatters
    mia = console.actor("mia", Role.MODERATOR)
    await console.parts.actions.claim(mia, job_id)
    outcome = await console.parts.actions.decide(mia, job_id, "remove", note="insult")
    assert outcome.removed == [message_id]
    assert await console.harness.node.messages.get(message_id) is None
    assert any(r.id == message_id for r in alice.received(f.Removed))
    statements = bob.received(f.StatementOfReasons)
    assert [s.decision for s in statements] == ["removed"]
    assert statements[0].content == f"message:{message_id}" and not statements[0].automated
    # The reporter hears the outcome of her report.
    assert "report_outcome" in [s.decision for s in alice.received(f.StatementOfReasons)]
    detail = await console.parts.review.job(job_id)
    assert detail is not None and detail.job.status is JobStatus.DECIDED
    assert detail.job.decided_by == "mia" and detail.job.action == "remove"


async def test_a_job_is_decided_once_by_its_claimer(console: Console) -> None:
    job_id, _ = await _reported(console)
    mia = console.actor("mia", Role.MODERATOR)
    max_ = console.actor("max", Role.MODERATOR)
    await console.parts.actions.claim(mia, job_id)
    with pytest.raises(ModerationError) as taken:
        await console.parts.actions.decide(max_, job_id, "warn")
    assert taken.value.code == "conflict"
    await console.parts.actions.decide(mia, job_id, "warn")
    with pytest.raises(ModerationError):
        await console.parts.actions.decide(mia, job_id, "warn")


async def test_a_mute_stops_the_author_and_a_reversed_appeal_lifts_it(console: Console) -> None:
    job_id, _ = await _reported(console)
    _alice, bob = console.harness.chatters
    mia = console.actor("mia", Role.MODERATOR)
    outcome = await console.parts.actions.decide(mia, job_id, "mute", minutes=30)
    (statement,) = [s for s in outcome.statements if s.decision == "muted"]
    assert statement.restriction_until == console.harness.clock() + 1800
    error = await bob.refused(bob.say("general", "hello again"))
    assert error.code == ErrorCode.MUTED
    await console.harness.node.chat.appeal(bob.session, statement.id, "it was a joke", None)
    with pytest.raises(ModerationError):
        await console.parts.actions.decide_appeal(mia, statement.id, "reversed")
    sam = console.actor("sam", Role.SENIOR)
    result = await console.parts.actions.decide_appeal(sam, statement.id, "reversed")
    assert result.decision == "appeal_outcome"
    assert "appeal_outcome" in [s.decision for s in bob.received(f.StatementOfReasons)]
    await bob.say("general", "hello again")
    assert not [
        j
        for j in await console.parts.review.jobs(status=JobStatus.OPEN)
        if j.source is Source.APPEAL
    ]


async def test_kick_and_ban_disconnect(console: Console) -> None:
    job_id, _ = await _reported(console)
    _alice, bob = console.harness.chatters
    sam = console.actor("sam", Role.SENIOR)
    await console.parts.actions.decide(sam, job_id, "ban", minutes=60)
    assert bob.outbox.closed is not None and bob.outbox.closed[0].code == ErrorCode.BANNED
    bans = await console.parts.safety.active_sanctions(console.harness.clock(), "bob")
    assert [b.kind for b in bans] == ["ban"] and bans[0].ends_at < math.inf


async def test_dismissing_a_refusal_is_a_labelled_example(console: Console) -> None:
    job_id = await console.job(source=Source.RULES, text="je vends mon vélo", kind="escalate")
    mia = console.actor("mia", Role.MODERATOR)
    outcome = await console.parts.actions.decide(mia, job_id, "dismiss")
    assert outcome.override and not outcome.statements
    (line,) = console.overrides.read_text().splitlines()
    example = json.loads(line)
    assert example["text"] == "je vends mon vélo" and example["label"] == "allowed"
    assert example["source"] == "rules" and example["category"] == "harassment"


async def test_releasing_a_held_message_publishes_it(console: Console) -> None:
    h = console.harness
    alice = await h.enter("Alice", 30)
    await alice.join("general")
    job_id = await console.job(
        source=Source.HOLD, kind="hold", text="rdv ce soir ?", room_id="general", author="Bob"
    )
    mia = console.actor("mia", Role.MODERATOR)
    outcome = await console.parts.actions.decide(mia, job_id, "release")
    assert outcome.released is not None
    assert [m.text for m in alice.received(f.RoomMessage)] == ["rdv ce soir ?"]


async def test_bulk_removes_and_mutes_everyone_who_wrote_the_phrase(console: Console) -> None:
    h = console.harness
    reader = await h.enter("Reader", 30)
    await reader.join("general")
    raiders = [await h.enter(f"Raider{i}", 25) for i in range(3)]
    for raider in raiders:
        await raider.join("general")
        await raider.say("general", "Les poissons volent CE SOIR tous ensemble")
    sam = console.actor("sam", Role.SENIOR)
    with pytest.raises(ModerationError):
        await console.parts.actions.bulk(console.actor("mia", Role.MODERATOR), "poissons volent")
    outcome = await console.parts.actions.bulk(sam, "POISSONS  volent ce soir", minutes=10)
    assert len(outcome.removed) == 3 and len(outcome.authors) == 3
    assert len(reader.received(f.Removed)) == 3
    error = await raiders[0].refused(raiders[0].say("general", "hi"))
    assert error.code == ErrorCode.MUTED


async def test_trusted_flaggers_are_marked_by_senior_staff(console: Console) -> None:
    with pytest.raises(ModerationError):
        await console.parts.actions.mark_trusted(console.actor("mia", Role.MODERATOR), "alice")
    await console.parts.actions.mark_trusted(console.actor("sam", Role.SENIOR), "Alice")
    assert await console.parts.reports.is_trusted(nickname_key("Alice"))


async def test_the_audit_chain_verifies_and_shows_an_edit(console: Console) -> None:
    job_id, _ = await _reported(console)
    await console.parts.actions.decide(console.actor("mia", Role.MODERATOR), job_id, "warn")
    report = await console.parts.audit.verify()
    assert report.ok and report.entries >= 1
    async with console.harness.node.engine.begin() as conn:
        await conn.execute(update(staff_audit).where(staff_audit.c.seq == 1).values(actor="eve"))
    broken = await console.parts.audit.verify()
    assert not broken.ok and "entry 1 was altered" in broken.problems


def _statement(decision: str, i: int, **extra: object) -> object:
    values: dict[str, object] = {
        "subject_key": f"user{i}",
        "decision": decision,
        "category": ["harassment", "child_safety", "spam", "other"][i % 4],
        "ground": "illegal" if i % 4 == 1 else "incompatible",
        "ground_text": "Terms of service",
        "facts": "A message broke the rules.",
        "content_type": ["text", "account"][i % 2],
        "application_date": 1_750_000_000.0 + i,
        "automated_detection": i % 3 == 0,
        "automated_decision": i % 5 == 0,
        "decided_by": None if i % 5 == 0 else "mia",
        "job_id": i,
        "content_date": 1_749_999_000.0,
        "restriction_until": 1_750_100_000.0,
    }
    values.update(extra)
    return new_statement(**values)


DECISIONS = ["removed", "warned", "muted", "kicked", "suspended", "banned", "blocked"]


async def test_the_dsa_export_validates_in_batches_of_at_most_100(console: Console) -> None:
    store = console.parts.statements
    for i in range(250):
        await store.issue(_statement(DECISIONS[i % len(DECISIONS)], i))  # type: ignore[arg-type]
    await store.issue(_statement("report_outcome", 999))  # type: ignore[arg-type]

    async def page(after: str | None) -> list:  # type: ignore[type-arg]
        return await store.since(0.0, limit=37, after_id=after)

    sizes: list[int] = []
    puids: set[str] = set()
    validator = jsonschema.Draft202012Validator(SCHEMA)
    async for batch in batches(page):
        sizes.append(len(batch))
        for entry in batch:
            validator.validate(entry)
            puids.add(entry["puid"])
            assert "user" not in json.dumps(entry) and "mia" not in json.dumps(entry)
    assert sizes == [BATCH, BATCH, 50] and len(puids) == 250


def test_every_decision_maps_into_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for i, decision in enumerate(DECISIONS * 4):
        validator.validate(to_dsa(_statement(decision, i)))  # type: ignore[arg-type]


async def test_the_transparency_report_is_computed_from_the_decisions(console: Console) -> None:
    job_id, _ = await _reported(console)
    console.harness.clock.advance(120)
    mia = console.actor("mia", Role.MODERATOR)
    outcome = await console.parts.actions.decide(mia, job_id, "remove")
    removed = next(s for s in outcome.statements if s.decision == "removed")
    _alice, bob = console.harness.chatters
    await console.harness.node.chat.appeal(bob.session, removed.id, "no", None)
    await console.parts.actions.decide_appeal(
        console.actor("sam", Role.SENIOR), removed.id, "upheld"
    )
    await console.parts.actions.mark_trusted(console.actor("sam", Role.SENIOR), "Alice")
    report = await compute(
        console.parts.review,
        console.parts.statements,
        console.parts.reports,
        since=0,
        until=console.harness.clock() + 1,
        is_trusted=console.parts.reports.is_trusted,
    )
    assert report.notices_by_source["report"] == 1
    assert report.trusted_flagger_notices == 1 and report.trusted_flaggers == 1
    assert report.median_seconds_to_action == 120
    assert report.appeals == 1 and report.appeals_upheld == 1 and report.appeals_reversed == 0
    assert report.automated_decision_share == 0.0
    assert "section,key,value" in report.csv()
