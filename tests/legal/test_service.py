"""The legal service over a real retention database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text, update

from causerie.chat.hooks import Peer
from causerie.legal.crypto import Keyring, load_public_key
from causerie.legal.errors import (
    DuplicateReference,
    KeyMaterialError,
    LegalError,
    NotAnOfficer,
    RequestClosed,
    RequestNotFound,
    ScopeError,
)
from causerie.legal.package import verify_package
from causerie.legal.schema import audit_log, evidence_records
from causerie.legal.service import LegalService
from causerie.legal.traffic import RetentionTrafficLog
from tests.legal.conftest import DAY, OFFICER, T0, LegalEnv

ALICE = Peer(ip="203.0.113.7", port=51234, user_agent="Firefox/140", protocol="websocket/tls")
BOB = Peer(ip="198.51.100.20", port=40000, user_agent="Chrome/139")


def traffic_log(legal: LegalEnv) -> RetentionTrafficLog:
    return RetentionTrafficLog(legal.stores.traffic, legal.service.codec, 100)


async def say(legal: LegalEnv, session: str, nickname: str, peer: Peer, text_: str) -> int:
    """A chat message stored as the chat service stores it, and its traffic record."""
    now = legal.clock()
    message_id = await legal.messages.add(
        room_id="general",
        sender_session=session,
        sender_nickname=nickname,
        text=text_,
        created_at=now,
        expires_at=now + 6 * 3600,
    )
    await traffic_log(legal).content_created(session, nickname, f"m{message_id}", peer, now)
    return message_id


async def register(legal: LegalEnv, reference: str = "PV-2025-001", **scope: object) -> str:
    request = await legal.service.register_request(
        OFFICER,
        authority="Parquet de Paris",
        reference=reference,
        legal_basis="art. 60-1 CPP",
        deadline=T0 + 15 * DAY,
        **scope,  # type: ignore[arg-type]
    )
    return request.id


async def audit_actions(legal: LegalEnv) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in await legal.service.audit.entries(500)]


async def test_a_registered_request_finds_the_records_in_its_scope_and_nothing_else(
    legal: LegalEnv,
) -> None:
    log = traffic_log(legal)
    await log.connection_opened("s-alice", "Alice", ALICE, legal.clock())
    await log.connection_opened("s-bob", "Bob", BOB, legal.clock())
    alice_says = await say(legal, "s-alice", "Alice", ALICE, "bonjour")
    await say(legal, "s-bob", "Bob", BOB, "salut")
    legal.clock.advance(60)
    await log.connection_closed("s-alice", legal.clock())

    by_content = await register(legal, content_ids=[f"m{alice_says}"])
    result = await legal.service.search(OFFICER, by_content)
    assert [(r.kind, r.ip, r.port, r.at, r.nickname, r.user_agent) for r in result.records] == [
        ("content", "203.0.113.7", 51234, T0, "Alice", "Firefox/140")
    ]
    by_nickname = await register(
        legal, "PV-2025-002", nicknames=["alice"], start=T0 - DAY, end=T0 + DAY
    )
    result = await legal.service.search(OFFICER, "PV-2025-002")  # by reference works too
    assert [r.kind for r in result.records] == ["open", "content", "close"]
    assert {r.nickname for r in result.records} == {"Alice"}
    # The close record carries the address although the hook only passes the session id.
    assert result.records[-1].ip == "203.0.113.7"
    by_address = await register(
        legal, "PV-2025-003", addresses=["198.51.100.20"], start=T0 - DAY, end=T0 + DAY
    )
    assert {r.nickname for r in (await legal.service.search(OFFICER, by_address)).records} == {
        "Bob"
    }
    outside = await register(
        legal, "PV-2025-004", nicknames=["Alice"], start=T0 + DAY, end=T0 + 2 * DAY
    )
    assert (await legal.service.search(OFFICER, outside)).records == []
    entries = await legal.service.audit.entries(100, by_nickname)
    assert [(e.action, e.outcome) for e in entries] == [
        ("request.register", "ok"),
        ("search", "ok"),
    ]
    assert json.loads(entries[-1].detail) == {"evidence": 0, "records": 3}


async def test_no_search_without_a_registered_request_and_the_attempt_is_logged(
    legal: LegalEnv,
) -> None:
    await traffic_log(legal).connection_opened("s-alice", "Alice", ALICE, legal.clock())
    with pytest.raises(RequestNotFound, match="only be reached through a registered request"):
        await legal.service.search(OFFICER, "PV-never-registered")
    with pytest.raises(RequestNotFound):
        await legal.service.export(OFFICER, "", Path("/nonexistent/x"))
    # Someone who is not a legal officer cannot search even a registered request.
    request = await register(legal, content_ids=["m1"])
    with pytest.raises(NotAnOfficer):
        await legal.service.search("moderator.martin", request)
    # The search API takes a request id and nothing else: there is no scope to pass.
    with pytest.raises(TypeError):
        await legal.service.search(OFFICER, request, nicknames=["Alice"])  # type: ignore[call-arg]
    entries = await legal.service.audit.entries(100)
    denied = [(e.actor, e.action, e.request_id) for e in entries if e.outcome == "denied"]
    assert denied == [
        (OFFICER, "search", "PV-never-registered"),
        (OFFICER, "export", ""),
        ("moderator.martin", "search", request),
    ]


async def test_bad_requests_are_refused_clearly_and_logged(legal: LegalEnv) -> None:
    with pytest.raises(ScopeError, match="empty"):
        await register(legal)
    with pytest.raises(ScopeError, match="unbounded"):
        await register(legal, nicknames=["Alice"])
    with pytest.raises(ScopeError, match="authority"):
        await legal.service.register_request(
            OFFICER,
            authority=" ",
            reference="X",
            legal_basis="Y",
            deadline=None,
            content_ids=["m1"],
        )
    await register(legal, content_ids=["m1"])
    with pytest.raises(DuplicateReference):
        await register(legal, content_ids=["m2"])
    assert [r.reference for r in await legal.service.list_requests(OFFICER)] == ["PV-2025-001"]
    assert [a for a in await audit_actions(legal) if a[2] != "ok"] == [
        (OFFICER, "request.register", "refused")
    ] * 4


async def test_retained_data_is_purged_after_the_period_unless_preserved(
    legal: LegalEnv,
) -> None:
    log = traffic_log(legal)
    await log.connection_opened("s-alice", "Alice", ALICE, legal.clock())
    await log.connection_opened("s-bob", "Bob", BOB, legal.clock())
    alice_says = await say(legal, "s-alice", "Alice", ALICE, "message under an order")
    order, preserved = await legal.service.preserve(
        OFFICER,
        authority="Juge d'instruction, TJ Lyon",
        reference="ORD-7",
        nicknames=["Alice"],
        start=T0 - DAY,
        end=T0 + DAY,
    )
    assert preserved == 1  # the visible message is copied into evidence at once
    legal.clock.advance(364 * DAY)
    assert (await legal.service.purge()).traffic == 0
    assert await legal.stores.traffic.count() == 3
    legal.clock.advance(2 * DAY)  # 366 days later
    report = await legal.service.purge()
    assert (report.traffic, report.held_orders) == (1, 1)  # Bob's connection; Alice's are held
    request = await register(legal, nicknames=["Alice"], start=T0 - DAY, end=T0 + DAY)
    result = await legal.service.search(OFFICER, request)
    assert [r.kind for r in result.records] == ["open", "content"]
    assert [e.subject for e in result.evidence] == [f"m{alice_says}"]
    assert await legal.service.release(OFFICER, order.id, "case closed") == 1
    assert (await legal.service.purge()).traffic == 2
    assert await legal.stores.traffic.count() == 0
    assert (await legal.service.evidence.verify()).ok
    assert ("system", "purge", "ok") in await audit_actions(legal)


async def test_tampering_with_preserved_evidence_is_detected(legal: LegalEnv) -> None:
    ids = [await say(legal, "s-alice", "Alice", ALICE, f"line {i}") for i in range(5)]
    locker = legal.service.evidence
    receipt = await locker.preserve_message(ids[2], "reported", reference="report-1")
    await locker.preserve_message(ids[3], "escalated", reference="decision-9")
    await locker.preserve_message(ids[4], "reported", reference="report-2")
    item = locker.open((await legal.stores.evidence.page(0, 1))[0])
    assert item.content["message"]["text"] == "line 2"
    assert [m["text"] for m in item.content["context"]] == ["line 0", "line 1", "line 3", "line 4"]
    assert item.content["traffic"][0]["ip"] == "203.0.113.7"
    assert receipt.seq == 1
    assert (await locker.verify()).ok

    engine = legal.stores.engine
    async with engine.begin() as conn:  # an insider rewrites why content was kept
        await conn.execute(
            update(evidence_records).where(evidence_records.c.seq == 2).values(reason="reported")
        )
    report = await locker.verify()
    assert report.problems == ["record 2 was altered: its fields no longer match its hash"]
    async with engine.begin() as conn:
        await conn.execute(
            update(evidence_records).where(evidence_records.c.seq == 2).values(reason="escalated")
        )
        row = (
            await conn.execute(evidence_records.select().where(evidence_records.c.seq == 1))
        ).one()
        flipped = bytes([row.sealed[0] ^ 1]) + row.sealed[1:]
        await conn.execute(
            update(evidence_records).where(evidence_records.c.seq == 1).values(sealed=flipped)
        )
    problems = (await locker.verify()).problems
    assert len(problems) == 1 and "record 1 cannot be opened" in problems[0]
    async with engine.begin() as conn:
        await conn.execute(
            update(evidence_records).where(evidence_records.c.seq == 1).values(sealed=row.sealed)
        )
        await conn.execute(evidence_records.delete().where(evidence_records.c.seq == 2))
    problems = (await locker.verify()).problems
    assert problems == [
        "record 2 is missing (the next one is 3)",
        "record 3 does not follow the record before it (prev_hash)",
    ]
    # Erasing content without a release record is caught too.
    async with engine.begin() as conn:
        await conn.execute(
            update(evidence_records).where(evidence_records.c.seq == 3).values(sealed=None)
        )
    assert (
        "record 3 has lost its content without a release record" in (await locker.verify()).problems
    )


async def test_a_corrupted_evidence_record_is_an_error_not_a_result(legal: LegalEnv) -> None:
    message = await say(legal, "s-alice", "Alice", ALICE, "reported line")
    await legal.service.evidence.preserve_message(message, "reported", reference="report-1")
    async with legal.stores.engine.begin() as conn:
        await conn.execute(update(evidence_records).values(content_hash="0" * 64))
    request = await register(legal, content_ids=[f"m{message}"])
    with pytest.raises(LegalError, match="does not match its content hash"):
        await legal.service.search(OFFICER, request)
    assert (OFFICER, "search", "failed") in await audit_actions(legal)
    with pytest.raises(LegalError, match="no longer in the chat store"):
        await legal.service.evidence.preserve_message(99_999, "reported", reference="r")


async def test_the_audit_log_is_append_only_in_the_database(legal: LegalEnv) -> None:
    await register(legal, content_ids=["m1"])
    for statement in (update(audit_log).values(actor="nobody"), audit_log.delete()):
        with pytest.raises(Exception, match="append-only"):
            async with legal.stores.engine.begin() as conn:
                await conn.execute(statement)
    report = await legal.service.audit.verify()
    assert report.ok and report.entries == 1


async def test_export_deliver_and_verify(legal: LegalEnv, tmp_path: Path) -> None:
    log = traffic_log(legal)
    await log.connection_opened("s-alice", "Alice", ALICE, legal.clock())
    message = await say(legal, "s-alice", "Alice", ALICE, "bonjour")
    request = await register(legal, content_ids=[f"m{message}"])
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(LegalError, match="exists already"):
        await legal.service.export(OFFICER, request, existing)
    assert list(existing.iterdir()) == []
    with pytest.raises(LegalError, match="not been exported"):
        await legal.service.deliver(OFFICER, request)
    result = await legal.service.export(OFFICER, request, tmp_path / "package")
    assert result.records == 1
    report = verify_package(tmp_path / "package", load_public_key(legal.public_key))
    assert report.ok, report.problems
    assert sorted(report.files) == ["evidence.json", "request.json", "traffic.csv", "traffic.json"]
    csv_lines = (tmp_path / "package" / "traffic.csv").read_text().splitlines()
    assert csv_lines[1].startswith("content,2025-03-01T12:00:00.000Z,")
    assert "203.0.113.7,51234,websocket/tls,Firefox/140,Alice" in csv_lines[1]
    await legal.service.deliver(OFFICER, request, "sent by secure mail")
    with pytest.raises(RequestClosed):
        await legal.service.search(OFFICER, request)
    actions = [(a, o) for _, a, o in await audit_actions(legal)]
    assert actions[-3:] == [("export", "ok"), ("deliver", "ok"), ("search", "denied")]
    assert ("export", "failed") in actions  # the refused export to an existing path


async def test_keys_rotate_reencrypt_and_a_wrong_key_file_is_refused(legal: LegalEnv) -> None:
    log = traffic_log(legal)
    await log.connection_opened("s-alice", "Alice", ALICE, legal.clock())
    message = await say(legal, "s-alice", "Alice", ALICE, "kept")
    await legal.service.evidence.preserve_message(message, "reported", reference="report-1")
    request = await register(legal, nicknames=["Alice"], start=T0 - DAY, end=T0 + DAY)

    Keyring.load(legal.keys_file).rotated().save(legal.keys_file)
    rotated = LegalService(
        legal.settings,
        legal.stores,
        Keyring.load(legal.keys_file),
        messages=legal.messages,
        clock=legal.clock,
    )
    await rotated.check_keys()
    await RetentionTrafficLog(legal.stores.traffic, rotated.codec, 10).connection_opened(
        "s-alice-2", "Alice", ALICE, legal.clock() + 1
    )
    # Old rows under k1, the new one under k2: one search finds all of them.
    result = await rotated.search(OFFICER, request)
    assert [r.kind for r in result.records] == ["open", "content", "open"]
    assert len(result.evidence) == 1
    assert await rotated.key_usage(OFFICER) == {"k1": 4, "k2": 1}
    report = await rotated.reencrypt(OFFICER)
    assert (report.traffic, report.evidence, report.requests) == (2, 1, 1)
    assert await rotated.key_usage(OFFICER) == {"k1": 0, "k2": 5}
    assert [r.kind for r in (await rotated.search(OFFICER, request)).records] == [
        "open",
        "content",
        "open",
    ]
    assert (await rotated.evidence.verify()).ok

    # A key file holding other bytes under the same ids: refused before anything is written.
    impostor = LegalService(
        legal.settings, legal.stores, Keyring([Keyring.generate("k2").current]), clock=legal.clock
    )
    with pytest.raises(KeyMaterialError, match="does not hold the key"):
        await impostor.check_keys()
    # A key file that lost a key still in use.
    only_new = Keyring.generate("k3")
    lost = LegalService(legal.settings, legal.stores, only_new, clock=legal.clock)
    with pytest.raises(KeyMaterialError, match=r"\['k2'\]"):
        await lost.check_keys()
    async with legal.stores.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM traffic_records"))).scalar_one()
    assert count == 3
