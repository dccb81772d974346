"""Issue 12, socket exhaustion and memory: 2,000 silent sockets do not lock a new visitor out,
and one connection's ignore flood stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import time
import urllib.request
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from causerie.client import Client, ClientError, Error
from causerie.errors import ErrorCode
from causerie.settings import Settings
from tests.conftest import free_port, run_server

SERVER = """
import sys, uvicorn
from causerie.settings import Settings
from causerie.gateway.app import create_app
from causerie.gateway.server import uvicorn_config
settings = Settings.model_validate_json(sys.argv[1])
app = create_app(settings)
uvicorn.Server(uvicorn_config(app, settings, port=int(sys.argv[2]), log_level="warning")).run()
"""

SILENT = 2_000
CAP = 50


def _usual_file_limit() -> None:
    # The server gets the usual 1,024 descriptors and cannot raise them: without bounds, a
    # thousand silent sockets take them all.
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


@contextlib.asynccontextmanager
async def subprocess_server(
    settings: Settings, log_file: Path
) -> AsyncIterator[tuple[int, list[str]]]:
    port = free_port()
    with log_file.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SERVER,
            settings.model_dump_json(),
            str(port),
            stderr=stderr,
            preexec_fn=_usual_file_limit,
            env={k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")},
        )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await asyncio.to_thread(
                    urllib.request.urlopen, f"http://127.0.0.1:{port}/healthz", timeout=1
                )
                break
            except OSError:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                await asyncio.sleep(0.1)
        yield port, lines
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        lines.extend((await asyncio.to_thread(log_file.read_text)).splitlines())


Silent = tuple[asyncio.StreamReader, asyncio.StreamWriter] | None


async def _silent(port: int, upgrade: bool) -> Silent:
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.2", 0)
        )
    except OSError:
        return None
    if upgrade:
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
    return reader, writer  # the writer too: a collected writer closes its socket


async def _is_open(silent: Silent, within: float) -> bool:
    """True if the server has not closed this socket within ``within`` seconds."""
    if silent is None:
        return False
    reader = silent[0]
    try:
        while data := await asyncio.wait_for(reader.read(65536), within):
            if b"\r\n\r\n\x88" in data or data.startswith(b"\x88") or b"}\x88" in data:
                return False  # a WebSocket close frame: the server ended it
    except TimeoutError:
        return True
    except OSError:
        return False
    return False


@pytest.fixture
def many_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 3 * SILENT:
        pytest.skip(f"needs {3 * SILENT} open files in the test process, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 3 * SILENT), hard))


async def test_silent_sockets_do_not_lock_a_new_visitor_out(
    tmp_path: Path, many_files: None
) -> None:
    # This test allocates thousands of sockets, so the collector runs here and finds whatever an
    # earlier test left (an aiosqlite connection whose open failed warns when collected): collect
    # it first, so that its warning is not reported as this test's failure. The leaking test is
    # not found yet (noted in issue 12).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    settings = Settings(
        database={"url": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"},
        server={"handshake_timeout_seconds": 2.0},
        limits={"enter_timeout_seconds": 2.0, "max_connections_per_address": CAP},
        legal={"keys_file": str(tmp_path / "keys" / "k.keys")},
    )
    async with subprocess_server(settings, tmp_path / "server.log") as (port, log_lines):
        # Half never say a word, half upgrade to WebSocket and never enter.
        silent = await asyncio.gather(*(_silent(port, i % 2 == 1) for i in range(SILENT)))
        assert sum(r is not None for r in silent) > CAP, "the silent sockets did connect"
        still = await asyncio.gather(*(_is_open(r, 0.5) for r in silent))
        assert sum(still) <= CAP, "one address holds no more than its cap"
        # A new visitor gets in while the silent sockets are still there.
        assert sum(still) >= CAP // 2, "the silent sockets are still there"
        arrived = time.monotonic()
        async with Client(f"ws://127.0.0.1:{port}/ws") as visitor:
            welcome = await visitor.enter("Visiteuse", 30, "woman", "75011")
            assert welcome.me.nickname == "Visiteuse"
        assert time.monotonic() - arrived < 1.5, "the visitor came in before any timeout"
        # After the handshake and enter timeouts nothing silent is left.
        still = await asyncio.gather(*(_is_open(r, 4.0) for r in silent))
        assert sum(still) == 0
        for pair in silent:
            if pair is not None:
                pair[1].close()
    # Refusals are logged, a few lines per kind and minute.
    assert any("too_many_connections" in line for line in log_lines)
    assert any("no request within" in line or "did not enter" in line for line in log_lines)
    assert len([line for line in log_lines if "refused" in line or "closed a" in line]) < 30


async def test_the_ignore_flood_is_bounded(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(limits={"frames_burst": 5_000, "frames_per_second": 1_000})
    async with run_server(settings) as server, server.client() as flooder:
        await flooder.enter("Flooder", 30, "man", "75011")
        # The frame: a 15,000-character name; it can never be anyone's nickname.
        await flooder.send_raw(json.dumps({"type": "ignore", "nickname": "x" * 15_000}))
        error = await flooder.next_event(Error, within=5)
        assert (error.code, error.field) == (ErrorCode.NICKNAME_INVALID, "nickname")
        replies: list[int] = []
        for i in range(settings.limits.max_ignored + 100):
            name = f"n{i:05d}".ljust(20, "x")
            try:
                replies.append(len(await flooder.ignore(name)))
            except ClientError as refused:
                assert refused.code == ErrorCode.IGNORE_LIST_FULL
                replies.append(-1)
        assert max(replies) == settings.limits.max_ignored
        assert replies.count(-1) == 100
        # Unignoring makes room again.
        await flooder.unignore("n00000".ljust(20, "x"))
        assert len(await flooder.ignore("someone")) == settings.limits.max_ignored
