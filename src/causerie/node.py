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
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from causerie import metrics
from causerie.bus import Bus, create_bus
from causerie.chat.core import ChatCore
from causerie.chat.envelopes import ConversationChanged, Ping, envelope_encoder
from causerie.chat.hooks import TrafficLog
from causerie.chat.hub import Hub
from causerie.chat.photos import PhotoParts
from causerie.chat.presence import Presence
from causerie.chat.reports import ReportParts
from causerie.chat.rooms import load_catalogue
from causerie.chat.service import ChatService
from causerie.domain import JobStatus
from causerie.legal.runtime import LegalNode
from causerie.moderation.core import Moderation
from causerie.photos.hashbank import HashBank
from causerie.photos.nudity import SharedClassifier
from causerie.photos.sanitise import Limits
from causerie.photos.service import PhotoPipeline
from causerie.photos.storage import DiskStorage
from causerie.photos.store import PhotoStore
from causerie.protocol.identity import load_reserved_names, nickname_key
from causerie.safety.pipeline import SafetyPipeline
from causerie.settings import Settings
from causerie.store.database import create_engine, migrate
from causerie.store.messages import MessageStore
from causerie.store.reports import ReportStore
from causerie.store.resume import ResumeStore
from causerie.store.review import ReviewStore
from causerie.store.rooms import RoomStore
from causerie.store.safety import SafetyStore
from causerie.store.staff import StaffStore
from causerie.store.statements import StatementStore
from causerie.store.trust import TrustStore
from causerie.trust.fence import MinorsFence

log = logging.getLogger(__name__)


def photo_directory(settings: Settings) -> Path:
    """Where photos go: the setting, or beside the SQLite file when left relative."""
    directory = settings.photos.directory
    if directory.is_absolute():
        return directory
    url = settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :]).parent / directory
    return directory


