"""The ASGI application: the chat WebSocket, the web client, health and metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from causerie.chat.hooks import Peer
from causerie.gateway.connection import Connection
from causerie.legal.proxy import TrustedProxies
from causerie.node import Node
from causerie.settings import Settings

STATIC = Path(str(resources.files("causerie.web").joinpath("static")))

_connections = Gauge("causerie_connections", "WebSocket connections open on this node")
_sessions = Gauge("causerie_sessions", "Chatters entered on this node")


# The web client loads nothing from elsewhere and never renders user text as HTML; these headers
# make the browser hold it to that even if a bug slipped through.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
        b"script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, node: Node | None = None) -> Starlette:
    """Build the application; ``node`` lets tests inject one built with a fake clock."""
    the_node = node or Node(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await the_node.start()
        try:
            yield
        finally:
            await the_node.stop()

    proxies = TrustedProxies(settings.legal.trusted_proxies)

    async def chat(websocket: WebSocket) -> None:
        client = websocket.client
        # Forwarding headers count only from the operator's own proxies (causerie.legal.proxy).
        address = proxies.resolve(
            client.host if client else "",
            client.port if client else 0,
            websocket.headers,
            settings.legal.proxy_port_header,
        )
        scheme = address.scheme if address.scheme in ("https", "wss") else websocket.url.scheme
        peer = Peer(
            ip=address.ip,
            port=address.port,
            user_agent=websocket.headers.get("user-agent", "")[:400],
            protocol="websocket/tls" if scheme in ("https", "wss") else "websocket",
        )
        connection = Connection(websocket, the_node.chat, settings, peer)
        _connections.inc()
        try:
            await connection.run()
        finally:
            _connections.dec()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "node": the_node.node_id,
                "bus": the_node.bus.name,
                "sessions": len(the_node.hub.sessions),
            }
        )

    async def metrics(request: Request) -> Response:
        _sessions.set(len(the_node.hub.sessions))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", chat),
            Route("/healthz", health),
            Route("/metrics", metrics),
            Mount("/", StaticFiles(directory=STATIC, html=True), name="web"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.node = the_node
    return app
