"""Behind a real nginx configured as docs/legal.md says, a client cannot forge its address of
record (issue 12, finding 1).

Before: a client-sent ``Forwarded: for="198.51.100.66:4444"`` passed through nginx untouched and
the retention log recorded 198.51.100.66:4444 as the author. Now the operator names the one header
to believe (``X-Forwarded-For``, which nginx overwrites) and the sample clears ``Forwarded``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from causerie.settings import Settings
from tests.conftest import free_port, run_server
from tests.legal.conftest import OFFICER
from tests.legal.test_e2e import ForwardingClient

# The chatter connects from another loopback address than nginx's own (127.0.0.1, a trusted
# proxy), so that the record tells the client, the proxy and the forgery apart.
CLIENT_IP = "127.0.0.2"

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs Debian's nginx-light)"
)

DOCS = Path(__file__).parents[2] / "docs" / "legal.md"


def documented_proxy_block() -> str:
    """The nginx sample of docs/legal.md, as an operator copies it."""
    text = DOCS.read_text("utf-8")
    match = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert match, "docs/legal.md has no nginx sample"
    return match.group(1)


def nginx_config(root: Path, listen: int, upstream: int) -> str:
    # Everything nginx writes goes under ``root``: a test needs no privilege and leaves nothing.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {root / (name + '_temp')};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
error_log {root / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    access_log {root / "access.log"};
{temp}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
{documented_proxy_block()}
        }}
    }}
}}
"""


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def nginx(root: Path, upstream: int) -> AsyncIterator[int]:
    """Debian's nginx in the foreground, proxying to ``upstream``; its port."""
    assert NGINX is not None
    listen = free_port()
    config = root / "nginx.conf"
    config.write_text(nginx_config(root, listen, upstream))
    process = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c", str(config),
        "-g", f"daemon off; pid {root / 'nginx.pid'};",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(500):
            if process.returncode is not None:
                output = (await process.stdout.read()).decode() if process.stdout else ""
                log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
                pytest.fail(f"nginx exited with {process.returncode}: {output}\n{log}")
            if await asyncio.to_thread(port_open, listen):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("nginx did not listen within 5 s")
        yield listen
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


class ClientFrom(ForwardingClient):
    """A client that sends forged forwarding headers from the source address ``CLIENT_IP``."""

    async def __aenter__(self) -> ClientFrom:
        self._ws = await connect(
            self.url,
            user_agent_header=self.user_agent,
            additional_headers=self.headers,
            local_addr=(CLIENT_IP, 0),
        )
        self._reader = asyncio.create_task(self._read())
        return self


@pytest.mark.parametrize(
    "forged",
    [
        {"Forwarded": 'for="198.51.100.66:4444"', "X-Forwarded-For": "198.51.100.66"},
        {"Forwarded": 'for="[2001:db8::66]:4444"', "X-Forwarded-For": "2001:db8::66",
         "X-Real-IP": "198.51.100.66", "X-Real-Port": "4444"},
    ],
    ids=["ipv4", "ipv6"],
)  # fmt: skip
async def test_a_client_behind_nginx_cannot_forge_its_address_of_record(
    tmp_path: Path, forged: dict[str, str]
) -> None:
    settings = Settings(
        database={"url": f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"},
        legal={
            "keys_file": tmp_path / "keys" / "retention.keys",
            "officers": [OFFICER],
            "trusted_proxies": ["127.0.0.1"],
            "proxy_header": "x-forwarded-for",
        },
    )
    root = tmp_path / "nginx"
    root.mkdir()
    async with run_server(settings) as server:
        upstream = int(server.http.rsplit(":", 1)[1])
        async with nginx(root, upstream) as port:
            url = f"ws://127.0.0.1:{port}/ws"
            async with ClientFrom(url, forged, user_agent="Forger/1.0") as client:
                assert client._ws is not None
                source_ip, source_port = client._ws.local_address[:2]
                await client.enter("Camille", 34, "woman", "69001")
                await client.join("general")
                ack = await client.say("general", "Bonjour")
        service = server.node.legal.service
        request = await service.register_request(
            OFFICER,
            authority="Parquet",
            reference="PV-nginx",
            legal_basis="art. 60-1",
            deadline=None,
            content_ids=[f"m{ack.id}"],
        )
        (record,) = (await service.search(OFFICER, request.id)).records
    # The address and port nginx saw the client connect from: not what the client wrote, nor
    # nginx's own address.
    assert (record.ip, record.port) == (source_ip, source_port) == (CLIENT_IP, source_port)
    assert "198.51.100.66" not in record.ip and "2001:db8" not in record.ip
    assert record.port != 4444
    assert record.user_agent == "Forger/1.0"
