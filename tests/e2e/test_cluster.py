"""Several nodes, one database, one bus: chatters on different nodes see one site.

Also the life of a node: a stopped node's chatters leave presence, a silent node's are removed by
the others, and what a node acknowledged before stopping is still there after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from causerie.client import (
    ClientError,
    ConnectionLost,
    MemberJoined,
    MemberLeft,
    PrivateMessage,
    RoomMessage,
)
from causerie.errors import ErrorCode
from causerie.settings import Settings
from causerie.store.presence import OnlineSession
from tests.bus.test_bus import URLS, require_broker
from tests.conftest import RunningServer, run_server

CLUSTERS = [
    pytest.param(("sqlite", "redis"), marks=pytest.mark.broker, id="sqlite-redis"),
    pytest.param(("sqlite", "nats"), marks=pytest.mark.broker, id="sqlite-nats"),
    pytest.param(
        ("postgresql", "nats"), marks=[pytest.mark.broker, pytest.mark.postgres], id="pg-nats"
    ),
]


@pytest.fixture
def cluster_settings(request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for nodes of one cluster: shared database and bus channel, own node id."""
    database, backend = request.param
    require_broker(backend)
    url = str(request.getfixturevalue("postgres_url" if database == "postgresql" else "sqlite_url"))
    channel = f"causerie.test.{secrets.token_hex(6)}"

    def build(node_id: str, **server: Any) -> Settings:
        return Settings(
            server={"node_id": node_id, **server},  # type: ignore[arg-type]
            database={"url": url},  # type: ignore[arg-type]
            bus={"backend": backend, "url": URLS[backend], "channel": channel},  # type: ignore[arg-type]
        )

    return build


