"""One suite, every bus: memory, Redis and NATS keep the same contract.

Like Uvicorn's ``ws_protocol_cls`` fixture, ``backend`` runs each test once per implementation.
Redis and NATS are started by CI (.ci/run); when one is unreachable the test fails with the
address it tried, rather than skipping, so a broken broker cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import pytest

from causerie.bus import Bus, create_bus
from causerie.settings import BusSettings

URLS = {"redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}
BROKERS = [pytest.param(name, marks=pytest.mark.broker) for name in URLS]


def require_broker(backend: str) -> None:
    if backend not in URLS:
        return
    address = urlsplit(URLS[backend])
    try:
        socket.create_connection((address.hostname, address.port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"{backend} is required at {address.netloc} and is not reachable: {exc}")


class Receiver:
    """A node's handler: records what it receives and lets a test wait for a count."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._changed = asyncio.Event()

    async def __call__(self, payload: bytes) -> None:
        self.received.append(payload)
        self._changed.set()

    async def wait_for(self, count: int, within: float = 5.0) -> list[bytes]:
        async def wait() -> None:
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), within)
        return self.received


BusFactory = Callable[[], Bus]


@pytest.fixture(params=["memory", *BROKERS])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Build buses of one backend on a channel of their own; closes them all at the end."""
    backend = str(request.param)
    require_broker(backend)
    channel = f"causerie.test.{secrets.token_hex(6)}"
    made: list[Bus] = []

    def make() -> Bus:
        bus = create_bus(BusSettings(backend=backend, url=URLS.get(backend, ""), channel=channel))  # type: ignore[arg-type]
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture(params=BROKERS)
async def make_node_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Buses that several nodes share: only the brokers, the memory bus is one process."""
    backend = str(request.param)
    require_broker(backend)
    channel = f"causerie.test.{secrets.token_hex(6)}"
    made: list[Bus] = []

    def make() -> Bus:
        bus = create_bus(BusSettings(backend=backend, url=URLS[backend], channel=channel))  # type: ignore[arg-type]
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


def payloads(count: int, prefix: str = "") -> list[bytes]:
    return [f'{{"n":{i},"from":"{prefix}"}}'.encode() for i in range(count)]


# -- one node -------------------------------------------------------------------------------


async def test_a_node_receives_what_it_publishes_in_order(make_bus: BusFactory) -> None:
    bus, receiver = make_bus(), Receiver()
    await bus.start(receiver)
    sent = payloads(300)
    for payload in sent:
        await bus.publish(payload)
    assert await receiver.wait_for(len(sent)) == sent
    assert bus.name in ("memory", "redis", "nats")


async def test_payloads_arrive_byte_for_byte(make_bus: BusFactory) -> None:
    bus, receiver = make_bus(), Receiver()
    await bus.start(receiver)
    sent = [b"", bytes(range(256)), "é€😀".encode(), b"x" * 256_000]
    for payload in sent:
        await bus.publish(payload)
    assert await receiver.wait_for(len(sent)) == sent


