"""Presence with a node-local copy of who is online by nickname key, kept coherent by the bus.

A private message, a typing notice to one person, the fence's "is @name online" all look a
chatter up by nickname key; without a copy that was one database round trip per message. Every
change of who is online goes through this class (it is the presence store the node gives to
the chat), which drops its own copies at once and announces the change on the bus
(``presence_changed``) before it returns; every node's hub hands the announcement to
:meth:`Presence.forget`. A copy also lapses after ``ttl`` seconds, so that a lost announcement
(a broker restart) cannot keep a stale answer longer than that.

A lookup that started before a change and ends after it is not kept (``_epoch``): the copy can
only be older than the database by the bus's delay, never by a race with a change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.bus import Bus
from causerie.chat.envelopes import PresenceChanged, envelope_encoder
from causerie.store.database import Write
from causerie.store.presence import DeadNodes, OnlineSession, PresenceStore

log = logging.getLogger(__name__)

# Long enough that a busy conversation reads the database once every few seconds per recipient,
# short enough to bound the damage of a lost announcement.
PRESENCE_CACHE_SECONDS = 5.0


class Presence(PresenceStore):
    """:class:`PresenceStore` whose ``by_key`` answers from memory."""

    def __init__(
        self,
        engine: AsyncEngine,
        bus: Bus,
        *,
        ttl: float = PRESENCE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(engine)
        self.bus = bus
        self.ttl = ttl
        self.clock = clock
        # nickname key -> (when read, the session or None for nobody online under it)
        self._by_key: dict[str, tuple[float, OnlineSession | None]] = {}
        # session id -> nickname key, for the announcements that name sessions only
        self._key_of: dict[str, str] = {}
        self._epoch = 0
        # For the bench and the tests: lookups answered from memory and from the database.
        self.hits = 0
        self.misses = 0

    # -- the cache -------------------------------------------------------------------------

    async def by_key(self, nickname_key: str) -> OnlineSession | None:
        now = self.clock()
        cached = self._by_key.get(nickname_key)
        if cached is not None and now - cached[0] < self.ttl:
            self.hits += 1
            return cached[1]
        self.misses += 1
        epoch = self._epoch
        row = await super().by_key(nickname_key)
        if epoch == self._epoch:
            self._keep(nickname_key, now, row)
        return row

    def _keep(self, key: str, now: float, row: OnlineSession | None) -> None:
        if len(self._by_key) > 100_000:
            self._clear()
        self._by_key[key] = (now, row)
        if row is not None:
            self._key_of[row.id] = key

    def _clear(self) -> None:
        self._by_key.clear()
        self._key_of.clear()

    def forget(self, change: PresenceChanged) -> None:
        """Drop every copy the change touches (this node's, or another node's announcement)."""
        self._epoch += 1
        for key in change.keys:
            _, row = self._by_key.pop(key, (0.0, None))
            if row is not None:
                self._key_of.pop(row.id, None)
        for session_id in change.sessions:
            known = self._key_of.pop(session_id, None)
            if known is not None:
                self._by_key.pop(known, None)
        if change.nodes:
            nodes = set(change.nodes)
            for key, (_, row) in list(self._by_key.items()):
                if row is not None and row.node_id in nodes:
                    del self._by_key[key]
                    self._key_of.pop(row.id, None)

    async def _changed(
        self,
        *,
        keys: list[str] | None = None,
        sessions: list[str] | None = None,
        nodes: list[str] | None = None,
    ) -> None:
        change = PresenceChanged(keys=keys or [], sessions=sessions or [], nodes=nodes or [])
        self.forget(change)
        try:
            await self.bus.publish(envelope_encoder.encode(change))
        except Exception:
            # The change is in the database already and must stand (an entry that failed here
            # would leave its nickname taken). Other nodes keep their copies for ``ttl`` at
            # most, and with the bus down nothing they would misdirect can be delivered.
            log.warning("presence change not announced (bus down?): %s", change, exc_info=True)

    # -- every change of who is online -----------------------------------------------------

    async def add_session(
        self, session: OnlineSession, now: float, *, with_writes: Sequence[Write] = ()
    ) -> None:
        await super().add_session(session, now, with_writes=with_writes)
        await self._changed(keys=[session.nickname_key], sessions=[session.id])

    async def remove_session(self, session_id: str) -> list[str]:
        rooms = await super().remove_session(session_id)
        await self._changed(sessions=[session_id])
        return rooms

    async def update_age(self, session_id: str, age: int) -> None:
        # An age is what the minors' rules read: no node may keep the old one.
        await super().update_age(session_id, age)
        await self._changed(sessions=[session_id])

    async def register_node(self, node_id: str, now: float) -> list[tuple[str, str]]:
        departures = await super().register_node(node_id, now)
        await self._changed(nodes=[node_id])
        return departures

    async def remove_dead_nodes(self, seen_before: float) -> DeadNodes:
        dead = await super().remove_dead_nodes(seen_before)
        if dead.nodes:
            await self._changed(nodes=dead.nodes)
        return dead

    async def unregister_node(self, node_id: str) -> None:
        await super().unregister_node(node_id)
        await self._changed(nodes=[node_id])
