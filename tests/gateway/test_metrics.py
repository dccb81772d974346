"""Issue 12 item 7: /metrics names what an operator watches (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable

import httpx
from tests.conftest import run_server

from causerie.client import ClientError
from causerie.settings import Settings


def value(text: str, sample: str) -> float:
    """The value of one sample line (``name{labels}``) of the exposition, 0 when absent."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def scrape(http: str) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{http}/metrics")
    assert response.status_code == 200
    return response.text


async def test_metrics_count_messages_decisions_refusals_and_time_the_path(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(server={"heartbeat_seconds": 0.1})
    async with run_server(settings) as server:
        before = await scrape(server.http)
        async with server.client() as alice, server.client() as bruno:
            await alice.enter("Alice", 30, "woman", "75011")
            await bruno.enter("Bruno", 31, "man", "69003")
            await alice.join("general")
            await bruno.join("general")
            await alice.say("general", "bonjour à tous")
            await alice.send_private("Bruno", "salut")
            with contextlib.suppress(ClientError):
                await alice.send_private("Personne", "allô")
            await asyncio.sleep(0.4)  # a few heartbeats: bus pings, the review queue's depth
            after = await scrape(server.http)

    def grew(sample: str, by: float = 1) -> bool:
        return value(after, sample) - value(before, sample) >= by

    assert grew('causerie_messages_total{kind="room_message"}')
    assert grew('causerie_messages_total{kind="private_message"}')
    # Alice's message reached Alice and Bruno; the private one Bruno.
    assert grew('causerie_deliveries_total{target="room"}', 2)
    assert grew('causerie_deliveries_total{target="session"}')
    assert grew('causerie_decisions_total{action="allow",category="none"}', 4)
    assert grew('causerie_screening_seconds_count{kind="message"}')
    assert grew('causerie_screening_seconds_count{kind="nickname"}', 2)
    assert grew("causerie_commit_seconds_count", 2)
    assert grew('causerie_refusals_total{code="recipient_not_found"}')
    assert grew("causerie_bus_lag_seconds_count", 2)
    assert 'causerie_review_queue_depth{queue="child_safety"}' in after
    assert value(after, "causerie_connections") == 2