async def test_a_failing_handler_does_not_stop_delivery(
    make_bus: BusFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bus, receiver = make_bus(), Receiver()

    async def fragile(payload: bytes) -> None:
        if payload == b"boom":
            raise ValueError("handler bug")
        await receiver(payload)

    await bus.start(fragile)
    with caplog.at_level(logging.ERROR):
        for payload in (b"one", b"boom", b"two"):
            await bus.publish(payload)
        assert await receiver.wait_for(2) == [b"one", b"two"]
    assert "bus handler failed" in caplog.text


async def test_publishing_before_start_or_after_close_is_an_error(make_bus: BusFactory) -> None:
    bus = make_bus()
    with pytest.raises(RuntimeError):
        await bus.publish(b"too early")
    await bus.start(Receiver())
    await bus.close()
    with pytest.raises(RuntimeError):
        await bus.publish(b"too late")


async def test_close_is_clean_and_can_be_repeated(make_bus: BusFactory) -> None:
    before = asyncio.all_tasks()
    bus, receiver = make_bus(), Receiver()
    await bus.start(receiver)
    await bus.publish(b"one")
    await receiver.wait_for(1)
    await bus.close()
    await bus.close()
    await asyncio.sleep(0.05)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert not leftover, f"tasks still running after close: {leftover}"


# -- several nodes --------------------------------------------------------------------------


async def test_every_node_receives_every_envelope_in_publish_order(
    make_node_bus: BusFactory,
) -> None:
    first, second = make_node_bus(), make_node_bus()
    first_received, second_received = Receiver(), Receiver()
    await first.start(first_received)
    await second.start(second_received)
    from_first, from_second = payloads(100, "a"), payloads(100, "b")
    await asyncio.gather(
        *(first.publish(p) for p in from_first), *(second.publish(p) for p in from_second)
    )
    for received in (first_received, second_received):
        got = await received.wait_for(200)
        assert sorted(got) == sorted(from_first + from_second)
        # Each publisher's envelopes keep their order, whatever the interleaving.
        assert [p for p in got if b'"a"' in p] == from_first
        assert [p for p in got if b'"b"' in p] == from_second


async def test_a_node_subscribed_is_reached_at_once(make_node_bus: BusFactory) -> None:
    # start() returns only once the subscription is live: a node that has just started must
    # not miss what another publishes right after.
    publisher = make_node_bus()
    await publisher.start(Receiver())
    for _ in range(5):
        joiner, received = make_node_bus(), Receiver()
        await joiner.start(received)
        await publisher.publish(b"hello")
        assert await received.wait_for(1, within=2.0) == [b"hello"]
        await joiner.close()


async def test_a_closed_node_receives_nothing_more(make_node_bus: BusFactory) -> None:
    staying, leaving = make_node_bus(), make_node_bus()
    stayed, left = Receiver(), Receiver()
    await staying.start(stayed)
    await leaving.start(left)
    await staying.publish(b"before")
    await left.wait_for(1)
    await leaving.close()
    await staying.publish(b"after")
    assert await stayed.wait_for(2) == [b"before", b"after"]
    await asyncio.sleep(0.1)
    assert left.received == [b"before"]


async def test_channels_are_separate(make_node_bus: BusFactory) -> None:
    ours, received = make_node_bus(), Receiver()
    await ours.start(received)
    backend = ours.name
    other = create_bus(
        BusSettings(backend=backend, url=URLS[backend], channel=f"other.{secrets.token_hex(4)}")  # type: ignore[arg-type]
    )
    other_received = Receiver()
    await other.start(other_received)
    try:
        await other.publish(b"elsewhere")
        await ours.publish(b"here")
        assert await received.wait_for(1) == [b"here"]
        await other_received.wait_for(1)
        await asyncio.sleep(0.05)
        assert received.received == [b"here"]
    finally:
        await other.close()


@pytest.mark.broker
async def test_redis_bus_resubscribes_after_losing_its_connection() -> None:
    require_broker("redis")
    import redis.asyncio as aioredis

    from causerie.bus.redis import RedisBus

    channel = f"causerie.test.{secrets.token_hex(6)}"
    bus, received = RedisBus(URLS["redis"], channel), Receiver()
    admin = aioredis.Redis.from_url(URLS["redis"])
    await bus.start(received)
    try:
        await bus.publish(b"before")
        await received.wait_for(1)
        # Only our subscriber's connection is killed: other tests share this Redis.
        pubsub = bus._pubsub
        assert pubsub is not None and pubsub.connection is not None
        host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
        assert await admin.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1

        async def deliver_after() -> None:
            # Publish until the subscription is back; what was sent while it was down is lost.
            while b"after" not in received.received:
                await bus.publish(b"after")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(deliver_after(), 10.0)
    finally:
        await bus.close()
        await admin.aclose()
