"""Issue 12 item 7 and issue 14: presence across nodes without waiting for heartbeats.

A node restarted under its stable id removes its previous run's chatters at once, and a node's
copy of who is online follows what happens on the others through the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from causerie.client import ClientError, MemberLeft
from causerie.errors import ErrorCode
from causerie.settings import Settings
from causerie.store.presence import OnlineSession
from tests.conftest import run_server
from tests.e2e.test_cluster import CLUSTERS, cluster_settings

__all__ = ["cluster_settings"]


@pytest.mark.parametrize("cluster_settings", CLUSTERS[:2], indirect=True)
async def test_a_restarted_node_clears_its_ghosts_at_once(
    cluster_settings: Callable[..., Settings],
) -> None:
    async with run_server(cluster_settings("node-a")) as node_a, node_a.client() as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        # The previous run of node-b died with Ghost in the room (a kill -9).
        presence = node_a.node.presence
        await presence.register_node("node-b", node_a.node.clock())
        await presence.add_session(
            OnlineSession(
                id="ghost-session",
                nickname="Ghost",
                nickname_key="ghost",
                age=30,
                gender="man",
                department="75",
                region_code="11",
                node_id="node-b",
            ),
            node_a.node.clock(),
        )
        await presence.join("ghost-session", ["general"], node_a.node.clock())
        (joined,) = await alice.join("general")
        assert "Ghost" in {p.nickname for p in joined.members}
        # Heartbeats every 60 s: only the restart itself can clear Ghost within the test.
        async with run_server(cluster_settings("node-b", heartbeat_seconds=60)):
            departure = await alice.next_event(MemberLeft, within=3)
            assert departure.nickname == "Ghost"
            assert await presence.by_key("ghost") is None
            with pytest.raises(ClientError) as refused:
                await alice.send_private("Ghost", "tu es là ?")
            assert refused.value.code == ErrorCode.RECIPIENT_NOT_FOUND


@pytest.mark.parametrize("cluster_settings", CLUSTERS[:2], indirect=True)
async def test_a_recipient_leaving_another_node_is_refused_at_once(
    cluster_settings: Callable[..., Settings],
) -> None:
    async with (
        run_server(cluster_settings("node-a", heartbeat_seconds=60)) as node_a,
        run_server(cluster_settings("node-b", heartbeat_seconds=60)) as node_b,
        node_a.client() as alice,
    ):
        await alice.enter("Alice", 30, "woman", "75011")
        async with node_b.client() as bob:
            await bob.enter("Bob", 41, "man", "69003")
            await alice.send_private("Bob", "bonjour")
            await alice.send_private("Bob", "ça va ?")
            # Node A answered the second from its copy.
            assert node_a.node.presence.hits >= 1
        # Bob's node announced his exit; node A's copy went with it.
        for _ in range(50):
            try:
                await alice.send_private("Bob", "tu es parti ?")
            except ClientError as refused:
                assert refused.code == ErrorCode.RECIPIENT_NOT_FOUND
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("a private message to Bob was still accepted 1 s after he left")