@contextlib.asynccontextmanager
async def two_nodes(
    settings: Callable[..., Settings],
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    # One after the other: both migrate the shared database on start.
    async with run_server(settings("node-a")) as a, run_server(settings("node-b")) as b:
        yield a, b


@pytest.mark.parametrize("cluster_settings", CLUSTERS, indirect=True)
async def test_chatters_on_two_nodes_talk_in_rooms_and_in_private(
    cluster_settings: Callable[..., Settings],
) -> None:
    async with (
        two_nodes(cluster_settings) as (node_a, node_b),
        node_a.client() as alice,
        node_b.client() as bob,
    ):
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bob", 41, "man", "69003")

        # One nickname, the whole cluster.
        async with node_b.client() as impostor:
            with pytest.raises(ClientError) as refused:
                await impostor.enter("ALICE", 30, "woman", "75011")
            assert refused.value.code == ErrorCode.NICKNAME_TAKEN

        await alice.join("general")
        (joined,) = await bob.join("general")
        assert {p.nickname for p in joined.members} == {"Alice", "Bob"}
        assert (await alice.next_event(MemberJoined)).person.nickname == "Bob"

        ack = await alice.say("general", "depuis le nœud A")
        message = await bob.next_event(RoomMessage)
        assert (message.id, message.sender, message.text) == (
            ack.id,
            "Alice",
            "depuis le nœud A",
        )
        ack = await bob.say("general", "depuis le nœud B")
        while (message := await alice.next_event(RoomMessage)).sender != "Bob":
            pass
        assert message.id == ack.id

        await bob.send_private("alice", "en privé")
        private = await alice.next_event(PrivateMessage)
        assert (private.sender, private.recipient, private.text) == ("Bob", "Alice", "en privé")
        await alice.send_private("Bob", "bien reçu")
        assert (await bob.next_event(PrivateMessage)).text == "bien reçu"

        rooms = {room.id: room.count for room in await alice.rooms()}
        assert rooms["general"] == 2
        assert {p.nickname for p in await bob.people()} == {"Alice"}


@pytest.mark.parametrize("cluster_settings", CLUSTERS[:2], indirect=True)
async def test_a_stopped_nodes_chatters_leave_presence(
    cluster_settings: Callable[..., Settings],
) -> None:
    async with run_server(cluster_settings("node-a")) as node_a, node_a.client() as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        async with run_server(cluster_settings("node-b")) as node_b:
            bob = node_b.client()
            await bob.__aenter__()
            await bob.enter("Bob", 41, "man", "69003")
            await bob.join("general")
            assert (await alice.next_event(MemberJoined)).person.nickname == "Bob"
        # Node B stopped with Bob still connected.
        with contextlib.suppress(ConnectionLost):
            await bob.close()
        assert (await alice.next_event(MemberLeft)).nickname == "Bob"
        assert await alice.people() == []
        assert [p.nickname for p in await alice.members("general")] == ["Alice"]
        async with node_a.client() as bob_again:
            await bob_again.enter("Bob", 41, "man", "69003")  # the nickname is free


@pytest.mark.parametrize("cluster_settings", CLUSTERS[:1], indirect=True)
async def test_a_silent_nodes_chatters_are_removed_by_the_others(
    cluster_settings: Callable[..., Settings],
) -> None:
    async with run_server(cluster_settings("node-a", heartbeat_seconds=0.1)) as node_a:
        presence = node_a.node.presence
        # A node that crashed long ago, with a chatter still listed in a room.
        await presence.register_node("crashed", 0.0)
        await presence.add_session(
            OnlineSession(
                id="ghost-session",
                nickname="Ghost",
                nickname_key="ghost",
                age=30,
                gender="man",
                department="75",
                region_code="11",
                node_id="crashed",
            ),
            0.0,
        )
        await presence.join("ghost-session", ["general"], 0.0)
        async with node_a.client() as alice:
            await alice.enter("Alice", 30, "woman", "75011")

            for _ in range(100):
                if await presence.by_key("ghost") is None:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the silent node's chatter is still listed after 5 s")
            assert [p.nickname for p in await alice.people()] == []
            assert (await presence.counts()).get("general", 0) == 0
            await alice.join("general")
            await alice.say("general", "anyone?")


async def test_acknowledged_messages_survive_a_restart(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        chat={"history_on_join": 500},
        limits={"messages_burst": 1_000, "frames_burst": 1_000, "frames_per_second": 1_000},
    )
    acknowledged: list[int] = []
    async with contextlib.AsyncExitStack() as clients:
        async with run_server(settings) as server:
            writer = await clients.enter_async_context(server.client())
            await writer.enter("Scribe", 30, "woman", "75011")
            await writer.join("general")

            async def write() -> None:
                for i in range(400):
                    text = f"Bonjour, voici le message {i} du scribe."
                    acknowledged.append((await writer.say("general", text)).id)

            task = asyncio.create_task(write())
            while len(acknowledged) < 20:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.01)
        # The server stopped while messages were in flight. (The client lets websockets'
        # ConnectionClosed out when the close lands during a send.)
        with contextlib.suppress(ConnectionLost, ConnectionClosed, TimeoutError):
            await task
    assert acknowledged
    async with run_server(settings) as server, server.client() as reader:
        await reader.enter("Lecteur", 30, "man", "69003")
        (joined,) = await reader.join("general")
        kept = {message.id for message in joined.history}
        assert set(acknowledged) <= kept, f"lost: {sorted(set(acknowledged) - kept)}"


async def test_rooms_hear_that_a_silent_nodes_chatters_left(
    make_settings: Callable[..., Settings],
) -> None:
    async with run_server(make_settings(server={"heartbeat_seconds": 0.1})) as node_a:
        presence = node_a.node.presence
        await presence.register_node("crashed", 0.0)
        ghost = OnlineSession(
            id="ghost-session",
            nickname="Ghost",
            nickname_key="ghost",
            age=30,
            gender="man",
            department="75",
            region_code="11",
            node_id="crashed",
        )
        async with node_a.client() as alice:
            await alice.enter("Alice", 30, "woman", "75011")
            # Re-registered until Alice is in the room with the ghost, in case a heartbeat
            # cleared it meanwhile.
            await presence.heartbeat("crashed", node_a.node.clock())
            await presence.add_session(ghost, 0.0)
            await presence.join(ghost.id, ["general"], 0.0)
            (joined,) = await alice.join("general")
            assert "Ghost" in {p.nickname for p in joined.members}
            await presence.heartbeat("crashed", 0.0)
            departure = await alice.next_event(MemberLeft, within=3)
            assert departure.nickname == "Ghost"
