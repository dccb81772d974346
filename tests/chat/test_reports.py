"""Reports, statements of reasons and appeals in-process: one real node, no sockets, no sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from causerie.chat.reports import REPORTS_PER_HOUR, person_item_key
from causerie.domain import ReviewQueue
from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.store.review import Job, JobDetail, Source
from causerie.store.statements import APPEAL_SECONDS, StatementError, new_statement
from tests.harness import Chatter, Harness, harness


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as running:
        yield running


async def _report(chatter: Chatter, target: str, reason: str = "harassment", **kw: str) -> str:
    reply = await chatter.node.chat.report(
        chatter.session, target, reason, kw.get("details", ""), None
    )
    return reply.report


async def _jobs(site: Harness, source: Source = Source.REPORT) -> list[Job]:
    return await site.node.chat.reports.store.review.jobs(sources=[source])


async def _detail(site: Harness, job_id: int) -> JobDetail:
    detail = await site.node.chat.reports.store.review.job(job_id)
    assert detail is not None
    return detail


async def _two_in_general(site: Harness) -> tuple[Chatter, Chatter]:
    alice = await site.enter("Alice", 30)
    bob = await site.enter("Bob", 41, gender="man")
    await alice.join("general")
    await bob.join("general")
    return alice, bob


# -- each kind of target -----------------------------------------------------------------------


async def test_a_room_message_is_reported_with_the_twenty_messages_around_it(
    site: Harness,
) -> None:
    alice, bob = await _two_in_general(site)
    ids = []
    for n in range(30):
        speaker = bob if n % 2 else alice
        ids.append((await speaker.say("general", f"message numéro {n}")).id)
    reported = ids[15]
    report_id = await _report(alice, f"message:{reported}", details="il m'insulte")
    assert len(report_id) == 32
    (job,) = await _jobs(site)
    assert job.item.key == person_item_key("bob")
    assert job.item.content_id == f"m{reported}"
    assert job.item.text == "message numéro 15"
    assert job.queue is ReviewQueue.GENERAL and job.source is Source.REPORT
    history = (await _detail(site, job.id)).history
    # The message and ten on each side, oldest first: frozen even after the room forgets them.
    assert [m.message_id for m in history] == ids[5:26]
    (reporter,) = await site.node.chat.reports.store.reporters_of(job.id)
    assert reporter.report_id == report_id and reporter.reporter_key == alice.session.key
    assert reporter.session_id == alice.session.id and reporter.reason == "harassment"


async def test_a_private_message_only_by_those_who_sent_or_received_it(site: Harness) -> None:
    alice = await site.enter("Alice", 30)
    bob = await site.enter("Bob", 41, gender="man")
    carol = await site.enter("Carol", 35)
    ack = await bob.send_private("Alice", "réponds-moi")
    await _report(alice, f"private:{ack.id}")
    refused = await carol.refused(_report(carol, f"private:{ack.id}"))
    assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND
    # A private message is not a room message, whatever the id says.
    refused = await alice.refused(_report(alice, f"message:{ack.id}"))
    assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND
    (job,) = await _jobs(site)
    assert job.item.content_id == f"m{ack.id}" and job.item.recipient_key == alice.session.key


async def test_a_person_online_a_room_a_topic(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    await bob.say("general", "salut")
    await _report(alice, "person:BOB", "spam")
    await _report(alice, "room:general", "other")
    await _report(alice, "topic:general", "other")
    jobs = {job.item.key: job for job in await _jobs(site)}
    assert set(jobs) == {person_item_key("bob"), "report:room:general", "report:topic:general"}
    person = jobs[person_item_key("bob")]
    assert person.item.author_nickname == "Bob"
    assert [m.text for m in (await _detail(site, person.id)).history] == ["salut"]
    assert jobs["report:room:general"].category is None


async def test_an_offline_author_of_a_message_the_reporter_saw(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    await bob.say("general", "je pars")
    await site.node.chat.exit(bob.session)
    await _report(alice, "person:Bob")
    refused = await alice.refused(_report(alice, "person:Nobody"))
    assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND


async def test_what_the_reporter_could_not_see_is_refused(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    teen = await site.enter("Lea", 15)
    adult_ack = await bob.say("general", "bonjour")
    await teen.join("ados")
    teen_ack = await teen.say("ados", "coucou")
    for target in (
        f"message:{teen_ack.id}",  # a teen room: never readable by an adult
        "person:Lea",  # the other side of the age line, and nothing of hers seen
        "room:ados",
        "message:999999",
        "room:nowhere",
        "photo:nothing",
    ):
        refused = await alice.refused(_report(alice, target))
        assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND, target
    # A message of a room the reporter is not in but could read (its visible history).
    carol = await site.enter("Carol", 30)
    await _report(carol, f"message:{adult_ack.id}")
    # Much later, outside the visible window, it is no longer theirs to see.
    site.clock.advance(site.node.settings.chat.visible_hours * 3600 + 1)
    dave = await site.enter("Dave", 30, gender="man")
    refused = await dave.refused(_report(dave, f"message:{adult_ack.id}"))
    assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND


async def test_bad_targets_and_reasons_are_invalid_fields(site: Harness) -> None:
    alice, _ = await _two_in_general(site)
    for target, reason, field in (
        ("message:1", "rudeness", "reason"),
        ("planet:mars", "spam", "target"),
        ("message:", "spam", "target"),
    ):
        refused = await alice.refused(_report(alice, target, reason))
        assert refused.code == ErrorCode.INVALID_FIELD and refused.detail["field"] == field
    refused = await alice.refused(_report(alice, "person:Alice"))
    assert refused.code == ErrorCode.REPORT_TARGET_NOT_FOUND


# -- abuse of reporting --------------------------------------------------------------------------


async def test_one_report_per_reporter_and_item(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    ack = await bob.say("general", "hé")
    first = await _report(alice, f"message:{ack.id}")
    assert await _report(alice, f"message:{ack.id}", "spam") == first
    assert await _report(alice, "person:Bob") != first
    # "bob" and "BOB" are one person.
    again = await _report(alice, "person:BOB")
    (job,) = await _jobs(site)
    assert job.signals == 2
    assert again in {r.report_id for r in await site.node.chat.reports.store.reporters_of(job.id)}


async def test_a_reporter_has_a_rate_limit(site: Harness) -> None:
    alice = await site.enter("Alice", 30)
    await alice.join("general")
    speakers = [await site.enter(f"Speaker{n}", 30) for n in range(REPORTS_PER_HOUR + 1)]
    for speaker in speakers:
        await speaker.join("general")
    for speaker in speakers[:REPORTS_PER_HOUR]:
        await _report(alice, f"person:{speaker.session.nickname}")
    refused = await alice.refused(_report(alice, f"person:{speakers[-1].session.nickname}"))
    assert refused.code == ErrorCode.RATE_LIMITED_REPORTS
    assert 0 < int(refused.detail["retry_after"]) <= 3600
    site.clock.advance(3601)
    await _report(alice, f"person:{speakers[-1].session.nickname}")


async def test_mass_reports_against_one_person_are_one_job(site: Harness) -> None:
    bob = await site.enter("Bob", 41, gender="man")
    await bob.join("general")
    acks = [await bob.say("general", f"message {n}") for n in range(3)]
    reporters = [await site.enter(f"Reporter{n}", 30) for n in range(8)]
    for n, reporter in enumerate(reporters):
        await reporter.join("general")
        if n % 2:
            await _report(reporter, "person:Bob", "harassment")
        else:
            await _report(reporter, f"message:{acks[n % 3].id}", "harassment")
    (job,) = await _jobs(site)
    assert job.signals == 8
    assert len(await site.node.chat.reports.store.reporters_of(job.id)) == 8
    # Each reported message's context joined the one item once.
    history = [m.message_id for m in (await _detail(site, job.id)).history]
    assert sorted(history) == sorted({a.id for a in acks}) == sorted(set(history))


async def test_child_safety_first_and_trusted_flaggers_next(site: Harness) -> None:
    alice, _ = await _two_in_general(site)
    carol = await site.enter("Carol", 30)
    await carol.join("general")
    await site.node.chat.reports.store.set_trusted("carol", True)
    await _report(alice, "room:general", "spam")
    await _report(carol, "topic:general", "spam")
    await _report(alice, "person:Bob", "child_safety")
    jobs = await site.node.chat.reports.store.review.jobs(status=None)
    assert [j.item.key for j in jobs] == [
        person_item_key("bob"),
        "report:topic:general",
        "report:room:general",
    ]
    assert jobs[0].queue is ReviewQueue.CHILD_SAFETY and jobs[0].priority == 0
    assert jobs[1].kind == "trusted_report" and jobs[1].priority == 1
    assert await site.node.chat.reports.store.is_trusted("carol")
    await site.node.chat.reports.store.set_trusted("carol", False)
    assert not await site.node.chat.reports.store.is_trusted("carol")


async def test_the_authors_record_is_frozen_with_the_report(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    await bob.refused(bob.say("general", "je vends de la coke et du shit, 50 balles le g"))
    ack = await bob.say("general", "bonjour")
    await _report(alice, f"message:{ack.id}")
    (job,) = await _jobs(site)
    (record,) = await site.node.chat.reports.store.author_records(job.id)
    assert record.decisions and record.decisions[0][2] != "allow"


# -- statements of reasons and appeals -----------------------------------------------------------


async def test_an_automated_refusal_issues_one_statement_a_minute(site: Harness) -> None:
    alice, bob = await _two_in_general(site)
    alice.clear()
    text = "je vends de la coke et du shit, 50 balles le g"
    refused = await bob.refused(bob.say("general", text))
    (statement,) = bob.received(f.StatementOfReasons)
    assert statement.automated and statement.category == refused.detail["category"]
    assert statement.content is None and statement.appeal_status == "none"
    assert statement.appeal_until == pytest.approx(statement.at + APPEAL_SECONDS)
    assert "appeal" in statement.message
    assert not alice.received(f.StatementOfReasons)
    stored = await site.node.statements.get(statement.id)
    assert stored is not None and stored.automated_detection and stored.ground == "incompatible"
    assert stored.decided_by is None and stored.subject_key == "bob"
    # Refused again within the minute: no second statement.
    await bob.refused(bob.say("general", text))
    assert len(bob.received(f.StatementOfReasons)) == 1
    site.clock.advance(61)
    await bob.refused(bob.say("general", text))
    assert len(bob.received(f.StatementOfReasons)) == 2
    listed = await site.node.chat.list_statements(bob.session, "7")
    assert listed.ref == "7" and len(listed.statements) == 2


async def test_a_statement_reaches_the_online_chatter_and_an_appeal_is_queued(
    site: Harness,
) -> None:
    alice, bob = await _two_in_general(site)
    now = site.clock.now
    statement = await site.node.statements.issue(
        new_statement(
            subject_key="bob",
            decision="warned",
            category="harassment",
            ground="incompatible",
            ground_text="causerie's terms: no harassment",
            facts="A message you wrote in a room was removed.",
            content_type="text",
            application_date=now,
            decided_by="mod1",
        )
    )
    assert await site.node.chat.statements.notify(statement)
    (pushed,) = bob.received(f.StatementOfReasons)
    assert pushed.id == statement.id and not pushed.automated
    assert not alice.received(f.StatementOfReasons)
    refused = await alice.refused(site.node.chat.appeal(alice.session, statement.id, "non", None))
    assert refused.code == ErrorCode.STATEMENT_NOT_FOUND
    received = await site.node.chat.appeal(bob.session, statement.id, "je plaisantais", "3")
    assert received == f.AppealReceived(statement=statement.id, ref="3")
    refused = await bob.refused(site.node.chat.appeal(bob.session, statement.id, "encore", None))
    assert refused.code == ErrorCode.ALREADY_APPEALED
    (job,) = await _jobs(site, Source.APPEAL)
    assert job.queue is ReviewQueue.APPEALS and job.item.key == f"appeal:{statement.id}"
    (pending,) = await site.node.statements.pending_appeals()
    assert pending.appeal_text == "je plaisantais"


async def test_an_appeal_after_six_months_is_refused(site: Harness) -> None:
    bob = await site.enter("Bob", 41, gender="man")
    statements = site.node.statements
    statement = await statements.issue(
        new_statement(
            subject_key="bob",
            decision="muted",
            category="spam",
            ground="incompatible",
            ground_text="terms",
            facts="facts",
            content_type="account",
            application_date=site.clock.now,
        )
    )
    site.clock.advance(APPEAL_SECONDS + 1)
    refused = await bob.refused(site.node.chat.appeal(bob.session, statement.id, "pardon", None))
    assert refused.code == ErrorCode.APPEAL_CLOSED
    with pytest.raises(StatementError) as error:
        await statements.appeal(statement.id, "bob", "pardon", site.clock.now)
    assert error.value.code == "appeal_closed"


async def test_an_appeal_is_decided_by_another_reviewer(site: Harness) -> None:
    statements = site.node.statements
    now = site.clock.now
    statement = await statements.issue(
        new_statement(
            subject_key="bob",
            decision="banned",
            category="harassment",
            ground="incompatible",
            ground_text="terms",
            facts="facts",
            content_type="account",
            application_date=now,
            decided_by="mod1",
        )
    )
    with pytest.raises(StatementError) as error:
        await statements.decide_appeal(statement.id, "mod2", "reversed", now)
    assert error.value.code == "not_pending"
    await statements.appeal(statement.id, "bob", "ce n'était pas moi", now + 10)
    with pytest.raises(StatementError) as error:
        await statements.appeal(statement.id, "carol", "moi aussi", now + 10)
    assert error.value.code == "not_yours"
    with pytest.raises(StatementError) as error:
        await statements.decide_appeal(statement.id, "mod1", "reversed", now + 20)
    assert error.value.code == "same_reviewer"
    decided = await statements.decide_appeal(statement.id, "mod2", "reversed", now + 20)
    assert decided.appeal_status == "reversed" and decided.appeal_decided_by == "mod2"
    assert await statements.pending_appeals() == []
    outcome = await statements.issue(
        new_statement(
            subject_key="bob",
            decision="appeal_outcome",
            category="harassment",
            ground="incompatible",
            ground_text="terms",
            facts="the ban is lifted",
            content_type="account",
            application_date=now + 30,
            decided_by="mod2",
        )
    )
    with pytest.raises(StatementError) as error:
        await statements.appeal(outcome.id, "bob", "encore", now + 40)
    assert error.value.code == "not_appealable"
    # The export reads in (application_date, id) order, in batches.
    first = await statements.since(now, limit=1)
    assert [s.id for s in first] == [statement.id]
    assert [s.id for s in await statements.since(now, after_id=statement.id)] == [outcome.id]
    assert [s.id for s in await statements.for_subject("bob")] == [outcome.id, statement.id]


def test_new_statement_checks_its_values() -> None:
    with pytest.raises(ValueError):
        new_statement(subject_key="bob")
    with pytest.raises(ValueError):
        new_statement(
            subject_key="bob",
            decision="scolded",
            category="spam",
            ground="incompatible",
            ground_text="t",
            facts="f",
            content_type="text",
            application_date=1.0,
        )
