"""causerie against its peers, in the same run, driven by the same load generator.

::

    python -m bench.peers rate --peers causerie,causerie-nomod,websockets,socketio,node \\
        --rooms 5 --members 20 --rate 200 --duration 15
    python -m bench.peers idle --peers causerie,websockets --connections 10000
    python -m bench.peers first --peers causerie --repeat 50

Peers (each pinned to CPU 0, the generator to CPU 1):

- ``causerie``: ``causerie serve`` (safety pipeline on), a temporary SQLite database and the
  fan-out bench's raised flood limits; ``causerie-nomod``: the same with
  ``CAUSERIE_SAFETY__ENABLED=false``; ``causerie-w2``: ``--workers 2`` (needs
  ``--database-url`` to PostgreSQL and Redis on 6379).
- ``websockets``: bench/peer_websockets.py, bare rooms and broadcast (the Python ceiling).
- ``socketio``: bench/peer_socketio.py, python-socketio on uvicorn.
- ``node``: bench/node/server.js, socket.io on Node (``npm ci`` in bench/node first).

The generator speaks each peer's wire with raw ``websockets`` connections (socket.io's
engine.io framing included), so its own cost is the same for every peer. A message's text is
an ordinary chat line then ``bench s<step> m<measured> t<monotonic ns>``; receivers
find it with one regular expression over the raw frame, whatever the peer's JSON looks like.
Refusals are counted by error code, so a run that delivers little says why.

``rate``: R rooms of M members, the first ``--senders`` members of each room say messages on an
open-loop schedule; latency from send to every member's receipt, server CPU per message,
and how much of it the event loops took and how much the other threads (writers, BLAS).
``idle``: RSS per connection with N connections held (``--enter`` also enters causerie chatters).
``first``: causerie's time to first message: connect, enter, join, say, ack, one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.fanout import (
    BIN_NS,
    RESULTS,
    bench_text,
    cpu_seconds,
    machine,
    percentiles,
    pin_to,
    rss_kib,
    server_environment,
)
from bench.rawws import RawWebSocket

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
TEXT = re.compile(rb"bench s(\d+) m([01]) t(\d+)")


# -- the servers -------------------------------------------------------------------------------


@dataclass
class Peer:
    name: str
    dialect: str  # "causerie", "plain" or "socketio"
    command: list[str]
    env: dict[str, str]
    tmp: tempfile.TemporaryDirectory[str] | None = None
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    log: Any = None

    def start(self, cpu: int | None) -> None:
        prefix = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - read until the server stops
        self.process = subprocess.Popen(
            prefix + self.command,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.output()}")
            with contextlib.suppress(OSError):
                if self.dialect == "causerie":
                    urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=5)
                else:
                    socket.create_connection((HOST, self.port), timeout=1).close()
                time.sleep(0.5)
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not start:\n{self.output()}")

    @property
    def pids(self) -> list[int]:
        """The server process and, for ``--workers``, its workers."""
        assert self.process is not None
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids if Path(f"/proc/{pid}").exists())

    def cpu_by_thread(self) -> tuple[float, float]:
        """CPU seconds so far of the processes' main threads (the event loops) and of all their
        other threads (the database writers, onnxruntime's, BLAS's), from ``/proc``."""
        loop = others = 0.0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    seconds = cpu_seconds(pid, int(task.name))
                    if int(task.name) == pid:
                        loop += seconds
                    else:
                        others += seconds
        return loop, others

    def rss(self) -> int:
        return sum(rss_kib(pid) for pid in self.pids if Path(f"/proc/{pid}").exists())

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.tmp is not None:
            self.tmp.cleanup()


def make_peer(name: str, args: argparse.Namespace) -> Peer:
    port = free_port()
    python = sys.executable
    if name.startswith("causerie"):
        tmp = tempfile.TemporaryDirectory(prefix="causerie-peers-")
        env = server_environment(Path(tmp.name) / "bench.db", dict(args.env or []))
        command = [python, "-m", *args.causerie_server.split()]
        command += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
        if getattr(args, "collect", False):
            if "bench.server" not in args.causerie_server:
                raise SystemExit('--collect needs --causerie-server "bench.server"')
            command += ["--collection-output", str(Path(tmp.name) / "collection.json")]
        if name == "causerie-nomod":
            env["CAUSERIE_SAFETY__ENABLED"] = "false"
        if name.startswith("causerie-w"):
            if not args.database_url:
                raise SystemExit(f"{name} needs --database-url (PostgreSQL) and Redis")
            env["CAUSERIE_DATABASE__URL"] = fresh_schema(args.database_url)
            env["CAUSERIE_BUS__BACKEND"] = "redis"
            env["CAUSERIE_BUS__URL"] = args.redis_url
            command += ["--workers", name.removeprefix("causerie-w")]
        return Peer(name, "causerie", command, env, tmp=tmp, port=port)
    env = dict(os.environ)
    if name == "websockets":
        command = [python, "-m", "bench.peer_websockets", "--port", str(port)]
        return Peer(name, "plain", command, env, port=port)
    if name == "socketio":
        command = [python, "-m", "bench.peer_socketio", "--port", str(port)]
        return Peer(name, "socketio", command, env, port=port)
    if name == "node":
        if not (ROOT / "bench/node/node_modules/socket.io").exists():
            raise SystemExit("run `npm ci --prefix bench/node` first")
        command = ["node", "bench/node/server.js", str(port)]
        return Peer(name, "socketio", command, env, port=port)
    raise SystemExit(f"unknown peer {name!r}")


def fresh_schema(url: str) -> str:
    """A new empty schema in that PostgreSQL database, so that no earlier run's rows remain."""
    import asyncpg

    schema = f"bench_{int(time.time())}_{os.getpid()}"

    async def create() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()

    asyncio.run(create())
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- the generator's connections ---------------------------------------------------------------


