"""What a node does to its process when it starts."""

from __future__ import annotations

from pathlib import Path

import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
from threadpoolctl import threadpool_info, threadpool_limits

from tests.harness import harness


async def test_a_started_node_runs_blas_on_one_thread(tmp_path: Path) -> None:
    # Two threads first, so that only the node's start can bring it back to one.
    with threadpool_limits(limits=2, user_api="blas"):
        async with harness(tmp_path):
            blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
            assert blas
            assert all(pool["num_threads"] == 1 for pool in blas)
