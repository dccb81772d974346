"""A closed connection is freed when it ends, not when a full garbage collection finds it.

``causerie serve`` freezes what survives a full collection (gateway/collector.py): a connection
kept alive by a reference cycle would stay in memory until the next thaw. So a connection that
has ended must hold no cycle: reference counting alone frees it.
"""

from __future__ import annotations

import asyncio
import gc

from tests.conftest import RunningServer

from causerie.gateway.connection import Connection
from causerie.gateway.outbox import WebSocketOutbox
from causerie.gateway.websocket import ChatWebSocketProtocol


def _alive(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_an_ended_connection_is_freed_without_the_collector(server: RunningServer) -> None:
    gc.collect()
    gc.disable()
    try:
        async with server.client() as chatter:
            await chatter.enter("Passante", 30, "woman", "69003")
            await chatter.join("general")
            await chatter.say("general", "bonsoir, je ne fais que passer")
            assert _alive(Connection) == 1
        for _ in range(100):  # the server side ends a moment after the client
            if _alive(Connection) == 0:
                break
            await asyncio.sleep(0.02)
        assert _alive(Connection) == 0
        assert _alive(WebSocketOutbox) == 0
        assert _alive(ChatWebSocketProtocol) == 0
    finally:
        gc.enable()
