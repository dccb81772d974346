"""Two nodes in one process, one SQLite database, the Redis bus: the per-node caches stay true.

The minors fence keeps conversation states in memory (src/causerie/trust/fence.py); a freeze
recorded on one node must be refused on the other at once, not after the cache's few seconds.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from causerie.errors import ChatError, ErrorCode
from causerie.node import Node
from causerie.settings import Settings
from tests.bus.test_bus import URLS, require_broker
from tests.harness import FakeClock, Harness

pytestmark = pytest.mark.broker


@contextlib.asynccontextmanager
async def two_nodes(directory: Path) -> AsyncIterator[tuple[Harness, Harness]]:
    require_broker("redis")
    channel = f"causerie.test.{secrets.token_hex(6)}"
    clock = FakeClock()
    harnesses: list[Harness] = []
    try:
        for name in ("node-a", "node-b"):
            settings = Settings(
                server={"node_id": name},  # type: ignore[arg-type]
                database={"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"},  # type: ignore[arg-type]
                bus={"backend": "redis", "url": URLS["redis"], "channel": channel},  # type: ignore[arg-type]
                # The fence must hold by itself, whatever the policy would add.
                safety={"enabled": False},  # type: ignore[arg-type]
                legal={"keys_file": str(directory / "keys" / "retention.keys")},  # type: ignore[arg-type]
            )
            node = Node(settings, clock=clock)
            await node.start()
            harnesses.append(Harness(node, clock))
        yield harnesses[0], harnesses[1]
    finally:
        for harness in reversed(harnesses):
            await harness.node.stop()


async def test_a_freeze_on_one_node_is_refused_on_the_other_at_once(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as (a, b):
        kevin = await a.enter("Kevin", 17, gender="man")
        lea = await b.enter("Lea", 13)
        # Node B reads the conversation (no row yet) and caches that.
        await lea.send_private("Kevin", "salut")
        assert b.node.fence.conversations.misses >= 1
        await lea.send_private("Kevin", "ca va")
        assert b.node.fence.conversations.hits >= 1
        for text in ("salut", "t'as quel âge ?", "tu habites où ?", "t'es dans quel collège ?"):
            await kevin.send_private("Lea", text)
        frozen = await kevin.refused(
            kevin.send_private("Lea", "envoie moi une photo, et dis-le pas à tes parents")
        )
        assert frozen.code == ErrorCode.CONVERSATION_FROZEN
        # The freeze is acknowledged: node B refuses the next message, without waiting.
        still = await lea.refused(lea.send_private("Kevin", "ok"))
        assert still.code == ErrorCode.CONVERSATION_FROZEN
        again = await kevin.refused(kevin.send_private("Lea", "ok"))
        assert again.code == ErrorCode.CONVERSATION_FROZEN


async def test_the_cache_keeps_the_absence_of_a_row_and_drops_it_on_change(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path) as (a, b):
        marc = await a.enter("Marc", 40, gender="man")
        await b.enter("Lea", 15)
        await marc.join("general")
        fence = a.node.fence
        before = fence.conversations.misses
        for n in range(5):
            await marc.say("general", f"bonjour numero v{n}")
        # One read of the (absent) row; the others are hits.
        assert fence.conversations.misses == before + 1
        # What an adult may not send where minors read: recorded, announced, frozen everywhere.
        with pytest.raises(ChatError) as refused:
            await marc.say("general", "mon sn@p c'est marc_75")
        assert refused.value.code == ErrorCode.MINORS_PROTECTED
        frozen = await marc.refused(marc.say("general", "bonjour"))
        assert frozen.code == ErrorCode.CONVERSATION_FROZEN
        key = "room:general:marc"
        assert await b.node.fence.frozen(key)
