"""A message whose lawful traffic record cannot be written is neither acknowledged nor kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from causerie.chat.hooks import Peer
from causerie.client import ClientError
from causerie.errors import ErrorCode
from causerie.node import Node
from causerie.settings import Settings
from tests.conftest import run_server
from tests.harness import NoTrafficLog


class RetentionDown(NoTrafficLog):
    """The retention database is unreachable: every content record fails."""

    async def content_created(
        self, session_id: str, nickname: str, content_id: str, peer: Peer, at: float
    ) -> None:
        raise ConnectionError("retention store unreachable")


async def test_message_without_traffic_record_is_taken_back(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    node = Node(settings, traffic=RetentionDown())
    async with (
        run_server(settings, node) as server,
        server.client() as alice,
        server.client() as bob,
    ):
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        with pytest.raises(ClientError) as refused:
            await alice.say("general", "this cannot be traced, so it is not sent")
        assert refused.value.code == ErrorCode.INTERNAL_ERROR
        await bob.enter("Bob", 41, "man", "69003")
        (joined,) = await bob.join("general")
        assert joined.history == []
