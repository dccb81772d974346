"""Full garbage collections that do not grow with the connections a node holds.

A full collection walks every object the collector tracks and stops the event loop while it
does. An entered, idle connection keeps about 100 such objects (its tasks, their coroutines and
contexts, futures, token buckets, the protocol's buffers), and a full collection cost about
70 µs a connection on the 2-core bench machine: 66-71 ms with 1,000 connections held, 211 ms
with 3,000, so most of a second at the 10,000 a node is meant to hold. Under load one came every
few seconds (objects queued for the next flush outlive the young generations and count towards
the next full collection), and each one delayed every message in flight.

:class:`SurvivorFreezer` moves what survives a full collection out of the collector's reach
(:func:`gc.freeze`) on the next turn of the loop, so the next full collection walks only what
was allocated since: the connections that came and the frames in flight, not the thousands held.
Frozen objects are still freed by reference counting when their last reference goes; only a
cycle among them would outlive its use. An ended connection holds none (its outbox lets go of
the connection's callbacks, ``WebSocketOutbox.release``; tests/gateway/test_connection_lifetime.py),
so closed connections do not pile up between thaws. Every ``thaw_seconds`` everything is thawed
(:func:`gc.unfreeze`) and the next full collection walks the whole heap once, frees such cycles
and freezes the rest again: one long pause in that period instead of one every few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

OLDEST = 2


class SurvivorFreezer:
    """Freezes the survivors of each full collection; thaws everything every ``thaw_seconds``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thaw_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loop = loop
        self.thaw_seconds = thaw_seconds
        self._clock = clock
        self._thawed_at = clock()
        self._pending = False
        self.freezes = 0
        self.thaws = 0

    def install(self) -> None:
        gc.callbacks.append(self._on_collection)

    def remove(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Any thread may run a collection; the freeze runs on the loop's, after it.
        if phase != "stop" or info.get("generation") != OLDEST or self._pending:
            return
        self._pending = True
        try:
            self._loop.call_soon_threadsafe(self.freeze)
        except RuntimeError:  # the loop is closed: the node is stopping
            self._pending = False

    def freeze(self) -> None:
        self._pending = False
        gc.freeze()
        self.freezes += 1

    def thaw_if_due(self) -> bool:
        """Thaw everything once ``thaw_seconds`` have passed since the last thaw."""
        now = self._clock()
        if now - self._thawed_at < self.thaw_seconds:
            return False
        self._thawed_at = now
        gc.unfreeze()
        self.thaws += 1
        return True

    async def run(self) -> None:
        """Thaw on schedule until cancelled."""
        while True:
            await asyncio.sleep(min(self.thaw_seconds, 60.0))
            if self.thaw_if_due():
                log.debug("thawed the frozen heap: the next full collection walks all of it")