@dataclass
class Tally:
    delivered: int = 0
    histogram: Counter[int] = field(default_factory=Counter)


class Wire:
    """One peer's wire protocol over a raw connection: open, join, say, and the receive loop."""

    def __init__(self, peer: Peer) -> None:
        self.dialect = peer.dialect
        self.port = peer.port
        self.steps: dict[bytes, Tally] = {}
        self.acks: Counter[int] = Counter()
        self.sent_at: dict[str, int] = {}
        # Refusals by error code: a run that delivers little says why.
        self.errors: Counter[str] = Counter()
        self.closed = 0

    def url(self) -> str:
        if self.dialect == "socketio":
            return f"ws://{HOST}:{self.port}/socket.io/?EIO=4&transport=websocket"
        if self.dialect == "causerie":
            return f"ws://{HOST}:{self.port}/ws"
        return f"ws://{HOST}:{self.port}/"

    async def open(self, index: int, enter: bool = True) -> ClientConnection:
        ws = await connect(
            self.url(), compression=None, max_size=None, open_timeout=60, ping_interval=None
        )
        if self.dialect == "socketio":
            await ws.recv()  # engine.io open packet
            await ws.send("40")
            await _until(ws, lambda m: m.startswith("40"))
        elif self.dialect == "causerie" and enter:
            await ws.send(
                json.dumps(
                    {
                        "type": "enter",
                        "nickname": nickname(index),
                        "age": 30,
                        "gender": "other",
                        "postal_code": "69001",
                    }
                )
            )
            await _until(ws, lambda m: '"welcome"' in m, fail='"error"')
        return ws

    async def join(self, ws: ClientConnection, room: str) -> None:
        if self.dialect == "causerie":
            await ws.send(json.dumps({"type": "join", "rooms": [room]}))
            await _until(ws, lambda m: '"joined"' in m, fail='"error"')
        elif self.dialect == "socketio":
            await ws.send("42" + json.dumps(["join", room]))
            await _until(ws, lambda m: '"joined"' in m)
        else:
            await ws.send(json.dumps({"join": room}))
            await _until(ws, lambda m: '"joined"' in m)

    async def name(self, ws: ClientConnection, index: int) -> None:
        """Make the connection reachable by name for private messages (causerie: its
        nickname, given at entry)."""
        if self.dialect == "plain":
            await ws.send(json.dumps({"name": nickname(index)}))
            await _until(ws, lambda m: '"named"' in m)
        elif self.dialect != "causerie":
            raise SystemExit(f"--private: the {self.dialect} peer has no private messages")

    def private(self, to: str, text: str, ref: str) -> str:
        if self.dialect == "causerie":
            return json.dumps({"type": "private", "to": to, "text": text, "ref": ref})
        return json.dumps({"to": to, "text": text})

    def say(self, room: str, text: str, ref: str) -> str:
        if self.dialect == "causerie":
            return json.dumps({"type": "say", "room": room, "text": text, "ref": ref})
        if self.dialect == "socketio":
            return "42" + json.dumps(["say", {"room": room, "text": text}])
        return json.dumps({"room": room, "text": text})

    async def receive(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                data = message.encode() if isinstance(message, str) else message
                if self.dialect == "socketio" and data == b"2":
                    await ws.send("3")  # engine.io heartbeat
                    continue
                self.count(data, time.monotonic_ns())
        except Exception:
            pass
        self.closed += 1

    def lost(self) -> None:
        self.closed += 1

    def take(self, data: bytes, now: int, raw: RawWebSocket) -> None:
        """A message read by :class:`~bench.rawws.RawWebSocket` (the rate runs)."""
        if self.dialect == "socketio" and data == b"2":
            raw.send_text("3")  # engine.io heartbeat
            return
        self.count(data, now)

    def count(self, data: bytes, now: int) -> None:
        for step, measured, sent in TEXT.findall(data):
            if measured == b"1":
                tally = self.steps.get(step)
                if tally is None:
                    tally = self.steps[step] = Tally()
                tally.delivered += 1
                tally.histogram[(now - int(sent)) // BIN_NS] += 1
        if b'"error"' in data:
            for code in re.findall(rb'"type":"error","code":"([^"]+)"', data):
                self.errors[code.decode()] += 1
        if self.sent_at and b'"ack"' in data:
            for ref in re.findall(rb'"type":"ack","ref":"([^"]+)"', data):
                sent_ns = self.sent_at.pop(ref.decode(), None)
                if sent_ns is not None:
                    self.acks[(now - sent_ns) // BIN_NS] += 1


async def _until(ws: ClientConnection, done: Any, fail: str | None = None) -> str:
    while True:
        message = await asyncio.wait_for(ws.recv(), 60)
        text = message if isinstance(message, str) else message.decode()
        if fail is not None and fail in text and not done(text):
            raise RuntimeError(text[:300])
        if done(text):
            return text


# No two letters that the nickname key folds together (i/l, rn/m, vv/w, o/0, s/5).
LETTERS = "bcdfghjkmpqtwxyz"


def nickname(index: int) -> str:
    letters = []
    for _ in range(4):
        index, digit = divmod(index, len(LETTERS))
        letters.append(LETTERS[digit])
    return "Peer" + "".join(reversed(letters))


async def causerie_rooms(port: int, wanted: int) -> list[str]:
    async with connect(f"ws://{HOST}:{port}/ws", compression=None) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "enter",
                    "nickname": "Peerscout",
                    "age": 30,
                    "gender": "other",
                    "postal_code": "69001",
                }
            )
        )
        await _until(ws, lambda m: '"welcome"' in m)
        await ws.send(json.dumps({"type": "rooms"}))
        listing = json.loads(await _until(ws, lambda m: '"room_list"' in m))
    frames = listing if isinstance(listing, list) else [listing]
    rooms = [
        r["id"]
        for fr in frames
        if fr["type"] == "room_list"
        for r in fr["rooms"]
        if r["audience"] == "all"
    ]
    if len(rooms) < wanted:
        raise SystemExit(f"only {len(rooms)} all-ages rooms")
    return rooms[:wanted]


