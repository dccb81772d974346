"""What a moderator puts back in front of people gets what delivered content gets: a released
held message its lawful traffic record, a removal reversed on appeal its message back."""

from __future__ import annotations

from causerie.legal.codec import TrafficRecord
from causerie.legal.store import IndexQuery, KeyIndexes
from causerie.protocol import frames as f
from causerie.store.review import ItemKind, NewItem, NewJob, Source
from causerie.store.staff import Role
from tests.console.conftest import Console
from tests.harness import Harness


async def traffic_of(h: Harness, content_id: str) -> list[TrafficRecord]:
    """The retention records of one content id, read the way the legal officer's search does."""
    codec = h.node.legal.service.codec
    query = IndexQuery(
        by_key={k.id: KeyIndexes(content_ids=(k.index(content_id),)) for k in codec.keyring.keys}
    )
    rows = await h.node.legal.stores.traffic.find(query)
    return [codec.open_traffic(row) for row in rows]


async def test_a_released_held_message_gets_its_traffic_record(console: Console) -> None:
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31, ip="203.0.113.44")
    await alice.join("general")
    written_at = h.clock()
    enqueued = await console.parts.review.enqueue(
        NewItem(
            kind=ItemKind.MESSAGE,
            key="hold:bob:1",
            author_key="bob",
            author_nickname="Bob",
            author_session=bob.session.id,
            text="rdv ce soir ?",
            room_id="general",
        ),
        NewJob.for_category(None, source=Source.HOLD, kind="hold", reason="held"),
        now=written_at,
    )
    h.clock.advance(600)
    mia = console.actor("mia", Role.MODERATOR)
    outcome = await console.parts.actions.decide(mia, enqueued.job_id, "release")
    assert outcome.released is not None
    assert [m.id for m in alice.received(f.RoomMessage)] == [outcome.released]
    (record,) = await traffic_of(h, f"m{outcome.released}")
    assert record.kind == "content" and record.session_id == bob.session.id
    # The address and port of the connection that wrote it, at the time it was written.
    assert (record.ip, record.port) == ("203.0.113.44", bob.peer.port)
    assert record.at == written_at


async def _removed(console: Console) -> tuple[str, str]:
    """Bob's message, reported by Alice, removed by Mia, appealed by Bob: (statement, text)."""
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31)
    await alice.join("general")
    await bob.join("general")
    text = "tu es vraiment nul, va-t'en"
    ack = await bob.say("general", text)
    await h.node.chat.report(alice.session, f"message:{ack.id}", "harassment", "", None)
    (job,) = await console.parts.review.jobs(sources=[Source.REPORT])
    outcome = await console.parts.actions.decide(
        console.actor("mia", Role.MODERATOR), job.id, "remove"
    )
    assert await h.node.messages.get(ack.id) is None
    removed = next(s for s in outcome.statements if s.decision == "removed")
    await h.node.chat.appeal(bob.session, removed.id, "it was a joke between friends", None)
    alice.clear()
    return removed.id, text


async def test_a_reversed_removal_brings_the_message_back(console: Console) -> None:
    h = console.harness
    statement_id, text = await _removed(console)
    alice = h.chatters[0]
    await console.parts.actions.decide_appeal(
        console.actor("sam", Role.SENIOR), statement_id, "reversed"
    )
    (again,) = alice.received(f.RoomMessage)
    assert again.text == text and again.sender == "Bob"
    history = await h.node.messages.recent_in_room("general", 0, 50)
    assert [m.text for m in history] == [text]
    # Its traffic record (SQLite may give the new row the removed one's id: then both are there).
    records = await traffic_of(h, f"m{again.id}")
    assert records and {(r.kind, r.nickname) for r in records} == {("content", "Bob")}


async def test_an_upheld_or_expired_removal_stays_removed(console: Console) -> None:
    h = console.harness
    statement_id, _text = await _removed(console)
    alice = h.chatters[0]
    # Past the visible window the message would have gone anyway: it does not come back.
    h.clock.advance(h.node.settings.chat.visible_hours * 3600 + 1)
    await console.parts.actions.decide_appeal(
        console.actor("sam", Role.SENIOR), statement_id, "reversed"
    )
    assert alice.received(f.RoomMessage) == []
    assert await h.node.messages.recent_in_room("general", 0, 50) == []
