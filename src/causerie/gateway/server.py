"""Running the application under uvicorn with the bounds that live below ASGI.

An ASGI application only sees a connection once its HTTP request has arrived, so two bounds
must be kept by the HTTP protocol itself: a socket that sends nothing is closed after
``server.handshake_timeout_seconds``, and one address (not a trusted proxy) holds at most
``limits.max_connections_per_address`` sockets at once, a WebSocket until it ends.
(``causerie serve`` also raises the file limit to its hard limit: ``causerie.cli.serve``.)
WebSockets are served by :class:`causerie.gateway.websocket.ChatWebSocketProtocol`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from causerie.gateway.guard import RateLimitedLog
from causerie.gateway.websocket import ChatWebSocketProtocol
from causerie.legal.proxy import TrustedProxies
from causerie.settings import Settings

log = logging.getLogger("causerie.gateway")


def bounded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP protocol with a handshake timeout and a per-address socket cap."""
    timeout = settings.server.handshake_timeout_seconds
    cap = settings.limits.max_connections_per_address
    proxies = TrustedProxies(settings.legal.trusted_proxies, settings.legal.proxy_header)
    per_address: dict[str, int] = {}
    quiet = RateLimitedLog(log)

    def release(ip: str) -> None:
        left = per_address.get(ip, 1) - 1
        if left > 0:
            per_address[ip] = left
        else:
            per_address.pop(ip, None)

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

        def handle_websocket_upgrade(self) -> None:
            # From here the transport calls the WebSocket protocol's connection_lost, never this
            # one's: the socket's count goes with it, or every WebSocket that ever ended would
            # still count against its address.
            ip, self._counted = self._counted, None
            super().handle_websocket_upgrade()
            # This protocol and its parser refer to each other: unless the cycle is broken it
            # waits, with its request, for a full collection, which a busy process seldom runs.
            self.parser = None  # type: ignore[assignment]
            if ip is None:
                return
            protocol = self.transport.get_protocol()
            if isinstance(protocol, ChatWebSocketProtocol) and not protocol.disconnected:
                protocol.on_lost = functools.partial(release, ip)
            else:
                release(ip)  # another implementation: the gateway's Guard still caps WebSockets

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            ip, self._counted = self._counted, None
            if ip is not None:
                release(ip)
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


# Pending connections the kernel queues per listening socket before accept().
BACKLOG = 2048


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """The one uvicorn configuration for causerie (``causerie serve``, its workers, the tests).

    ``options`` are uvicorn's (host, port, log_level...); what they leave out is causerie's.
    """
    options.setdefault("host", settings.server.host)
    options.setdefault("port", settings.server.port)
    # Our own protocol on websockets' Sans-I/O core (gateway/websocket.py): uvicorn's kept
    # about 10 KiB per idle connection that it never used again (docs/benchmarks.md).
    options.setdefault("ws", ChatWebSocketProtocol)
    # Past our own frame limit the protocol answers with an error frame; past this one the
    # WebSocket layer closes the connection (1009) before reading the frame into memory.
    options.setdefault("ws_max_size", settings.websocket_max_bytes)
    options.setdefault("ws_ping_interval", 20.0)
    options.setdefault("ws_ping_timeout", 20.0)
    # Compressing every message for every member was half the fan-out's CPU and tens of KiB of
    # zlib state per connection; chat frames are small, and compressing a stranger's text
    # alongside one's own is a side channel worth avoiding.
    options.setdefault("ws_per_message_deflate", False)
    options.setdefault("backlog", BACKLOG)
    return uvicorn.Config(
        app,
        http=bounded_protocol(settings),
        # uvicorn never rewrites the peer: causerie.legal.proxy decides whom to believe.
        proxy_headers=False,
        lifespan="on",
        **options,
    )