async def open_many(
    wire: Wire, count: int, concurrency: int, enter: bool, first: int = 0
) -> list[ClientConnection]:
    sockets: list[ClientConnection | None] = [None] * count
    queue = iter(range(count))

    async def worker() -> None:
        for index in queue:
            sockets[index] = await wire.open(first + index, enter)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [ws for ws in sockets if ws is not None]


# -- rate: rooms at a message rate ---------------------------------------------------------------


async def rate_run(peer: Peer, args: argparse.Namespace) -> dict[str, Any]:
    wire = Wire(peer)
    total = args.rooms * args.members
    if peer.dialect == "causerie":
        rooms = await causerie_rooms(peer.port, args.rooms)
    else:
        rooms = [f"r{i}" for i in range(args.rooms)]
    rss_before = peer.rss()
    started = time.monotonic()
    sockets = await open_many(wire, total, args.concurrency, enter=True)
    member_rooms = [rooms[i % args.rooms] for i in range(total)]
    sem = asyncio.Semaphore(args.concurrency)

    async def join(ws: ClientConnection, room: str) -> None:
        async with sem:
            await wire.join(ws, room)

    async def name(ws: ClientConnection, index: int) -> None:
        async with sem:
            await wire.name(ws, index)

    if args.private:
        # Pairs: the first of each sends private messages to the second.
        await asyncio.gather(*(name(ws, i) for i, ws in enumerate(sockets)))
        member_rooms = [nickname(i + 1) for i in range(total)]
    else:
        await asyncio.gather(
            *(join(ws, room) for ws, room in zip(sockets, member_rooms, strict=True))
        )
    setup = round(time.monotonic() - started, 2)
    await asyncio.sleep(1.0)
    rss_held = peer.rss()
    # The generator reads through RawWebSocket from here on: `websockets` per message cost the
    # generator two thirds of its core in a room of 1,000 (bench/rawws.py).
    raws = await asyncio.gather(
        *(RawWebSocket.take_over(ws, wire.take, wire.lost) for ws in sockets)
    )
    if args.private:
        senders = [(raws[i], member_rooms[i]) for i in range(0, total - 1, 2)]
    else:
        senders = [
            (raws[i], member_rooms[i]) for i in range(total) if i // args.rooms < args.senders
        ]
    steps = []
    for number, rate in enumerate(float(r) for r in args.rate.split(",")):
        steps.append(await rate_step(peer, wire, senders, number + 1, rate, args))
        print(peer.name, json.dumps(steps[-1]), flush=True)
    for raw in raws:
        raw.abort()
    return {
        "peer": peer.name,
        "setup_seconds": setup,
        "connections": total,
        "rss_per_connection_kib": round((rss_held - rss_before) / total, 1),
        "steps": steps,
    }


