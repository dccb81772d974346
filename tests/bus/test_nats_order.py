"""The NATS bus confirms with a PING that the server reads after the command it confirms.

nats-py writes a PING straight to its socket but queues SUB and PUB for its flusher task, so a
bare ``flush()`` right after ``subscribe()`` can put the PING on the wire first: its PONG then
proves nothing and a node that has just started may miss an envelope (CI saw it once). A proxy
between the bus and the real server records what the client writes, in order, so the test does
not depend on a lost race.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from causerie.bus.nats import NatsBus
from tests.bus.test_bus import Receiver, require_broker

pytestmark = pytest.mark.broker


class RecordingProxy:
    """Forwards TCP to the NATS server and keeps every byte the client sent."""

    def __init__(self) -> None:
        self.sent = bytearray()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"nats://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 4222)
        self._writers += [writer, upstream_writer]

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool
        ) -> None:
            while data := await source.read(65536):
                if record:
                    self.sent.extend(data)
                sink.write(data)
                await sink.drain()
            sink.close()

        for task in (
            asyncio.create_task(pipe(reader, upstream_writer, record=True)),
            asyncio.create_task(pipe(upstream_reader, writer, record=False)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def close(self) -> None:
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    require_broker("nats")
    recording = RecordingProxy()
    yield recording
    await recording.close()


def commands(sent: bytes) -> list[str]:
    """The verbs of the protocol lines the client wrote (payload lines of a PUB skipped)."""
    verbs, lines = [], sent.split(b"\r\n")
    index = 0
    while index < len(lines):
        verb = lines[index].split(b" ", 1)[0].decode(errors="replace")
        verbs.append(verb)
        index += 2 if verb in ("PUB", "HPUB") else 1
    return [verb for verb in verbs if verb]


async def test_start_returns_after_a_ping_written_behind_the_subscription(
    proxy: RecordingProxy,
) -> None:
    bus = NatsBus(await proxy.start(), f"causerie.test.{secrets.token_hex(6)}")
    await bus.start(Receiver())
    written = commands(bytes(proxy.sent))
    await bus.close()
    assert "SUB" in written
    assert "PING" in written[written.index("SUB") :], written


async def test_publish_returns_after_a_ping_written_behind_the_envelope(
    proxy: RecordingProxy,
) -> None:
    bus = NatsBus(await proxy.start(), f"causerie.test.{secrets.token_hex(6)}")
    await bus.start(Receiver())
    await bus.publish(b"one")
    await asyncio.gather(bus.publish(b"two"), bus.publish(b"three"))
    written = commands(bytes(proxy.sent))
    await bus.close()
    last_pub = len(written) - 1 - written[::-1].index("PUB")
    assert written.count("PUB") == 3
    assert "PING" in written[last_pub:], written


def test_the_recorded_verbs_are_read_as_the_protocol_writes_them() -> None:
    sent = b"CONNECT {}\r\nPING\r\nSUB s  1\r\nPUB s 4\r\nPING\r\nPING\r\n"
    assert commands(sent) == ["CONNECT", "PING", "SUB", "PUB", "PING"]
