"""Redis pub/sub bus: one channel, every node subscribed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from causerie.bus.base import Handler

log = logging.getLogger(__name__)


class RedisBus:
    name = "redis"

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._client: aioredis.Redis | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, handler: Handler) -> None:
        self._client = aioredis.Redis.from_url(self.url)
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self._reader = asyncio.create_task(self._read(pubsub, handler), name="redis-bus-reader")

    async def _read(self, pubsub: aioredis.client.PubSub, handler: Handler) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    await handler(message["data"])
                except Exception:
                    log.exception("bus handler failed")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def publish(self, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("bus not started")
        await self._client.publish(self.channel, payload)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
