"""The ASGI application: the chat WebSocket, the web client, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from causerie import metrics
from causerie.chat.envelopes import Disconnect, envelope_encoder
from causerie.chat.hooks import Peer
from causerie.console.app import PREFIX as CONSOLE_PREFIX
from causerie.console.app import create_console
from causerie.console.wiring import from_node as console_of
from causerie.errors import ErrorCode
from causerie.gateway.collector import SurvivorFreezer
from causerie.gateway.connection import Connection
from causerie.gateway.guard import Guard, OriginPolicy, is_local, quiet_invalid_utf8
from causerie.gateway.notice import NoticeForm
from causerie.legal.proxy import TrustedProxies
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.settings import Settings

STATIC = Path(str(resources.files("causerie.web").joinpath("static")))

_connections = metrics.connections
_sessions = metrics.sessions
_refusals = metrics.connection_refusals
# Seconds each readiness probe may take before its dependency counts as down.
READY_TIMEOUT = 2.0


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
                # A route's own stricter policy (a photo's) stands; the rest get the site's.
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n.lower() not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CauserieApp(Starlette):
    """Starlette, except that ``/ws`` goes straight to the chat endpoint.

    A WebSocket lives for hours and every coroutine between uvicorn and the endpoint stays
    suspended for its whole life: through Starlette's middleware, router and route that was
    about 5 KiB of frames per idle connection (docs/benchmarks.md). None of them does anything
    for ``/ws``: the security headers are HTTP's, the endpoint handles its own errors.
    """

    chat_endpoint: Callable[[WebSocket], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.chat_endpoint
        if endpoint is not None and scope["type"] == "websocket" and scope["path"] == "/ws":
            scope["app"] = self
            await endpoint(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings, node: Node | None = None, *, freeze_heap: bool = False
) -> Starlette:
    """Build the application; ``node`` lets tests inject one built with a fake clock.

    ``freeze_heap`` (``causerie serve``, a process that runs one node for its life): once the
    node has started, everything allocated so far (the models, the rule packs, the language
    detector, the tables) moves out of the garbage collector's reach (:func:`gc.freeze`). A
    full collection scanned those ~140,000 objects for 63 ms on the 2-core bench machine,
    stalling every message in flight; they live as long as the process anyway.
    """
    the_node = node or Node(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await the_node.start()
        freezer: SurvivorFreezer | None = None
        thawing: asyncio.Task[None] | None = None
        if freeze_heap:
            gc.collect()
            gc.freeze()
            if settings.server.collector_thaw_seconds > 0:
                freezer = SurvivorFreezer(
                    asyncio.get_running_loop(), settings.server.collector_thaw_seconds
                )
                freezer.install()
                thawing = asyncio.create_task(freezer.run(), name="collector-thaw")
        try:
            yield
        finally:
            if freezer is not None and thawing is not None:
                freezer.remove()
                thawing.cancel()
            await the_node.stop()

    proxies = TrustedProxies(settings.legal.trusted_proxies, settings.legal.proxy_header)
    origins = OriginPolicy(settings.server.allowed_origins)
    guard = Guard(settings.limits)
    quiet_invalid_utf8(guard.quiet)

    async def chat(websocket: WebSocket) -> None:
        client = websocket.client
        # Forwarding headers count only from the operator's own proxies (causerie.legal.proxy).
        address = proxies.resolve(
            client.host if client else "",
            client.port if client else 0,
            websocket.headers,
            settings.legal.proxy_port_header,
        )
        if not origins.allows(websocket.headers):
            # Before the handshake: the browser sees a refused upgrade (HTTP 403).
            _refusals.labels(ErrorCode.ORIGIN_REFUSED).inc()
            guard.refused(
                ErrorCode.ORIGIN_REFUSED,
                "%s: origin %r not allowed",
                address.ip,
                websocket.headers.get("origin", "")[:200],
            )
            await websocket.close(1008)
            return
        if not guard.admit(address.ip):
            _refusals.labels(ErrorCode.TOO_MANY_CONNECTIONS).inc()
            guard.refused(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "%s has %d connections open already",
                address.ip,
                settings.limits.max_connections_per_address,
            )
            # Accepted only to say why: a browser cannot read the reason of a refused upgrade.
            with contextlib.suppress(Exception):
                await websocket.accept()
                await websocket.send_text(
                    encode_text(
                        f.Error(
                            code=ErrorCode.TOO_MANY_CONNECTIONS,
                            message="too many connections from your address",
                        )
                    )
                )
                await websocket.close(1008, "too many connections")
            return
        try:
            scheme = address.scheme if address.scheme in ("https", "wss") else websocket.url.scheme
            peer = Peer(
                ip=address.ip,
                port=address.port,
                user_agent=websocket.headers.get("user-agent", "")[:400],
                protocol="websocket/tls" if scheme in ("https", "wss") else "websocket",
            )
            connection = Connection(websocket, the_node.chat, settings, peer, guard)
            # Everything the connection needs of the handshake is read above; left in the
            # scope, the headers would stay for its whole life (about 1 KiB).
            headers = websocket.scope.get("headers")
            if isinstance(headers, list):
                headers.clear()
            _connections.inc()
            try:
                await connection.run()
            finally:
                _connections.dec()
        finally:
            guard.release(address.ip)

    def address_of(request: Request) -> str:
        client = request.client
        return proxies.resolve(
            client.host if client else "",
            client.port if client else 0,
            request.headers,
            settings.legal.proxy_port_header,
        ).ip

    # The public notice form (EU DSA Art. 16), for people who are not chatting.
    notice = NoticeForm(the_node.chat.reports.notice, address_of)

    def local_only(request: Request) -> bool:
        client = request.client
        address = proxies.resolve(
            client.host if client else "",
            client.port if client else 0,
            request.headers,
            settings.legal.proxy_port_header,
        )
        return is_local(address.ip)

    def not_found() -> Response:
        return Response("Not Found", status_code=404, media_type="text/plain")

    async def health(request: Request) -> Response:
        # Liveness only: this process answers. What it depends on is /readyz's business.
        if settings.server.health_local_only and not local_only(request):
            return not_found()
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        if settings.server.health_local_only and not local_only(request):
            return not_found()
        checks = {
            "database": _probe(lambda: _ping_database(the_node.engine)),
            "bus": _probe(lambda: _ping_bus(the_node)),
            "retention": _probe(lambda: _ping_database(the_node.legal.engine)),
        }
        results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
        failed = sorted(name for name, ok in results.items() if ok != "ok")
        body: dict[str, object] = {"status": "unavailable" if failed else "ok", "checks": results}
        if failed:
            body["failed"] = failed
        return JSONResponse(body, status_code=503 if failed else 200)

    async def photo(request: Request) -> Response:
        # The id is a 192-bit capability only the photo's recipients were sent.
        found = await the_node.chat.photos.file(
            request.path_params["photo_id"], thumbnail=request.url.path.endswith("/thumb")
        )
        if found is None:
            return not_found()
        data, content_type = found
        return Response(
            data,
            media_type=content_type,
            headers={
                "Content-Disposition": "inline; filename=photo",
                "X-Content-Type-Options": "nosniff",
                # An image, never a document: nothing in it can run or load anything.
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=3600",
                "Cross-Origin-Resource-Policy": "same-origin",
                "Referrer-Policy": "no-referrer",
            },
        )

    async def metrics(request: Request) -> Response:
        if settings.server.metrics_local_only and not local_only(request):
            return not_found()
        _sessions.set(len(the_node.hub.sessions))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app = CauserieApp(
        routes=[
            WebSocketRoute("/ws", chat),
            Route("/healthz", health),
            Route("/readyz", ready),
            Route("/metrics", metrics),
            Route("/report", notice.endpoint, methods=["GET", "POST"]),
            Route("/photos/{photo_id:str}", photo),
            Route("/photos/{photo_id:str}/thumb", photo),
            # Staff only: sign-in with password and TOTP (docs/moderation.md).
            Mount(CONSOLE_PREFIX, create_console(console_of(the_node)), name="console"),
            Mount("/", StaticFiles(directory=STATIC, html=True), name="web"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.chat_endpoint = chat
    app.state.node = the_node
    app.state.guard = guard
    return app


async def _probe(check: Callable[[], Awaitable[None]]) -> str:
    """``ok``, or in a few words why the dependency does not answer in time."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(check(), READY_TIMEOUT)
    except TimeoutError:
        return f"no answer within {time.monotonic() - started:.1f}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return "ok"


async def _ping_database(engine: AsyncEngine) -> None:
    # A round trip and nothing else; the store has no query of its own for this yet.
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# Published by the readiness probe: a disconnect for a session that exists nowhere, which every
# node (this one included) decodes and ignores, so only the broker's answer is being tested.
_PROBE_ENVELOPE = envelope_encoder.encode(
    Disconnect(session="readyz-probe", frame=msgspec.Raw(b'""'), reason="readiness probe")
)


async def _ping_bus(node: Node) -> None:
    ping = getattr(node.bus, "ping", None)
    if ping is not None:
        await ping()
    else:
        await node.bus.publish(_PROBE_ENVELOPE)
