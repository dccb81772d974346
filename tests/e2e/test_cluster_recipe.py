"""docs/operations.md, "Two nodes on one machine", run as written: two ``causerie serve``
processes sharing PostgreSQL, Redis, the retention key file and the minors' memory key.

Then the life of a node: one killed with SIGKILL and restarted at once (its stable id clears
its chatters as it starts), and one killed for good (the other's heartbeat removes them).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from causerie.client import Client, ClientError, MemberLeft, RoomMessage
from causerie.errors import ErrorCode
from tests.bus.test_bus import URLS, require_broker
from tests.conftest import free_port

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


class Recipe:
    """The environment of the recipe, and its ``causerie`` commands as subprocesses."""

    def __init__(self, postgres_url: str, directory: Path) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")}
        self.env |= {
            "CAUSERIE_DATABASE__URL": postgres_url,
            "CAUSERIE_BUS__BACKEND": "redis",
            "CAUSERIE_BUS__URL": URLS["redis"],
            "CAUSERIE_BUS__CHANNEL": f"causerie.test.{secrets.token_hex(4)}",
            "CAUSERIE_LEGAL__KEYS_FILE": str(directory / "keys" / "retention.keys"),
            "CAUSERIE_LEGAL__CREATE_MISSING_KEY": "false",
            "CAUSERIE_MINORS__MEMORY_KEY": secrets.token_hex(32),
            "CAUSERIE_DATABASE__AUTO_MIGRATE": "false",
            "CAUSERIE_LEGAL__AUTO_MIGRATE": "false",
        }
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "causerie.cli.main", *args],
            env=self.env, cwd=self.directory, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def serve(self, port: int) -> str:
        command = [sys.executable, "-m", "causerie.cli.main", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with (self.directory / f"serve-{port}.log").open("ab") as log:
            process = subprocess.Popen(
                command, env=self.env, cwd=self.directory, stdout=log, stderr=log
            )
        self.processes[port] = process
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, self.log(port)
            assert time.monotonic() < deadline, self.log(port)
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
                return f"ws://127.0.0.1:{port}/ws"
            time.sleep(0.2)

    def log(self, port: int) -> str:
        return (self.directory / f"serve-{port}.log").read_text(errors="replace")

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.processes.clear()


@pytest.fixture
def recipe(postgres_url: str, tmp_path: Path) -> Iterator[Recipe]:
    require_broker("redis")
    made = Recipe(postgres_url, tmp_path)
    try:
        yield made
    finally:
        made.stop_all()


async def test_two_nodes_as_the_docs_say(recipe: Recipe) -> None:
    # Once: the migrations, then the key file (no node may create its own).
    migrated = recipe.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    created = recipe.run("legal", "--officer", "ops", "keys", "rotate")
    assert created.returncode == 0, created.stderr
    assert (recipe.directory / "keys" / "retention.keys").stat().st_mode & 0o077 == 0
    port_a, port_b = free_port(), free_port()
    url_a, url_b = recipe.serve(port_a), recipe.serve(port_b)

    async with Client(url_a) as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        async with Client(url_b) as bob:
            await bob.enter("Bob", 41, "man", "69003")
            await bob.join("general")
            await bob.say("general", "bonjour depuis le nœud B")
            heard = await alice.next_event(RoomMessage, within=5)
            assert (heard.sender, heard.text) == ("Bob", "bonjour depuis le nœud B")
            await alice.send_private("Bob", "bonjour depuis le nœud A")

            # A crash, and the same process started again at once: its stable id (host and
            # port) makes Bob its own ghost, removed as it starts, not after the heartbeats.
            recipe.kill(port_b)
            killed = time.monotonic()
            recipe.serve(port_b)
            left = await alice.next_event(MemberLeft, within=30)
            cleared_by_restart = time.monotonic() - killed
            assert left.nickname == "Bob"
        # The default heartbeat is 3 s and a node is dead after 3 periods: the restart must
        # have cleared Bob before any heartbeat could have.
        assert cleared_by_restart < 9, cleared_by_restart
        with pytest.raises(ClientError) as refused:
            await alice.send_private("Bob", "tu es là ?")
        assert refused.value.code == ErrorCode.RECIPIENT_NOT_FOUND

        # A crash for good: node A's heartbeat removes node B's chatters.
        async with Client(url_b) as carla:
            await carla.enter("Carla", 35, "woman", "69003")
            await carla.join("general")
            recipe.kill(port_b)
            killed = time.monotonic()
            left = await alice.next_event(MemberLeft, within=30)
            removed_by_heartbeat = time.monotonic() - killed
            assert left.nickname == "Carla"
        assert removed_by_heartbeat < 15, removed_by_heartbeat
        with pytest.raises(ClientError) as refused:
            await alice.send_private("Carla", "tu es là ?")
        assert refused.value.code == ErrorCode.RECIPIENT_NOT_FOUND
    print(f"restart cleared in {cleared_by_restart:.1f} s,", end=" ")
    print(f"heartbeat in {removed_by_heartbeat:.1f} s")


async def test_a_node_without_the_key_file_refuses_to_start_in_one_line(recipe: Recipe) -> None:
    assert recipe.run("migrate").returncode == 0
    refused = recipe.run("serve", "--port", str(free_port()))
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert lines[-1].startswith("causerie: retention store: retention key file")
    assert "Traceback" not in refused.stderr
