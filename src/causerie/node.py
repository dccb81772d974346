"""A running causerie node: the stores, the bus, the hub and the services, built from settings.

The ASGI application owns one :class:`Node` for its lifetime; background work (heartbeat, purge)
runs in tasks the node starts and awaits on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

from causerie.bus import Bus, create_bus
from causerie.chat.hub import Hub
from causerie.chat.rooms import load_catalogue
from causerie.chat.service import ChatService
from causerie.legal.runtime import LegalNode
from causerie.safety.pipeline import SafetyPipeline
from causerie.settings import Settings
from causerie.store.database import create_engine, migrate
from causerie.store.messages import MessageStore
from causerie.store.presence import PresenceStore
from causerie.store.rooms import RoomStore
from causerie.store.safety import SafetyStore

log = logging.getLogger(__name__)


class Node:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.node_id = settings.server.node_id or f"{socket.gethostname()}-{secrets.token_hex(4)}"
        self.engine = create_engine(settings.database.url, echo=settings.database.echo)
        self.presence = PresenceStore(self.engine)
        self.rooms = RoomStore(self.engine)
        self.messages = MessageStore(self.engine)
        self.hub = Hub()
        self.bus: Bus = create_bus(settings.bus)
        self.chat = ChatService(
            settings,
            node_id=self.node_id,
            presence=self.presence,
            rooms=self.rooms,
            messages=self.messages,
            bus=self.bus,
            hub=self.hub,
            clock=clock,
        )
        # Lawful retention: traffic records go to their own encrypted database (docs/legal.md).
        self.legal = LegalNode(settings, messages=self.messages, clock=clock)
        self.chat.traffic = self.legal.traffic
        # Escalations of the minors fence seal their triggering attempt as evidence.
        self.chat.fence.evidence = self.legal.service.evidence
        self.safety: SafetyPipeline | None = None
        if settings.safety.enabled:
            self.safety = SafetyPipeline.from_settings(
                settings.safety, store=SafetyStore(self.engine), clock=clock
            )
            self.chat.screen = self.safety
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.settings.database.auto_migrate:
            await asyncio.to_thread(migrate, self.settings.database.url)
        await self.legal.start()
        catalogue = load_catalogue(self.settings.chat.rooms_file)
        now = self.clock()
        await self.rooms.sync_catalogue(catalogue, now)
        await self.presence.register_node(self.node_id, now)
        await self.bus.start(self.hub.on_envelope)
        self._spawn(self._heartbeat_loop, "heartbeat")
        self._spawn(self._purge_loop, "purge")
        if self.safety is not None:
            await self.safety.start()
            self._spawn(self.safety.run, "safety")
        self._spawn(self.legal.run, "legal")
        log.info("node %s started (bus %s)", self.node_id, self.bus.name)

    def _spawn(self, loop: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._tasks.append(asyncio.create_task(loop(), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.presence.unregister_node(self.node_id)
        await self.bus.close()
        await self.legal.stop()
        await self.engine.dispose()

    async def _heartbeat_loop(self) -> None:
        period = self.settings.server.heartbeat_seconds
        while True:
            await asyncio.sleep(period)
            try:
                now = self.clock()
                await self.presence.heartbeat(self.node_id, now)
                dead = await self.presence.remove_dead_nodes(now - 3 * period)
                if dead.nodes:
                    log.warning("removed silent nodes %s and their chatters", dead.nodes)
                    await self.chat.announce_departures(dead.departures)
            except Exception:
                log.exception("heartbeat failed")

    async def _purge_loop(self) -> None:
        while True:
            try:
                removed = await self.chat.purge_expired()
                if removed:
                    log.info("purged %d expired messages", removed)
            except Exception:
                log.exception("purge failed")
            await asyncio.sleep(self.settings.chat.purge_interval_seconds)
