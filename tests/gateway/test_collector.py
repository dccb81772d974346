"""Survivors of a full garbage collection are frozen out of the next; a thaw frees cycles."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from causerie.gateway.collector import SurvivorFreezer


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def _turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_full_collection_freezes_what_survived_it(thawed: None) -> None:
    clock = [0.0]
    freezer = SurvivorFreezer(asyncio.get_running_loop(), 600, clock=lambda: clock[0])
    freezer.install()
    try:
        kept = [Node() for _ in range(1000)]
        assert gc.get_freeze_count() == 0
        gc.collect()
        await _turn()
        assert freezer.freezes == 1
        assert gc.get_freeze_count() >= len(kept)
        # A young collection is not a full one: nothing more is frozen.
        gc.collect(0)
        await _turn()
        assert freezer.freezes == 1
    finally:
        freezer.remove()
    gc.collect()
    await _turn()
    assert freezer.freezes == 1, "a removed freezer no longer freezes"


async def test_a_cycle_frozen_while_alive_is_freed_after_the_thaw(thawed: None) -> None:
    clock = [0.0]
    freezer = SurvivorFreezer(asyncio.get_running_loop(), 600, clock=lambda: clock[0])
    freezer.install()
    try:
        first, second = Node(), Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        gc.collect()
        await _turn()
        del first, second
        gc.collect()
        await _turn()
        assert gone() is not None, "a frozen cycle outlives its last outside reference"
        clock[0] = 599.0
        assert not freezer.thaw_if_due()
        clock[0] = 600.0
        assert freezer.thaw_if_due()
        assert gc.get_freeze_count() == 0
        gc.collect()
        assert gone() is None
        await _turn()
        assert gc.get_freeze_count() > 0, "the survivors of that walk are frozen again"
    finally:
        freezer.remove()


async def test_frozen_objects_are_still_freed_by_reference_counting(thawed: None) -> None:
    freezer = SurvivorFreezer(asyncio.get_running_loop(), 600)
    freezer.install()
    try:
        node = Node()
        gone = weakref.ref(node)
        gc.collect()
        await _turn()
        del node
        assert gone() is None
    finally:
        freezer.remove()
