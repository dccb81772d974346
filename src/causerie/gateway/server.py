"""Running the application under uvicorn with the bounds that live below ASGI.

An ASGI application only sees a connection once its HTTP request has arrived, so three bounds
must be kept by the HTTP protocol itself: a socket that sends nothing is closed after
``server.handshake_timeout_seconds``; one address (not a trusted proxy) holds at most
``limits.max_connections_per_address`` sockets at once; and the process's file limit is raised
to its hard limit at start-up, so that the default 1,024 descriptors are not the real cap.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from causerie.gateway.guard import RateLimitedLog
from causerie.legal.proxy import TrustedProxies
from causerie.settings import Settings

log = logging.getLogger("causerie.gateway")


def raise_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # pragma: no cover - some containers refuse
            log.warning("could not raise the open file limit above %d", soft)
    return soft


def bounded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP protocol with a handshake timeout and a per-address socket cap."""
    timeout = settings.server.handshake_timeout_seconds
    cap = settings.limits.max_connections_per_address
    proxies = TrustedProxies(settings.legal.trusted_proxies, settings.legal.proxy_header)
    per_address: dict[str, int] = {}
    quiet = RateLimitedLog(log)

    class BoundedHttpProtocol(HttpToolsProtocol):
        _timer: asyncio.TimerHandle | None = None
        _counted: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ip = self.client[0] if self.client else ""
            # Behind a proxy every socket comes from it: the gateway caps by address of record.
            if ip and ip not in proxies:
                count = per_address.get(ip, 0)
                if count >= cap:
                    quiet.warning(
                        "too_many_sockets",
                        "refused (too_many_connections): %s has %d sockets",
                        ip,
                        cap,
                    )
                    transport.abort()
                    return
                per_address[ip] = count + 1
                self._counted = ip
            self._timer = self.loop.call_later(timeout, self._handshake_expired)

        def on_headers_complete(self) -> None:
            self._stop_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            ip, self._counted = self._counted, None
            if ip is not None:
                left = per_address.get(ip, 1) - 1
                if left > 0:
                    per_address[ip] = left
                else:
                    per_address.pop(ip, None)
            super().connection_lost(exc)

        def _stop_timer(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _handshake_expired(self) -> None:
            self._timer = None
            quiet.warning(
                "handshake_timeout",
                "closed a socket that sent no request within %.0f s",
                timeout,
            )
            self.transport.abort()

    return BoundedHttpProtocol


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The one uvicorn configuration for causerie (``causerie serve`` and the tests)."""
    options.setdefault("host", settings.server.host)
    options.setdefault("port", settings.server.port)
    options.setdefault("ws_max_size", settings.websocket_max_bytes)
    options.setdefault("ws_ping_interval", 20.0)
    options.setdefault("ws_ping_timeout", 20.0)
    # Compressing every message for every member was half the fan-out's CPU (docs/benchmarks.md).
    options.setdefault("ws_per_message_deflate", False)
    return uvicorn.Config(
        app,
        http=bounded_protocol(settings),
        # uvicorn never rewrites the peer: causerie.legal.proxy decides whom to believe.
        proxy_headers=False,
        lifespan="on",
        **options,
    )
