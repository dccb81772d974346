"""The WebSocket protocol under uvicorn: websockets' Sans-I/O core, and no more kept per socket.

uvicorn's ``websockets-sansio`` protocol keeps, for every connection and its whole life, things
an idle chatter never uses again: the handshake request (alive in the suspended parser of the
``ServerProtocol`` that read it) and response, about 4 KiB of header objects; an
``asyncio.Queue`` for incoming messages and two ``asyncio.Event``\\ s, about 4 KiB more; and some
forty attributes in a ``__dict__``. This protocol speaks the same ASGI to the application
(``websocket.connect`` / ``receive`` / ``disconnect`` in, ``accept`` / ``send`` / ``close``
out) over the same Sans-I/O ``ServerProtocol``, and differs where memory is concerned:

- the handshake is read and answered by a ``ServerProtocol`` of its own, dropped once the
  response is written; the connection's frames go to another one, created open;
- incoming messages wait in a plain list (at most a few: reading pauses after each message
  until the application has taken it), with one future only while the application waits;
- writability is a future that exists only while the transport is paused;
- one timer for the keepalive (ping, then its deadline), and ``__slots__`` throughout.

What it keeps of uvicorn's behaviour: keepalive pings every ``ws_ping_interval`` seconds and a
close (1011) when no pong comes within ``ws_ping_timeout``; ``ws_max_size`` (1009 past it);
1007 for a text message that is not UTF-8, logged as one rate-limited line; a close before
``accept`` is a refused upgrade (HTTP 403); on shutdown every connection is closed with 1012;
the application's task is one of the server's, so a graceful shutdown waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

from websockets.exceptions import InvalidState
from websockets.extensions.base import ServerExtensionFactory
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.version import version as websockets_version

from causerie.gateway.guard import RateLimitedLog

log = logging.getLogger("causerie.gateway")

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# Seconds the closing handshake may take before the socket is closed anyway (uvicorn's).
CLOSE_TIMEOUT = 10.0
# websockets 17 documents that it reads header values as ISO-8859-1; earlier versions kept the
# bytes as surrogate escapes.
_HEADER_ERRORS = "strict" if websockets_version >= "17.0" else "surrogateescape"
_HEADER_ENCODING = "latin-1" if websockets_version >= "17.0" else "ascii"


# The ASGI scope extension through which the application writes without awaiting
# (``ChatWebSocketProtocol.send_text_now``); absent under uvicorn's own protocols.
SEND_TEXT_NOW = "causerie.send_text_now"


class ClientDisconnected(OSError):
    """A send on a connection that is gone (Starlette turns an OSError into a disconnect)."""


class ChatWebSocketProtocol(asyncio.Protocol):
    """One WebSocket connection, from uvicorn's HTTP upgrade to the socket's end.

    uvicorn builds it with ``config``, ``server_state`` and ``app_state`` (``ws=`` accepts a
    protocol class), hands it the transport and feeds it the upgrade request.
    """

    __slots__ = (
        "_app_state",
        "_close_timer",
        "_config",
        "_drain",
        "_fragments",
        "_fragments_text",
        "_inbox",
        "_loop",
        "_ping_payload",
        "_ping_rtt",
        "_ping_sent_at",
        "_receiver",
        "_response",
        "_server_state",
        "_timer",
        "close_sent",
        "conn",
        "disconnected",
        "handshake_complete",
        "on_lost",
        "read_paused",
        "transport",
    )

    # Per process: one attacker sending bad UTF-8 in a loop gets a few lines, not one each.
    quiet = RateLimitedLog(log)

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()  # pragma: no cover - uvicorn loads it before serving
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._loop = _loop or asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        # The handshake's protocol until the response is sent, then the frames' protocol.
        self.conn = ServerProtocol(
            extensions=_extensions(config), max_size=config.ws_max_size, logger=_ws_logger
        )
        self._response: Any = None
        self._inbox: list[Message] = []
        self._receiver: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._ping_sent_at = 0.0
        self._ping_rtt = 0.0
        self._fragments: list[bytes] | None = None
        self._fragments_text = False
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.read_paused = False
        # Called once when the socket is gone: gateway.server's per-address count is released.
        self.on_lost: Callable[[], None] | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._server_state.connections.add(self)
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_keepalive()
        code = 1005 if self.handshake_complete else 1006
        self._deliver({"type": "websocket.disconnect", "code": code})
        self._server_state.connections.discard(self)
        self.handshake_complete = True
        self.disconnected = True
        self._release_writers()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        on_lost, self.on_lost = self.on_lost, None
        if on_lost is not None:
            on_lost()
        if exc is None and self.transport is not None:
            self.transport.close()
        # The sans-I/O parser is a generator suspended on its own protocol (a reference cycle):
        # closed, it lets reference counting free the connection as soon as it is dropped.
        self.conn.parser.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        if self._drain is None:
            self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        self._release_writers()

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        conn.receive_data(data)
        if conn.parser_exc is not None:
            self._parser_failed()
            return
        for event in conn.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._frame(event)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a close (1012, going away) to each open connection."""
        self._stop_keepalive()
        transport = self.transport
        if transport is None:
            return
        if self.close_sent:
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            transport.close()
            return
        if self.handshake_complete:
            self._deliver({"type": "websocket.disconnect", "code": 1012})
            self.conn.send_close(1012)
            self._flush()
        else:
            self._send_500()
        transport.close()

    # -- incoming ----------------------------------------------------------------------------

    def _handshake(self, request: Request) -> None:
        handshake = self.conn
        response = handshake.accept(request)
        if response.status_code != 101:
            self.handshake_complete = True
            self.close_sent = True
            handshake.send_response(response)
            self._flush()
            self._close_transport()
            return
        self._response = response
        raw_path, _, query_string = request.path.partition("?")
        subprotocols: list[str] = []
        for header in request.headers.get_all("Sec-WebSocket-Protocol"):
            subprotocols.extend(token.strip() for token in header.split(","))
        transport = self.transport
        assert transport is not None
        root_path = self._config.root_path
        scope: Message = {
            "type": "websocket",
            "asgi": {"version": self._config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if transport.get_extra_info("sslcontext") else "ws",
            "server": _address(transport.get_extra_info("sockname")),
            "client": _address(transport.get_extra_info("peername")),
            "root_path": root_path,
            "path": root_path + unquote(raw_path),
            "raw_path": root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query_string.encode("ascii"),
            "headers": [
                (name.lower().encode("ascii"), value.encode(_HEADER_ENCODING, _HEADER_ERRORS))
                for name, value in request.headers.raw_items()
            ],
            "subprotocols": subprotocols,
            "state": self._app_state.copy(),
            "extensions": {SEND_TEXT_NOW: {"send": self.send_text_now}},
        }
        # Nothing is read until the application has accepted: a client that sends frames
        # before the response (it should not) would leave them to the handshake's protocol.
        self.read_paused = True
        transport.pause_reading()
        self._inbox.append({"type": "websocket.connect"})
        task = self._loop.create_task(self._run_asgi(scope))
        tasks = self._server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            text = opcode is Opcode.TEXT
            if frame.fin:
                self._message(bytes(frame.data), text)
            else:
                self._fragments = [bytes(frame.data)]
                self._fragments_text = text
        elif opcode is Opcode.CONT:
            if self._fragments is None:  # pragma: no cover - the parser refuses it first
                return
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), None
                self._message(data, self._fragments_text)
        elif opcode is Opcode.PING:
            self._flush()  # the pong the parser queued
        elif opcode is Opcode.PONG:
            self._pong(bytes(frame.data))
        elif opcode is Opcode.CLOSE:
            self._closed_by_peer()

    def _message(self, data: bytes, text: bool) -> None:
        if self.close_sent:
            # The application is past its close: reads stay on until the peer's close comes.
            return
        if text:
            try:
                message: Message = {"type": "websocket.receive", "text": data.decode()}
            except UnicodeDecodeError:
                self.quiet.warning(
                    "invalid_utf8", "invalid UTF-8 in a text frame: connection closed (1007)"
                )
                self.conn.send_close(1007)
                self._parser_failed()
                return
        else:
            message = {"type": "websocket.receive", "bytes": data}
        self._deliver(message)
        # Backpressure: nothing more is read until the application has taken this message.
        if not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def _closed_by_peer(self) -> None:
        transport = self.transport
        if self.close_sent:
            # The peer answered our close: the closing handshake is complete.
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
                self._close_transport()
            return
        if transport is not None and not transport.is_closing():
            received = self.conn.close_rcvd
            code = received.code if received is not None else 1005
            reason = received.reason if received is not None else ""
            self._deliver({"type": "websocket.disconnect", "code": code, "reason": reason})
            self._flush()  # the close echoed by the parser
            transport.close()

    def _parser_failed(self) -> None:
        sent = self.conn.close_sent
        self._deliver(
            {
                "type": "websocket.disconnect",
                "code": sent.code if sent is not None else 1006,
                "reason": sent.reason if sent is not None else "",
            }
        )
        self._flush()
        self.close_sent = True
        self._close_transport()

    # -- the application's side --------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        self._inbox.append(message)
        receiver = self._receiver
        if receiver is not None and not receiver.done():
            receiver.set_result(None)

    async def receive(self) -> Message:
        inbox = self._inbox
        while not inbox:
            if self.disconnected:
                return {"type": "websocket.disconnect", "code": 1006}
            self._receiver = self._loop.create_future()
            try:
                await self._receiver
            finally:
                self._receiver = None
        message = inbox.pop(0)
        if self.read_paused and not inbox and self.handshake_complete and self.transport:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    async def send(self, message: Message) -> None:
        drain = self._drain
        if drain is not None:
            # Shielded: a sender that is cancelled must not cancel the others' wait.
            await asyncio.shield(drain)
        if self.disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        if not self.handshake_complete:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self._refuse()
            else:
                raise RuntimeError(f"expected websocket.accept or websocket.close, got {kind!r}")
            return
        if self.close_sent:
            raise RuntimeError(f"unexpected ASGI message {kind!r} after websocket.close")
        try:
            self._send_open(kind, message)
        except InvalidState:
            # The peer's close came first: the parser answered it, nothing more goes out.
            raise ClientDisconnected() from None

    def send_text_now(self, text: str) -> bool:
        """Write a text message at once if the socket takes it now; False: use ``send``.

        A room message goes out to a thousand members in one flush: their writers need not
        each be woken as a task and go through the ASGI layers to put bytes in a transport
        that is ready for them.
        """
        if (
            self._drain is not None
            or self.disconnected
            or self.close_sent
            or not self.handshake_complete
        ):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self._flush()
        return True

    def _send_open(self, kind: str, message: Message) -> None:
        conn = self.conn
        if kind == "websocket.send":
            data = message.get("bytes")
            if data is not None:
                conn.send_binary(data)
            else:
                text = message.get("text")
                if text is not None:
                    conn.send_text(text.encode())
            self._flush()
        elif kind == "websocket.close":
            transport = self.transport
            if transport is not None and not transport.is_closing():
                code = message.get("code", 1000)
                reason = message.get("reason", "") or ""
                self._deliver({"type": "websocket.disconnect", "code": code, "reason": reason})
                conn.send_close(code, reason)
                self._flush()
                self.close_sent = True
                if self.read_paused:
                    self.read_paused = False
                    transport.resume_reading()
                self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, transport.close)
        else:
            raise RuntimeError(f"expected websocket.send or websocket.close, got {kind!r}")

    def _accept(self, message: Message) -> None:
        transport = self.transport
        response, self._response = self._response, None
        if transport is None or transport.is_closing() or response is None:
            return
        headers = [
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in (
                self._server_state.default_headers + list(message.get("headers") or [])
            )
        ]
        subprotocol = message.get("subprotocol")
        if subprotocol:
            headers.append(("Sec-WebSocket-Protocol", subprotocol))
        del response.headers["Date"]
        response.headers.update(headers)
        handshake = self.conn
        handshake.send_response(response)
        self.handshake_complete = True
        self._flush()
        # The frames from now on go to a protocol that never saw the handshake: the one that
        # read it keeps the request alive in its suspended parser for as long as it exists.
        self.conn = ServerProtocol(state=OPEN, max_size=self._config.ws_max_size, logger=_ws_logger)
        self.conn.extensions = handshake.extensions
        self.conn.subprotocol = handshake.subprotocol
        if self.read_paused and not self._inbox:
            self.read_paused = False
            transport.resume_reading()
        self._start_keepalive()

    def _refuse(self) -> None:
        """A close before accept: the browser sees a refused upgrade (HTTP 403)."""
        self._deliver({"type": "websocket.disconnect", "code": 1006})
        self._response = None
        response = self.conn.reject(HTTPStatus.FORBIDDEN, "")
        self.conn.send_response(response)
        self.close_sent = True
        self.handshake_complete = True
        self._flush()
        self._close_transport()

    async def _run_asgi(self, scope: Message) -> None:
        try:
            await self._config.loaded_app(scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            log.exception("Exception in ASGI application")
            self._send_500()
        else:
            if not self.handshake_complete:
                log.error("ASGI callable returned without completing handshake.")
                self._send_500()
        if self._close_timer is None:
            transport = self.transport
            if self._drain is not None and transport is not None:
                # The peer stopped reading and the application is done: what is still
                # buffered will never be read, and waiting for it would keep the socket open.
                transport.abort()
            else:
                self._close_transport()

    def _send_500(self) -> None:
        if self.handshake_complete:
            return
        self._response = None
        response = self.conn.reject(500, "Internal Server Error")
        self.conn.send_response(response)
        self.handshake_complete = True
        self._flush()

    # -- keepalive ---------------------------------------------------------------------------

    def _start_keepalive(self) -> None:
        interval = self._config.ws_ping_interval
        if interval is not None and interval > 0:
            self._timer = self._loop.call_later(max(0.0, interval - self._ping_rtt), self._ping)

    def _stop_keepalive(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._ping_payload = None

    def _ping(self) -> None:
        self._timer = None
        transport = self.transport
        if self.close_sent or transport is None or transport.is_closing():
            return
        # A random payload names this ping: a stale or unsolicited pong does not answer it.
        self._ping_payload = struct.pack("!I", random.getrandbits(32))
        self._ping_sent_at = self._loop.time()
        self.conn.send_ping(self._ping_payload)
        self._flush()
        timeout = self._config.ws_ping_timeout
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._ping_expired)
        else:
            self._start_keepalive()

    def _pong(self, payload: bytes) -> None:
        if self._ping_payload is None or payload != self._ping_payload:
            return
        self._ping_rtt = self._loop.time() - self._ping_sent_at
        self._ping_payload = None
        if self._config.ws_ping_timeout is not None:
            if self._timer is not None:
                self._timer.cancel()
            self._start_keepalive()

    def _ping_expired(self) -> None:
        self._timer = None
        self._ping_payload = None
        transport = self.transport
        if self.close_sent or transport is None or transport.is_closing():
            return
        self.conn.fail(1011, "keepalive ping timeout")
        self._flush()
        self.close_sent = True
        transport.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _flush(self) -> None:
        output = self.conn.data_to_send()
        if output and self.transport is not None:
            self.transport.write(b"".join(output))

    def _close_transport(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _release_writers(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)


_ws_logger = logging.getLogger("uvicorn.error")


def _extensions(config: Any) -> list[ServerExtensionFactory]:
    if not config.ws_per_message_deflate:
        return []
    return [
        ServerPerMessageDeflateFactory(
            server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
        )
    ]


def _address(info: object) -> tuple[str, int] | None:
    if isinstance(info, tuple | list) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None