async def rate_step(
    peer: Peer,
    wire: Wire,
    senders: list[tuple[RawWebSocket, str]],
    number: int,
    rate: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    interval = len(senders) / rate
    start = time.monotonic() + 0.2
    sent = 0
    measured_sent = 0
    wire.acks.clear()
    wire.errors.clear()
    load = os.getloadavg()
    cpu_before = peer.cpu()
    threads_before = peer.cpu_by_thread()
    gen_before = cpu_seconds(os.getpid())

    async def run(position: int, ws: RawWebSocket, room: str) -> None:
        nonlocal sent, measured_sent
        n = 0
        first = start + interval * position / len(senders)
        while True:
            due = first + n * interval
            if due >= start + args.duration:
                return
            n += 1
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            measured = 1 if due >= start + args.warmup else 0
            now = time.monotonic_ns()
            ref = f"{number}:{position}:{n}"
            if measured:
                wire.sent_at[ref] = now
            text = bench_text(number, measured, now, n)
            frame = wire.private(room, text, ref) if args.private else wire.say(room, text, ref)
            ws.send_text(frame)
            sent += 1
            measured_sent += measured

    await asyncio.gather(*(run(i, ws, room) for i, (ws, room) in enumerate(senders)))
    expected = measured_sent * (1 if args.private else args.members)
    deadline = time.monotonic() + 15
    tally = wire.steps.setdefault(str(number).encode(), Tally())
    while tally.delivered < expected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the receivers count; polling keeps them free of signalling
    elapsed = time.monotonic() - start
    cpu = peer.cpu() - cpu_before
    loop_cpu, other_cpu = (b - a for a, b in zip(threads_before, peer.cpu_by_thread(), strict=True))
    gen = cpu_seconds(os.getpid()) - gen_before
    measured_seconds = args.duration - args.warmup
    return {
        "step": number,
        "rate": rate,
        "sent": sent,
        "deliveries_per_second": round(tally.delivered / measured_seconds),
        "delivery_ratio": round(tally.delivered / max(expected, 1), 4),
        "latency_ms": percentiles(tally.histogram, (50, 99)),
        "ack_ms": percentiles(wire.acks, (50, 99)) if wire.acks else None,
        "server_cpu_us_per_message": round(1e6 * cpu / max(sent, 1), 1),
        "server_cpu_percent": round(100 * cpu / elapsed, 1),
        # Where the CPU went: the event loops' threads, and every other thread of the server.
        "server_loop_us_per_message": round(1e6 * loop_cpu / max(sent, 1), 1),
        "server_other_threads_us_per_message": round(1e6 * other_cpu / max(sent, 1), 1),
        "generator_cpu_percent": round(100 * gen / elapsed, 1),
        "closed": wire.closed,
        "errors": dict(wire.errors),
        "load_average": load,
    }


# -- idle: memory per held connection -------------------------------------------------------------


async def idle_run(peer: Peer, args: argparse.Namespace) -> dict[str, Any]:
    wire = Wire(peer)
    await asyncio.sleep(1.0)
    if args.tracemalloc:
        assert peer.process is not None
        os.kill(peer.process.pid, signal.SIGUSR1)
        await asyncio.sleep(2.0)
    rss_before = peer.rss()
    enter = args.enter and peer.dialect == "causerie"
    for round_ in range(args.churn):
        # Connections that come, enter and go before the measured ones: what a closed
        # connection leaves behind (with --collect: what the full collection frees).
        first = (round_ + 1) * args.connections  # nicknames of their own
        gone = await open_many(wire, args.connections, args.concurrency, enter, first)
        await asyncio.sleep(args.hold)
        for ws in gone:
            ws.transport.abort()
        await asyncio.sleep(2.0)
    # The RSS is from before the churn (what closed connections left counts), the set-up time
    # is the held connections' own.
    started = time.monotonic()
    sockets = await open_many(wire, args.connections, args.concurrency, enter=enter)
    setup = round(time.monotonic() - started, 1)
    readers = [asyncio.create_task(wire.receive(ws)) for ws in sockets]
    await asyncio.sleep(args.hold)
    rss_held = peer.rss()
    held = len(sockets) - wire.closed
    if args.tracemalloc:
        assert peer.process is not None
        output = ROOT / "bench/results/tracemalloc.txt"
        output.unlink(missing_ok=True)
        os.kill(peer.process.pid, signal.SIGUSR1)
        for _ in range(180):  # a snapshot of a few hundred MiB takes a while
            if output.exists() and output.stat().st_size > 0:
                await asyncio.sleep(2.0)
                break
            await asyncio.sleep(0.5)
    collection = None
    if args.collect and peer.dialect == "causerie":
        assert peer.process is not None
        assert peer.tmp is not None
        output = Path(peer.tmp.name) / "collection.json"
        os.kill(peer.process.pid, signal.SIGUSR2)
        for _ in range(120):
            await asyncio.sleep(0.5)
            if output.exists() and output.stat().st_size > 0:
                collection = json.loads(output.read_text())
                break
    result = {
        "peer": peer.name,
        "connections": len(sockets),
        "entered": enter,
        "held_after_seconds": args.hold,
        "held": held,
        "setup_seconds": setup,
        "rss_before_kib": rss_before,
        "rss_held_kib": rss_held,
        "rss_per_connection_kib": round((rss_held - rss_before) / max(len(sockets), 1), 1),
    }
    if collection is not None:
        result["full_collection"] = collection
    for ws in sockets:
        ws.transport.abort()
    for task in readers:
        task.cancel()
    return result


# -- first: time to first message on an idle causerie node -----------------------------------------


async def first_run(peer: Peer, args: argparse.Namespace) -> dict[str, Any]:
    if peer.dialect != "causerie":
        raise SystemExit("first: causerie peers only")
    room = (await causerie_rooms(peer.port, 1))[0]
    wire = Wire(peer)
    times: list[float] = []
    cpu_before = peer.cpu()
    for index in range(args.repeat):
        started = time.perf_counter()
        ws = await wire.open(index)
        await wire.join(ws, room)
        await ws.send(wire.say(room, "bonjour", "first"))
        await _until(ws, lambda m: '"ack"' in m, fail='"error"')
        times.append((time.perf_counter() - started) * 1000)
        await ws.close()
        await asyncio.sleep(0.05)
    times.sort()
    return {
        "peer": peer.name,
        "repeat": args.repeat,
        "first_message_ms": {
            "p50": round(times[len(times) // 2], 2),
            "p90": round(times[math.ceil(len(times) * 0.9) - 1], 2),
            "min": round(times[0], 2),
            "max": round(times[-1], 2),
        },
        "server_cpu_ms_per_try": round(1000 * (peer.cpu() - cpu_before) / args.repeat, 2),
    }


# -- command line --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", choices=["rate", "idle", "first"])
    parser.add_argument("--peers", default="causerie,causerie-nomod,websockets,socketio,node")
    parser.add_argument("--rooms", type=int, default=5)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--senders", type=int, default=2, help="sending members per room")
    parser.add_argument(
        "--private",
        action="store_true",
        help="rate: rooms x members connections in pairs, the first of each sending private"
        " messages to the second (causerie and websockets only)",
    )
    parser.add_argument("--rate", default="200", help="messages/s over all rooms; a comma list")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=1000, help="idle: connections held")
    parser.add_argument("--enter", action="store_true", help="idle: causerie chatters enter")
    parser.add_argument("--hold", type=float, default=5.0, help="idle: seconds before measuring")
    parser.add_argument("--repeat", type=int, default=50, help="first: tries")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL for causerie-w<N>")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--env",
        action="append",
        type=lambda t: tuple(t.split("=", 1)),
        help="extra NAME=VALUE for causerie's environment",
    )
    parser.add_argument(
        "--causerie-server",
        default="causerie.cli.main serve",
        help="module and arguments that start causerie (bench.server for variants)",
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="idle: signal a bench.server --tracemalloc"
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="idle: time a full garbage collection in the server once the connections are held",
    )
    parser.add_argument(
        "--churn",
        type=int,
        default=0,
        help="idle: first open, enter and close the connections this many times",
    )
    parser.add_argument("--label", default="")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    multi = os.cpu_count() or 1
    server_cpu = args.server_cpu if multi > 1 and args.server_cpu >= 0 else None
    pin_to(args.load_cpu if multi > 1 else None)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    run = {"rate": rate_run, "idle": idle_run, "first": first_run}[args.mode]
    result: dict[str, Any] = {
        "command": " ".join(["python -m bench.peers", *(argv or sys.argv[1:])]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "results": [],
    }
    for name in args.peers.split(","):
        peer = make_peer(name, args)
        try:
            peer.start(server_cpu if not name.startswith("causerie-w") else None)
            outcome = asyncio.run(run(peer, args))
        except Exception as exc:
            outcome = {"peer": name, "error": repr(exc)[:500], "log": peer.output()[-1500:]}
        finally:
            peer.stop()
        print(json.dumps(outcome), flush=True)
        result["results"].append(outcome)
    result["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    output = RESULTS / f"peers-{args.mode}{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"result written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
