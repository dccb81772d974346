"""End to end: a real client talks through the real server; the legal officer, with the real
command line, finds who wrote it; without a registered request nothing comes out."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import MetaData, select
from websockets.asyncio.client import connect

from causerie.cli.main import main
from causerie.client import Client
from causerie.gateway.app import create_app
from causerie.node import Node
from causerie.settings import Settings, load_settings
from causerie.store.database import create_engine
from tests.conftest import free_port, run_server
from tests.legal.conftest import DAY, OFFICER, Clock, officer_argv

FORGED = "198.51.100.66"


def write_config(tmp_path: Path, **legal: Any) -> Path:
    lines = [
        "[database]",
        f'url = "sqlite+aiosqlite:///{tmp_path / "causerie.db"}"',
        "[legal]",
        f'officers = ["{OFFICER}"]',
    ]
    # Away from the database: a key file beside it is refused.
    legal.setdefault("keys_file", f'"{tmp_path / "keys" / "causerie-retention.keys"}"')
    for name, value in legal.items():
        rendered = (
            "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else value
        )
        lines.append(f"{name} = {rendered}")
    config = tmp_path / "causerie.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


async def cli(config: Path, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``causerie`` as the officer would (in a thread: it runs its own event loop)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--config", str(config), *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_the_address_port_and_time_behind_a_room_message_through_a_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config)
    async with run_server(settings) as server, server.client() as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        ack = await alice.say("general", "Bonjour à tous")
        assert alice._ws is not None
        source_ip, source_port = alice._ws.local_address[:2]

    officer = await asyncio.to_thread(officer_argv, config)
    # (2) Not without a registered request, and the attempt is logged.
    code, out = await cli(config, *officer, "search", "PV-unregistered", capsys=capsys)
    assert code == 1 and "no judicial request is registered" in out
    # A name in the settings is not an officer: a staff account of role legal with its second
    # factor is (issue 12, finding 4).
    monkeypatch.setenv("LEGAL_OFFICER_PASSWORD", "a guessed password")
    intruder = ("legal", "--officer", "intruder", "--code", "123456")
    code, out = await cli(config, *intruder, "search", "x", capsys=capsys)
    assert code == 1 and "is not a legal officer" in out

    # (1) Through a registered request: address, port and time of the message.
    code, out = await cli(
        config,
        *officer,
        "register",
        "--authority",
        "Parquet de Paris",
        "--reference",
        "PV-2025-042",
        "--basis",
        "art. 60-1 CPP",
        "--content",
        f"m{ack.id}",
        capsys=capsys,
    )
    assert code == 0, out
    request_id = re.search(r"registered (jr-\w+)", out).group(1)  # type: ignore[union-attr]
    code, out = await cli(config, *officer, "search", "PV-2025-042", capsys=capsys)
    assert code == 0, out
    assert f"{source_ip}:{source_port}" in out
    assert "content" in out and "Alice" in out and f"m{ack.id}" in out
    code, out = await cli(config, *officer, "search", request_id, "--json", capsys=capsys)
    assert f'"port": {source_port}' in out

    # Export, verify on its own with only the public key, deliver.
    code, out = await cli(config, *officer, "keys", "signing", capsys=capsys)
    assert code == 0, out
    public_key = tmp_path / "keys" / "causerie-legal-signing.pem.pub"
    package = tmp_path / "export-PV-2025-042"
    code, out = await cli(config, *officer, "export", request_id, str(package), capsys=capsys)
    assert code == 0, out
    code, out = await cli(config, *officer, "export", request_id, str(package), capsys=capsys)
    assert code == 1 and "exists already" in out
    assert f"{source_ip},{source_port}," in (package / "traffic.csv").read_text()

    # (5) `causerie legal verify` needs only the package and the public key.
    verify = ["legal", "verify", str(package), "--public-key", str(public_key)]
    assert await asyncio.to_thread(main, verify) == 0
    assert "valid, signed by SHA256:" in capsys.readouterr().out
    traffic = package / "traffic.csv"
    traffic.write_text(traffic.read_text().replace(str(source_port), str(source_port + 1)))
    assert await asyncio.to_thread(main, verify) == 1
    assert "traffic.csv does not match its SHA-256" in capsys.readouterr().out

    code, out = await cli(config, *officer, "deliver", request_id, "--note", "PLIS", capsys=capsys)
    assert code == 0, out
    code, out = await cli(config, *officer, "audit", "--limit", "100", capsys=capsys)
    lines = out.splitlines()
    assert any(
        "search" in line and "denied" in line and "PV-unregistered" in line for line in lines
    )
    assert any("intruder" in line and "denied" in line for line in lines)
    assert sum(" export " in line and " ok " in line for line in lines) == 1
    code, out = await cli(config, *officer, "audit", "--verify", capsys=capsys)
    assert code == 0, out


class ForwardingClient(Client):
    """A client that sends forwarding headers, as a reverse proxy (or a forger) would."""

    def __init__(self, url: str, headers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.headers = headers

    async def __aenter__(self) -> ForwardingClient:
        self._ws = await connect(
            self.url, user_agent_header=self.user_agent, additional_headers=self.headers
        )
        self._reader = asyncio.create_task(self._read())
        return self


@contextlib.asynccontextmanager
async def serve(settings: Settings, node: Node | None = None) -> AsyncIterator[str]:
    """The server as `causerie serve` runs it: uvicorn does not rewrite the peer address."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, node),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("trusted", [True, False])