class PresenceDirectory:
    """Who is online, for the minors fence: presence by nickname key (from memory)."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    async def is_online(self, key: str) -> bool:
        return await self.presence.by_key(key) is not None


class Node:
    """Every part of a node, built here from settings and given to constructors explicitly.

    Nothing is replaced after construction; the only choice left to a caller is ``traffic``,
    which tests use to make the retention store fail (production takes the legal store's).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        traffic: TrafficLog | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        # `causerie serve` gives a stable id (cli/serve.py: the host name and port, and the
        # worker's index), so that a restarted process clears its own ghosts at once; a node
        # built otherwise (tests, embedding) without one gets a name of its own.
        self.node_id = settings.server.node_id or f"{socket.gethostname()}-{secrets.token_hex(4)}"
        self.engine = create_engine(settings.database.url, echo=settings.database.echo)
        self.bus: Bus = create_bus(settings.bus)
        # Who is online, with the copy by nickname key the message path reads, kept coherent
        # through the bus (causerie.chat.presence).
        self.presence = Presence(self.engine, self.bus)
        self.rooms = RoomStore(self.engine)
        self.messages = MessageStore(self.engine)
        # Console staff accounts, sessions and their audit log (causerie.console).
        self.staff = StaffStore(self.engine)
        self.hub = Hub()
        self.hub.presence_changed = self.presence.forget
        # Lawful retention: traffic records go to their own encrypted database (docs/legal.md).
        self.legal = LegalNode(settings, messages=self.messages, clock=clock)
        # Escalations of the minors fence seal their triggering attempt as evidence.
        self.fence = MinorsFence(
            settings.minors,
            TrustStore(self.engine),
            evidence=self.legal.service.evidence,
            clock=clock,
        )
        # Conversation states are cached per node; a change recorded here reaches every node.
        self.fence.announce = self._announce_conversation
        self.hub.conversation_changed = self.fence.forget
        self.safety: SafetyPipeline | None = None
        if settings.safety.enabled:
            self.safety = SafetyPipeline.from_settings(
                settings.safety, store=SafetyStore(self.engine), clock=clock
            )
        self.moderation = Moderation(
            fence=self.fence,
            policy=self.safety,
            directory=PresenceDirectory(self.presence),
            nickname_key=nickname_key,
            clock=clock,
        )
        # Statements of reasons: the chat issues the automated ones, the console the others.
        self.statements = StatementStore(self.engine)
        self.photo_store = PhotoStore(self.engine)
        self.review = ReviewStore(self.engine)
        self.photo_pipeline = PhotoPipeline(
            HashBank(),
            SharedClassifier() if settings.photos.nudity_model else None,
            Limits(max_bytes=settings.photos.max_bytes),
        )
        photos = PhotoParts(
            settings=settings.photos,
            pipeline=self.photo_pipeline,
            store=self.photo_store,
            storage=DiskStorage(photo_directory(settings)),
            review=self.review,
            evidence=self.legal.service.evidence,
        )
        self.chat = ChatService(
            ChatCore(
                settings=settings,
                node_id=self.node_id,
                presence=self.presence,
                rooms=self.rooms,
                messages=self.messages,
                bus=self.bus,
                hub=self.hub,
                moderation=self.moderation,
                traffic=traffic if traffic is not None else self.legal.traffic,
                clock=clock,
            ),
            photos=photos,
            resumes=ResumeStore(self.engine),
            reports=ReportParts(
                reports=ReportStore(self.engine),
                statements=self.statements,
                safety=SafetyStore(self.engine),
            ),
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # The model's products are a few hundred floats a message: OpenBLAS's threads (one per
        # core) would spin after each of them, as much CPU as the event loop, and on the
        # core the loop needs. Every core is used by --workers instead.
        threadpool_limits(limits=1, user_api="blas")
        # A bad reserved-names file stops the node here, not at the first entry.
        load_reserved_names(self.settings.chat.reserved_names_file)
        if self.settings.database.auto_migrate:
            await asyncio.to_thread(migrate, self.settings.database.url)
        await self.legal.start()
        catalogue = load_catalogue(self.settings.chat.rooms_file)
        now = self.clock()
        await self.rooms.sync_catalogue(catalogue, now)
        await self.reload_hash_lists()
        await self.bus.start(self.hub.on_envelope)
        # After the bus: the chatters this node had before a restart leave their rooms now,
        # not when a heartbeat finds them (a stable node id makes them this node's).
        ghosts = await self.presence.register_node(self.node_id, now)
        if ghosts:
            log.warning("node %s restarted: %d memberships of its last run removed",
                        self.node_id, len(ghosts))  # fmt: skip
            await self.chat.announce_departures(ghosts)
        # The message group commit (store/messages.py): the one writer of message rows.
        self._spawn(self.messages.writer.run, "message-writer")
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

    async def _announce_conversation(self, key: str) -> None:
        await self.bus.publish(envelope_encoder.encode(ConversationChanged(key=str(key))))

    async def reload_hash_lists(self) -> None:
        """The operator's hash lists, as imported with ``causerie hashes import`` (any node)."""
        self.photo_pipeline.bank.replace(await self.photo_store.bank_entries())

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
                # Wall-clock time: the receiving node's lag includes the hosts' clock offset.
                await self.bus.publish(
                    envelope_encoder.encode(Ping(node=self.node_id, sent=time.time()))
                )
                await self._measure_review_queue()
            except Exception:
                log.exception("heartbeat failed")

    async def _measure_review_queue(self) -> None:
        for queue, statuses in (await self.review.counts()).items():
            waiting = statuses[JobStatus.OPEN] + statuses[JobStatus.CLAIMED]
            metrics.review_queue_depth.labels(queue.value).set(waiting)

    async def _purge_loop(self) -> None:
        while True:
            try:
                removed = await self.chat.purge_expired()
                if removed:
                    log.info("purged %d expired messages", removed)
            except Exception:
                log.exception("purge failed")
            await asyncio.sleep(self.settings.chat.purge_interval_seconds)
