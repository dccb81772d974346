"""What the traffic log adds to each room message: run with ``python -m tests.legal.bench_traffic``.

Sends room messages through a real server (uvicorn, SQLite files, real WebSocket clients) once
with the retention traffic log and once with the no-op log, alternating, and prints the median
acknowledged-message latency for one sequential sender and the throughput of concurrent senders.
Also times the sealing of one record (AES-GCM and four HMACs) alone.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from causerie.chat.hooks import Peer
from causerie.legal.codec import RetentionCodec, TrafficRecord
from causerie.legal.crypto import Keyring
from causerie.node import Node
from causerie.settings import Settings
from tests.conftest import run_server
from tests.harness import NoTrafficLog

FAST = {
    "messages_per_second": 100_000,
    "messages_burst": 100_000,
    "frames_per_second": 100_000,
    "frames_burst": 100_000,
}


async def one_run(
    directory: Path, legal: bool, sequential: int, senders: int, each: int
) -> tuple[float, float]:
    settings = Settings(
        database={"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"}, limits=FAST
    )
    node = Node(settings, traffic=None if legal else NoTrafficLog())
    async with run_server(settings, node) as server:
        async with server.client() as solo:
            await solo.enter("Solo", 30, "woman", "75011")
            await solo.join("general")
            for i in range(20):  # warm up
                await solo.say("general", f"warm {i}")
            latencies = []
            for i in range(sequential):
                started = time.perf_counter()
                await solo.say("general", f"message {i}")
                latencies.append(time.perf_counter() - started)
        clients = [server.client() for _ in range(senders)]
        for n, client in enumerate(clients):
            await client.__aenter__()
            await client.enter(f"Sender{n}", 30, "man", "69001")
            await client.join("musique")

        async def burst(client: object) -> None:
            for i in range(each):
                await client.say("musique", f"m{i}")  # type: ignore[attr-defined]

        started = time.perf_counter()
        await asyncio.gather(*(burst(c) for c in clients))
        elapsed = time.perf_counter() - started
        for client in clients:
            await client.close()
    return statistics.median(latencies), senders * each / elapsed


def seal_cost(n: int = 20_000) -> float:
    codec = RetentionCodec(Keyring.generate())
    peer = Peer(
        ip="203.0.113.7", port=51234, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140"
    )
    record = TrafficRecord(
        "content",
        time.time(),
        "s" * 24,
        "Camille",
        peer.ip,
        peer.port,
        peer.user_agent,
        peer.protocol,
        "m123456",
    )
    started = time.perf_counter()
    for _ in range(n):
        codec.seal_traffic(record)
    return (time.perf_counter() - started) / n


async def main() -> None:
    sequential = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    senders, each = 8, 100
    print(f"sealing one traffic record: {seal_cost() * 1e6:.1f} µs")
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(3):
        for legal in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                results[legal].append(await one_run(Path(tmp), legal, sequential, senders, each))
    for legal in (False, True):
        latency = statistics.median(r[0] for r in results[legal])
        rate = statistics.median(r[1] for r in results[legal])
        name = "retention log" if legal else "no-op log    "
        print(
            f"{name}: median ack latency {latency * 1e3:.2f} ms (1 sender, {sequential} msgs); "
            f"{rate:.0f} msgs/s ({senders} senders x {each})"
        )
    base, with_log = (statistics.median(r[0] for r in results[k]) for k in (False, True))
    print(f"added per message (sequential): {(with_log - base) * 1e3:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
