"""The web client's reducer tests (tests/web/*.test.mjs), run with Node's own test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_the_client_reducer_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: `make test` runs node --test tests/web itself")
    result = subprocess.run(
        [node, "--test", *sorted(str(p) for p in HERE.glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_client_protocol_types_match_the_frames() -> None:
    """static/js/protocol.js is generated from protocol/frames.py: rerun the script on change."""
    import importlib.util

    script = HERE.parent.parent / "scripts" / "gen_protocol_types.py"
    spec = importlib.util.spec_from_file_location("gen_protocol_types", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUT.read_text("utf-8") == module.render(), (
        "run .venv/bin/python scripts/gen_protocol_types.py"
    )
