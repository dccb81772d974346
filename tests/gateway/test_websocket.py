"""The gateway's WebSocket protocol (gateway/websocket.py) under a real uvicorn, with tiny apps.

Each test writes the ASGI app it needs inline and drives it with the websockets client or, where
the client must misbehave (never answer a ping), with a raw socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import uvicorn
from tests.conftest import free_port
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request

from causerie.gateway.server import bounded_protocol
from causerie.gateway.websocket import SEND_TEXT_NOW, ChatWebSocketProtocol
from causerie.settings import Settings

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(app: Any, **options: Any) -> AsyncIterator[uvicorn.Server]:
    options.setdefault("ws", ChatWebSocketProtocol)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


def url(server: uvicorn.Server) -> str:
    return f"ws://127.0.0.1:{server.config.port}/ws"


async def echo(scope: Message, receive: Receive, send: Send) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send(
            {"type": "websocket.send", **{k: message[k] for k in ("text", "bytes") if k in message}}
        )


def protocols(server: uvicorn.Server) -> list[ChatWebSocketProtocol]:
    return [c for c in server.server_state.connections if isinstance(c, ChatWebSocketProtocol)]


async def test_text_binary_fragments_and_pings_go_through() -> None:
    async with serving(echo) as server, connect(url(server)) as ws:
        await ws.send("bonjour")
        assert await ws.recv() == "bonjour"
        await ws.send(b"\x00\x01")
        assert await ws.recv() == b"\x00\x01"
        await ws.send(["frag", "ments"])  # one message in two frames
        assert await ws.recv() == "fragments"
        await asyncio.wait_for(await ws.ping(), 2)


async def test_the_handshake_is_not_kept_once_accepted() -> None:
    async with serving(echo) as server, connect(url(server)) as ws:
        await ws.send("x")
        await ws.recv()
        [protocol] = protocols(server)
        assert not hasattr(protocol, "__dict__")
        assert protocol._response is None
        # The frames' parser never read the request, so its suspended frame does not hold it.
        parser = protocol.conn.parser
        assert not any(isinstance(v, Request) for v in parser.gi_frame.f_locals.values())


async def test_a_close_before_accept_is_a_refused_upgrade() -> None:
    async def refuse(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 1008})

    async with serving(refuse) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url(server)):
                pass
        assert refused.value.response.status_code == 403


async def test_past_the_size_limit_the_connection_closes_with_1009() -> None:
    async with serving(echo, ws_max_size=1024) as server, connect(url(server)) as ws:
        await ws.send("x" * 2000)
        with pytest.raises(ConnectionClosed) as lost:
            await asyncio.wait_for(ws.recv(), 5)
        assert lost.value.rcvd is not None and lost.value.rcvd.code == 1009


async def test_shutdown_closes_each_connection_with_1012() -> None:
    async with serving(echo) as server, connect(url(server)) as ws:
        await ws.send("x")
        await ws.recv()
        server.should_exit = True
        with pytest.raises(ConnectionClosed) as lost:
            await asyncio.wait_for(ws.recv(), 5)
        assert lost.value.rcvd is not None and lost.value.rcvd.code == 1012


UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def _raw_upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(UPGRADE)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def _server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, length = await reader.readexactly(2)
    assert length < 126  # control frames and short messages only
    return first & 0x0F, await reader.readexactly(length)


async def test_a_peer_that_answers_no_ping_is_closed_with_1011() -> None:
    async with serving(echo, ws_ping_interval=0.2, ws_ping_timeout=0.3) as server:
        reader, writer = await _raw_upgrade(server.config.port)
        try:
            opcode, _ = await asyncio.wait_for(_server_frame(reader), 2)
            assert opcode == 0x9  # ping, left unanswered
            opcode, payload = await asyncio.wait_for(_server_frame(reader), 2)
            assert opcode == 0x8 and int.from_bytes(payload[:2]) == 1011
            assert await asyncio.wait_for(reader.read(), 2) == b""  # and the socket ends
        finally:
            writer.close()


async def test_a_peer_that_answers_its_pings_stays() -> None:
    async with (
        serving(echo, ws_ping_interval=0.1, ws_ping_timeout=0.3) as server,
        connect(url(server)) as ws,
    ):
        await asyncio.sleep(1.0)  # several pings, each answered by the client
        await ws.send("still here")
        assert await ws.recv() == "still here"


async def test_a_peer_that_stops_reading_holds_senders_until_it_reads_again() -> None:
    sent: list[int] = []
    blocked = asyncio.Event()
    finished = asyncio.Event()
    chunk = "x" * 65536

    async def talker(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})

        async def sender(name: int) -> None:
            for _ in range(100):
                await send({"type": "websocket.send", "text": chunk})
                sent.append(name)

        first = asyncio.create_task(sender(1))
        second = asyncio.create_task(sender(2))
        await _until_blocked(sent)
        blocked.set()
        # Both wait for the socket to drain; cancelling one must not break the other's wait.
        first.cancel()
        await second
        finished.set()
        while (await receive())["type"] != "websocket.disconnect":
            pass

    async with serving(talker) as server:
        reader, writer = await _small_window_upgrade(server.config.port)
        try:
            await asyncio.wait_for(blocked.wait(), 10)
            assert len(sent) < 150, "the sends stopped while the client did not read"
            assert not finished.is_set()
            while not finished.is_set():  # reading again lets the second sender finish
                assert await asyncio.wait_for(reader.read(1 << 20), 5)
            assert sent.count(2) == 100
        finally:
            writer.close()


async def _until_blocked(sent: list[int]) -> None:
    """Until the senders have sent something and then nothing more for a while."""
    while await _still_growing(sent) or len(sent) < 2:
        pass


async def _small_window_upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw WebSocket client with a tiny receive buffer, that reads only when told to."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(UPGRADE)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def _still_growing(sent: list[int]) -> bool:
    before = len(sent)
    await asyncio.sleep(0.2)
    return len(sent) > before


async def test_an_app_done_with_a_peer_that_does_not_read_drops_the_socket_at_once() -> None:
    async def flooder(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        chunk = "x" * 65536
        task = asyncio.create_task(_send_forever(send, chunk))
        await asyncio.sleep(1.0)  # long since blocked on the undrained socket
        task.cancel()  # what the outbox does to a slow consumer's writer

    async with serving(flooder) as server:
        _reader, writer = await _small_window_upgrade(server.config.port)
        try:
            assert len(protocols(server)) == 1
            for _ in range(40):  # never reading, the server lets it go within the app's second
                await asyncio.sleep(0.1)
                if not protocols(server):
                    break
            assert not protocols(server)
        finally:
            writer.close()


async def _send_forever(send: Send, chunk: str) -> None:
    while True:
        await send({"type": "websocket.send", "text": chunk})


async def test_a_websocket_that_ended_no_longer_counts_against_its_address() -> None:
    settings = Settings(limits={"max_connections_per_address": 2})  # type: ignore[arg-type]
    async with serving(echo, http=bounded_protocol(settings)) as server:
        for _ in range(5):  # more than the cap, one after the other
            async with connect(url(server)) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
            await asyncio.sleep(0.05)
        async with connect(url(server)), connect(url(server)):
            with pytest.raises((InvalidStatus, OSError, Exception)):
                async with connect(url(server), open_timeout=2):
                    pass


async def test_the_upgraded_http_protocol_is_freed_without_waiting_for_the_collector() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    def alive() -> int:
        return sum(isinstance(o, HttpToolsProtocol) for o in gc.get_objects())

    async with serving(echo, http=bounded_protocol(Settings())) as server:
        gc.collect()
        gc.disable()
        try:
            before = alive()
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(5):
                    ws = await stack.enter_async_context(connect(url(server)))
                    await ws.send("x")
                    await ws.recv()
                assert alive() <= before
        finally:
            gc.enable()


async def test_a_frame_begun_before_the_response_is_read_whole_after_the_accept() -> None:
    async def slow_accept(scope: Message, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.3)  # the client's frame begins while the app decides
        await echo(scope, receive, send)

    async with serving(slow_accept) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.config.port)
        try:
            writer.write(UPGRADE)
            await asyncio.sleep(0.1)
            mask = b"\x01\x02\x03\x04"
            frame = b"\x81\x82" + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"hi"))
            writer.write(frame[:3])  # before the response: the client should wait, but may not
            await asyncio.sleep(0.4)
            writer.write(frame[3:])  # after it
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert head.startswith(b"HTTP/1.1 101")
            assert await asyncio.wait_for(_server_frame(reader), 2) == (0x1, b"hi")
        finally:
            writer.close()


async def test_the_application_can_write_at_once_through_the_scope_extension() -> None:
    answers: list[bool] = []

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        send_now = scope["extensions"][SEND_TEXT_NOW]["send"]
        assert (await receive())["type"] == "websocket.connect"
        answers.append(send_now("too early"))  # no handshake answered yet
        await send({"type": "websocket.accept"})
        answers.append(send_now("straight to the socket"))
        await receive()
        await send({"type": "websocket.close", "code": 1000})
        answers.append(send_now("after the close"))

    async with serving(app) as server, connect(url(server)) as client:
        assert await asyncio.wait_for(client.recv(), 2) == "straight to the socket"
        await client.send("bye")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(client.recv(), 2)
    assert answers == [False, True, False]
