"""Who is online, where, and in which rooms: the presence repository on both databases."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.protocol.identity import nickname_key
from causerie.store import presence as presence_module
from causerie.store.presence import NicknameTaken, OnlineSession, PresenceStore


def chatter(
    nickname: str,
    *,
    node: str = "node-a",
    age: int = 30,
    gender: str = "woman",
    region: str = "11",
    session_id: str | None = None,
) -> OnlineSession:
    return OnlineSession(
        id=session_id or f"s-{nickname_key(nickname)}-{node}",
        nickname=nickname,
        nickname_key=nickname_key(nickname),
        age=age,
        gender=gender,
        department="75",
        region_code=region,
        node_id=node,
    )


@pytest.fixture
async def presence(catalogue_engine: AsyncEngine) -> PresenceStore:
    store = PresenceStore(catalogue_engine)
    await store.register_node("node-a", 100.0)
    await store.register_node("node-b", 100.0)
    return store


# -- sessions -------------------------------------------------------------------------------


async def test_a_session_is_found_by_its_nickname_key(presence: PresenceStore) -> None:
    zoe = chatter("Zoé")
    await presence.add_session(zoe, 100.0)
    assert await presence.by_key("zoe") == zoe
    assert await presence.by_key("nobody") is None


def test_the_session_columns_are_the_dataclass_fields_in_order() -> None:
    # _row builds an OnlineSession from a row by position.
    names = tuple(column.name for column in presence_module._SESSION_COLUMNS)
    assert names == tuple(field.name for field in dataclasses.fields(OnlineSession))


async def test_a_session_reads_back_field_for_field(presence: PresenceStore) -> None:
    # Rows are read by position into OnlineSession: every field must come back as written,
    # each value distinct so that two swapped columns cannot pass.
    written = OnlineSession(
        id="s-fields",
        nickname="Zoé",
        nickname_key=nickname_key("Zoé"),
        age=47,
        gender="man",
        department="2A",
        region_code="94",
        node_id="node-a",
    )
    await presence.add_session(written, 100.0)
    await presence.join(written.id, ["general"], 1.0)
    assert await presence.by_key(written.nickname_key) == written
    assert await presence.members("general") == [written]


async def test_nickname_key_is_unique_across_nodes(presence: PresenceStore) -> None:
    await presence.add_session(chatter("Zoé", node="node-a"), 100.0)
    with pytest.raises(NicknameTaken):
        await presence.add_session(chatter("ZOE", node="node-b", session_id="other"), 100.0)
    assert (await presence.by_key("zoe")).nickname == "Zoé"  # type: ignore[union-attr]


async def test_a_nickname_is_free_again_once_its_owner_leaves(presence: PresenceStore) -> None:
    zoe = chatter("Zoé")
    await presence.add_session(zoe, 100.0)
    await presence.remove_session(zoe.id)
    await presence.add_session(chatter("zoe", session_id="again"), 101.0)
    assert (await presence.by_key("zoe")).id == "again"  # type: ignore[union-attr]


async def test_concurrent_entries_with_one_nickname_admit_exactly_one(
    presence: PresenceStore,
) -> None:
    attempts = [
        presence.add_session(chatter(name, session_id=f"s{i}"), 100.0)
        for i, name in enumerate(["Zoe", "zoe", "ZOÉ", "Z0e", "zoë", "Zoe"])
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, NicknameTaken) for r in results if r is not None)


async def test_people_filters_by_age_gender_and_region(presence: PresenceStore) -> None:
    for session in (
        chatter("Anna", age=14, gender="woman", region="11"),
        chatter("Bruno", age=16, gender="man", region="53"),
        chatter("Chloe", age=25, gender="woman", region="53"),
        chatter("David", age=45, gender="man", region="11"),
    ):
        await presence.add_session(session, 100.0)

    async def names(**filters: object) -> list[str]:
        return [p.nickname for p in await presence.people(**filters)]  # type: ignore[arg-type]

    assert await names() == ["Anna", "Bruno", "Chloe", "David"]
    assert await names(min_age=15, max_age=17) == ["Bruno"]
    assert await names(min_age=18) == ["Chloe", "David"]
    assert await names(gender="woman") == ["Anna", "Chloe"]
    assert await names(region_code="53", gender="woman") == ["Chloe"]
    assert await names(limit=2) == ["Anna", "Bruno"]


async def test_update_age(presence: PresenceStore) -> None:
    zoe = chatter("Zoe", age=30)
    await presence.add_session(zoe, 100.0)
    await presence.update_age(zoe.id, 16)
    assert (await presence.by_key("zoe")) == dataclasses.replace(zoe, age=16)


# -- rooms ----------------------------------------------------------------------------------


async def test_join_leave_members_and_counts(presence: PresenceStore) -> None:
    zoe, bob = chatter("Zoe"), chatter("Bob", node="node-b")
    await presence.add_session(zoe, 100.0)
    await presence.add_session(bob, 100.0)

    assert await presence.join(zoe.id, ["general", "musique", "general"], 101.0) == [
        "general",
        "musique",
    ]
    assert await presence.join(zoe.id, ["general", "sport"], 102.0) == ["sport"]
    assert await presence.join(bob.id, ["general"], 102.0) == ["general"]
    assert sorted(await presence.rooms_of(zoe.id)) == ["general", "musique", "sport"]
    assert [m.nickname for m in await presence.members("general")] == ["Bob", "Zoe"]
    assert await presence.counts() == {"general": 2, "musique": 1, "sport": 1}

    assert sorted(await presence.leave(zoe.id, ["musique", "cinema", "general"])) == [
        "general",
        "musique",
    ]
    assert await presence.leave(zoe.id, ["musique"]) == []
    assert await presence.counts() == {"general": 1, "sport": 1}
    assert await presence.members("musique") == []


async def test_leaving_takes_a_chatter_out_of_every_room(presence: PresenceStore) -> None:
    zoe = chatter("Zoe")
    await presence.add_session(zoe, 100.0)
    await presence.join(zoe.id, ["general", "musique"], 101.0)
    assert sorted(await presence.remove_session(zoe.id)) == ["general", "musique"]
    assert await presence.counts() == {}
    assert await presence.by_key("zoe") is None
    assert await presence.remove_session(zoe.id) == []


async def test_memberships_exist_only_for_rooms_and_sessions_that_exist(
    presence: PresenceStore,
) -> None:
    zoe = chatter("Zoe")
    await presence.add_session(zoe, 100.0)
    with pytest.raises(IntegrityError):
        await presence.join(zoe.id, ["no-such-room"], 101.0)
    with pytest.raises(IntegrityError):
        await presence.join("no-such-session", ["general"], 101.0)


# -- nodes ----------------------------------------------------------------------------------


async def test_dead_nodes_are_removed_with_their_chatters_and_memberships(
    presence: PresenceStore,
) -> None:
    alive, dead = chatter("Alive", node="node-a"), chatter("Dead", node="node-b")
    for session in (alive, dead):
        await presence.add_session(session, 100.0)
        await presence.join(session.id, ["general"], 100.0)
    await presence.heartbeat("node-a", 200.0)

    removal = await presence.remove_dead_nodes(seen_before=150.0)
    assert removal.nodes == ["node-b"]
    assert removal.departures == [("general", "Dead")]
    assert [p.nickname for p in await presence.people()] == ["Alive"]
    assert [m.nickname for m in await presence.members("general")] == ["Alive"]
    assert await presence.by_key("dead") is None
    # Its nickname is free again.
    await presence.add_session(chatter("Dead", node="node-a"), 201.0)
    assert (await presence.remove_dead_nodes(seen_before=150.0)).nodes == []


async def test_heartbeat_revives_a_node_that_was_presumed_dead(presence: PresenceStore) -> None:
    assert sorted((await presence.remove_dead_nodes(seen_before=1_000.0)).nodes) == [
        "node-a",
        "node-b",
    ]
    await presence.heartbeat("node-a", 1_001.0)
    assert (await presence.remove_dead_nodes(seen_before=1_000.0)).nodes == []


async def test_a_node_restarting_under_its_name_forgets_its_chatters(
    presence: PresenceStore,
) -> None:
    zoe, bob = chatter("Zoe", node="node-a"), chatter("Bob", node="node-b")
    for session in (zoe, bob):
        await presence.add_session(session, 100.0)
        await presence.join(session.id, ["general"], 100.0)
    await presence.register_node("node-a", 300.0)
    assert [p.nickname for p in await presence.people()] == ["Bob"]
    assert await presence.counts() == {"general": 1}


async def test_a_node_stopping_takes_its_chatters_offline(presence: PresenceStore) -> None:
    zoe, bob = chatter("Zoe", node="node-a"), chatter("Bob", node="node-b")
    for session in (zoe, bob):
        await presence.add_session(session, 100.0)
        await presence.join(session.id, ["general"], 100.0)
    await presence.unregister_node("node-b")
    assert [p.nickname for p in await presence.people()] == ["Zoe"]
    assert await presence.counts() == {"general": 1}
    assert (await presence.remove_dead_nodes(seen_before=1_000.0)).nodes == ["node-a"]


async def test_a_claim_whose_entry_was_cancelled_is_taken_back(presence: PresenceStore) -> None:
    # The claim runs in a writer thread that a cancelled entry cannot stop: once it lands, the
    # store takes it back, so that the nickname is not left taken by nobody.
    abandoned = asyncio.ensure_future(presence.add_session(chatter("Maelys"), 100.0))
    await asyncio.sleep(0)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    # The claim may land after the cancellation: the nickname is free again once it is taken back.
    for _ in range(200):
        try:
            await presence.add_session(chatter("Maelys", session_id="next"), 101.0)
            break
        except NicknameTaken:
            await asyncio.sleep(0.01)
    found = await presence.by_key(nickname_key("Maelys"))
    assert found is not None and found.id == "next"
