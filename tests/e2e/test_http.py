"""The HTTP side: the web client with its security headers, health and metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request

from tests.conftest import RunningServer


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, response.read().decode()


async def test_web_client_is_served_with_security_headers(server: RunningServer) -> None:
    status, headers, body = await asyncio.to_thread(_get, server.http + "/")
    assert status == 200
    assert "<html" in body.lower()
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


async def test_health_and_metrics(server: RunningServer) -> None:
    async with server.client() as alice:
        await alice.enter("Alice", 30, "woman", "75011")
        status, _, body = await asyncio.to_thread(_get, server.http + "/healthz")
        # Liveness only, and nothing about the host.
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert socket.gethostname() not in body
        status, _, metrics = await asyncio.to_thread(_get, server.http + "/metrics")
        assert status == 200 and "causerie_connections 1.0" in metrics
