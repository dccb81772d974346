"""Redis pub/sub bus: one channel, every node subscribed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from causerie.bus.base import Handler

log = logging.getLogger(__name__)

# How long a publication may wait for Redis to take it before it counts as failed.
CONFIRM_SECONDS = 5.0
# Seconds between attempts to get the subscription back after losing Redis.
_RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)


class RedisBus:
    name = "redis"

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._client: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._outgoing: deque[tuple[bytes, asyncio.Future[None]]] = deque()
        self._wake = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        # The publishing connection gives up after CONFIRM_SECONDS: a Redis that stopped
        # answering fails the publication (nothing is acknowledged) instead of holding it.
        self._client = aioredis.Redis.from_url(
            self.url, socket_timeout=CONFIRM_SECONDS, socket_connect_timeout=CONFIRM_SECONDS
        )
        # The subscription has its own client: a quiet channel is no timeout.
        self._subscriber = aioredis.Redis.from_url(self.url)
        self._pubsub = self._subscriber.pubsub()
        await self._pubsub.subscribe(self.channel)
        # The confirmation proves the subscription is live: a node that has started must not
        # miss what another node publishes right after.
        confirmation = await self._pubsub.get_message(timeout=10.0)
        if confirmation is None or confirmation.get("type") != "subscribe":
            raise RuntimeError(f"redis did not confirm the subscription to {self.channel!r}")
        self._reader = asyncio.create_task(self._read(self._pubsub, handler), name="redis-bus-in")
        self._writer = asyncio.create_task(self._write(self._client), name="redis-bus-out")

    async def _read(self, pubsub: aioredis.client.PubSub, handler: Handler) -> None:
        failures = 0
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=None)
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    # redis-py reconnects and subscribes again on the next read; until Redis is
                    # back this node hears nothing, so say so loudly, and keep trying.
                    delay = _RECONNECT_DELAYS[min(failures, len(_RECONNECT_DELAYS) - 1)]
                    failures += 1
                    log.error("redis bus lost its subscription (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                if message is None or message.get("type") != "message":
                    continue
                try:
                    await handler(message["data"])
                except Exception:
                    log.exception("bus handler failed")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed in newer redis

    async def publish(self, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("bus not started")
        future = asyncio.get_running_loop().create_future()
        self._outgoing.append((payload, future))
        self._wake.set()
        await future

    async def _write(self, client: aioredis.Redis) -> None:
        # One writer on one connection: envelopes leave in the order they were published, and a
        # burst of concurrent publishers neither exhausts the connection pool nor pays one round
        # trip each: whatever queued up meanwhile goes out in one pipeline.
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outgoing:
                batch = list(self._outgoing)
                self._outgoing.clear()
                try:
                    async with client.pipeline(transaction=False) as pipe:
                        for payload, _ in batch:
                            pipe.publish(self.channel, payload)
                        await pipe.execute()
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)

    async def close(self) -> None:
        for task in (self._writer, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer = self._reader = self._pubsub = None
        while self._outgoing:
            _, future = self._outgoing.popleft()
            if not future.done():
                future.set_exception(RuntimeError("bus closed before the envelope was sent"))
        for client in (self._client, self._subscriber):
            if client is not None:
                await client.aclose()
        self._client = self._subscriber = None
