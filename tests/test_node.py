"""What a node, and the server that runs it, do to their process when they start."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from causerie.gateway.app import create_app
from causerie.settings import Settings
from tests.harness import harness


async def test_a_started_node_runs_blas_on_one_thread(tmp_path: Path) -> None:
    # Two threads first, so that only the node's start can bring it back to one.
    with threadpool_limits(limits=2, user_api="blas"):
        async with harness(tmp_path):
            blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
            assert blas
            assert all(pool["num_threads"] == 1 for pool in blas)


@pytest.mark.parametrize("freeze", [False, True])
async def test_the_served_app_freezes_the_heap_it_started_with(
    make_settings: Callable[..., Settings], freeze: bool
) -> None:
    gc.unfreeze()
    app = create_app(make_settings(), freeze_heap=freeze)
    try:
        async with app.router.lifespan_context(app):
            # The models and rule packs loaded at start-up are out of the collector's reach.
            assert (gc.get_freeze_count() > 10_000) is freeze
    finally:
        gc.unfreeze()