async def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: bool
) -> None:
    settings = load_settings(
        write_config(tmp_path, trusted_proxies=["127.0.0.1"] if trusted else ["10.0.0.1"])
    )
    node = Node(settings)
    headers = {"X-Forwarded-For": FORGED, "X-Real-Port": "40404", "X-Forwarded-Proto": "https"}
    async with serve(settings, node) as url:
        async with ForwardingClient(url, headers, user_agent="UA-Test/1.0") as client:
            await client.enter("Camille", 34, "woman", "69001")
            await client.join("general")
            ack = await client.say("general", "Bonjour")
        request = await node.legal.service.register_request(
            OFFICER,
            authority="Parquet",
            reference="PV-1",
            legal_basis="art. 60-1",
            deadline=None,
            content_ids=[f"m{ack.id}"],
        )
        (record,) = (await node.legal.service.search(OFFICER, request.id)).records
    if trusted:
        assert (record.ip, record.port, record.protocol) == (FORGED, 40404, "websocket/tls")
    else:
        assert record.ip == "127.0.0.1" and record.port != 40404
        assert record.protocol == "websocket"
    assert record.user_agent == "UA-Test/1.0"


async def test_nothing_identifying_in_the_chat_tables_and_nothing_in_clear_at_rest(
    tmp_path: Path,
) -> None:
    settings = load_settings(write_config(tmp_path, trusted_proxies=["127.0.0.1"]))
    headers = {"X-Forwarded-For": FORGED, "X-Real-Port": "40404"}
    user_agent = "Distinctive-Agent/7.7"
    async with (
        serve(settings) as url,
        ForwardingClient(url, headers, user_agent=user_agent) as client,
    ):
        await client.enter("Camille", 34, "woman", "69001")
        await client.join("general")
        await client.say("general", "Bonjour")
        # While the chatter is online too: presence rows hold no address either.
        engine = create_engine(settings.database.url)
        metadata = MetaData()
        async with engine.connect() as conn:
            await conn.run_sync(metadata.reflect)
            values = [
                str(value)
                for table in metadata.sorted_tables
                for row in await conn.execute(select(table))
                for value in row
            ]
        await engine.dispose()
    assert values, "the chat tables were empty"
    assert not [v for v in values if FORGED in v or user_agent in v]
    # The retention database holds them, but only sealed: no address or user-agent in clear.
    files = await asyncio.to_thread(lambda: list(tmp_path.glob("causerie-retention.db*")))
    assert files
    for path in files:
        data = await asyncio.to_thread(path.read_bytes)
        assert FORGED.encode() not in data and user_agent.encode() not in data
        assert b"Camille" not in data


async def test_the_scheduled_job_purges_after_the_retention_period(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, purge_interval_seconds=0.05))
    clock = Clock()
    async with run_server(settings, Node(settings, clock=clock)) as server:
        async with server.client() as alice:
            await alice.enter("Alice", 30, "woman", "75011")
            await alice.join("general")
            await alice.say("general", "Bonjour")
        traffic = server.node.legal.stores.traffic
        for _ in range(100):
            if await traffic.count() == 3:  # open, content, close
                break
            await asyncio.sleep(0.02)
        assert await traffic.count() == 3
        clock.advance(364 * DAY)
        await asyncio.sleep(0.2)
        assert await traffic.count() == 3
        clock.advance(2 * DAY)
        for _ in range(100):
            if await traffic.count() == 0:
                break
            await asyncio.sleep(0.02)
        assert await traffic.count() == 0
