"""Fan-out load test: N connections in R rooms, messages at rising rates, latency send → receipt.

::

    python -m bench.fanout --connections 1000 --rooms 1 --rate 25,50,100,200 --duration 20

It starts ``causerie serve`` itself on 127.0.0.1 with a temporary SQLite database and raised
per-connection flood limits, pins the server to one CPU and the load generator to another
(``taskset``/``sched_setaffinity``), opens the connections, then runs one step per rate and
stops the ramp once p99 passes ``--stop-p99-ms``. The result goes to ``bench/results/``.

How the load generator stays cheap enough to measure the server rather than itself:

- The senders are :class:`causerie.client.Client` objects (the real entry, join and say path,
  each ``say`` waiting for its ``ack``) in one process.
- The receivers are plain ``websockets`` connections in several processes. They never decode
  JSON: a message's text is ``bench:<step>:<measured>:<monotonic ns>`` and one regular
  expression over the raw bytes finds every timestamp, whether the server sent one frame or a
  JSON array of several. ``time.monotonic_ns()`` is system-wide on Linux, so the send time taken
  in the sender process and the receipt time taken in a receiver process are comparable.
- Latencies go into a histogram of 0.1 ms bins, per step, merged by the parent.

A message counts as delivered once per room member (the sender receives its own message too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
RESULTS = Path(__file__).parent / "results"
BIN_NS = 100_000  # histogram resolution: 0.1 ms
# A message's text: an ordinary chat line, then the step number, 1 when it falls in the
# measured window (0 in the warm-up), and the sender's monotonic clock in nanoseconds. Each
# number follows a letter: a digit after a word boundary reads as a phone number to the safety
# rules ("0 25 22 29 ..."). Without the ordinary words, the marker alone reads to the semantic
# model as a handle (off_platform 0.36-0.43), and four in a row from one sender are refused as
# any repeated faint signal is.
CARRIERS = (
    # Lines the moderation reads as harmless with the send-time token after them: "salut tout
    # le monde", "what are you all up to", "what's everyone having for dinner" and "je rentre
    # du boulot enfin" reached 0.35-0.58 for personal data with the tuned encoder (2026-12-04),
    # and a muted sender sends nothing more. These stay under 0.33 with 13 to 19 digits.
    "j'adore cette chanson",
    "il fait beau aujourd'hui",
    "vous écoutez quoi comme musique",
    "bonne soirée à tous",
    "quelqu'un a vu le film hier",
    "anyone watching the game tonight",
    "the weather is lovely today",
    "good evening everyone",
)
TEXT_PATTERN = re.compile(rb'bench s(\d+) m([01]) t(\d+)"')


def bench_text(step: int, measured: int, sent_ns: int, n: int) -> str:
    # Decimal digits: a token mixing letters and digits reads as obfuscated, and the moderation
    # then runs the encoder a second time on its undone form, which doubled the model's cost.
    return f"{CARRIERS[n % len(CARRIERS)]} bench s{step} m{measured} t{sent_ns}"


PROTOCOL_ERROR = -1


# -- the plan every process shares -----------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    connections: int
    rooms: list[str]
    senders: int
    compression: bool
    ramp_concurrency: int

    def room_of(self, index: int) -> str:
        return self.rooms[index % len(self.rooms)]

    def members_of(self, room: str) -> int:
        position = self.rooms.index(room)
        return len(range(position, self.connections, len(self.rooms)))

    def nickname(self, index: int) -> str:
        # Letters only: the nickname key folds look-alike digits, letters stay distinct.
        # and no two letters fold together either (i/l, rn/m, vv/w, o/0, s/5).
        letters = []
        for _ in range(4):
            index, digit = divmod(index, 16)
            letters.append("bcdfghjkmpqtwxyz"[digit])
        return "Bench" + "".join(reversed(letters))


@dataclass
class Tally:
    """What one process has seen for one step."""

    delivered_measured: int = 0
    delivered_warmup: int = 0
    histogram: Counter[int] = field(default_factory=Counter)

    def merge(self, other: dict[str, Any]) -> None:
        self.delivered_measured += other["delivered_measured"]
        self.delivered_warmup += other["delivered_warmup"]
        self.histogram.update({int(k): v for k, v in other["histogram"].items()})

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered_measured": self.delivered_measured,
            "delivered_warmup": self.delivered_warmup,
            "histogram": dict(self.histogram),
        }


class Counting:
    """Per-process receipt accounting, fed raw message bytes."""

    def __init__(self) -> None:
        self.steps: dict[bytes, Tally] = {}
        self.ws_messages = 0

    def feed(self, data: bytes, now_ns: int) -> None:
        self.ws_messages += 1
        for step, measured, sent in TEXT_PATTERN.findall(data):
            tally = self.steps.get(step)
            if tally is None:
                tally = self.steps[step] = Tally()
            if measured == b"1":
                tally.delivered_measured += 1
                tally.histogram[(now_ns - int(sent)) // BIN_NS] += 1
            else:
                tally.delivered_warmup += 1

    def tally(self, step: int) -> Tally:
        return self.steps.get(str(step).encode(), Tally())


def pin_to(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def install_fast_loop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# -- receivers: raw websockets, no JSON decoding after the join --------------------------------


class Receivers:
    def __init__(self, plan: Plan, indices: Sequence[int]) -> None:
        self.plan = plan
        self.indices = indices
        self.counting = Counting()
        self.sockets: list[Any] = []
        self.readers: list[asyncio.Task[None]] = []
        self.closed: Counter[str] = Counter()
        self.setup_errors: Counter[str] = Counter()

    async def _open(self, index: int) -> None:
        import msgspec
        from websockets.asyncio.client import connect

        from causerie.protocol import frames as f

        encoder = msgspec.json.Encoder()
        ws = await connect(
            self.plan.url,
            compression="deflate" if self.plan.compression else None,
            max_size=2**24,
            open_timeout=120,
            # The server pings every 20 s and these answer; a saturated load generator must
            # not also time out its own pings and close connections mid-measurement.
            ping_interval=None,
            user_agent_header="causerie-bench",
        )
        try:
            enter = f.Enter(
                nickname=self.plan.nickname(index), age=30, gender="other", postal_code="69001"
            )
            await ws.send(encoder.encode(enter).decode())
            await expect(ws, "welcome")
            await ws.send(encoder.encode(f.Join(rooms=[self.plan.room_of(index)])).decode())
            await expect(ws, "joined")
        except BaseException:
            await ws.close()
            raise
        self.sockets.append(ws)
        # Read from now on: a member that stops reading while the others join would fill its
        # server-side queue with their arrivals and be disconnected as too slow.
        self.readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        feed = self.counting.feed
        clock = time.monotonic_ns
        try:
            while True:
                data = await ws.recv(decode=False)
                feed(data, clock())
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else "none"
            reason = closed.rcvd.reason if closed.rcvd is not None else ""
            self.closed[f"{code} {reason}".strip()] += 1

    async def setup(self) -> dict[str, Any]:
        started = time.monotonic()
        await bounded_gather(
            (self._open_counted(index) for index in self.indices), self.plan.ramp_concurrency
        )
        return {
            "opened": len(self.sockets),
            "failed": sum(self.setup_errors.values()),
            "errors": dict(self.setup_errors),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def _open_counted(self, index: int) -> None:
        try:
            await self._open(index)
        except Exception as exc:
            self.setup_errors[f"{type(exc).__name__}: {exc}"[:160]] += 1

    def open_count(self) -> int:
        return sum(1 for task in self.readers if not task.done())

    def report(self, step: int) -> dict[str, Any]:
        return {
            **self.counting.tally(step).as_dict(),
            "open": self.open_count(),
            "closed": dict(self.closed),
            "ws_messages": self.counting.ws_messages,
        }

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        for ws in self.sockets:
            ws.transport.abort()


async def expect(ws: Any, frame_type: str) -> None:
    """Read until a frame of ``frame_type`` arrives; an error frame fails the setup."""
    while True:
        raw = await asyncio.wait_for(ws.recv(), 120)
        decoded = json.loads(raw)
        for frame in decoded if isinstance(decoded, list) else [decoded]:
            if frame.get("type") == "error":
                raise RuntimeError(f"{frame.get('code')}: {frame.get('message')}")
            if frame.get("type") == frame_type:
                return


async def bounded_gather(jobs: Iterable[Any], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Any) -> None:
        async with semaphore:
            await job

    await asyncio.gather(*(run(job) for job in jobs))


# -- senders: causerie.client, one say at a time each, on a fixed schedule ---------------------


class Senders:
    """Open-loop senders: each says on a fixed schedule, without waiting for the last ack.

    The frames go out through :meth:`causerie.client.Client.send_raw` and the acks come back
    through :meth:`causerie.client.Client.events`, matched by ``ref``; waiting for each ack
    before the next message would let a slow commit slow the offered load down and hide it.
    """

    def __init__(self, plan: Plan, indices: Sequence[int]) -> None:
        self.plan = plan
        self.indices = indices
        self.counting = Counting()
        self.clients: list[tuple[Any, str]] = []
        self.drains: list[asyncio.Task[None]] = []
        self.setup_errors: Counter[str] = Counter()
        self.unacked: dict[str, int] = {}
        self.acks: dict[int, Counter[int]] = {}
        self.refused: dict[int, Counter[str]] = {}

    async def setup(self) -> dict[str, Any]:
        from causerie.client import Client

        started = time.monotonic()

        async def open_one(index: int) -> None:
            client = Client(self.plan.url, timeout=120, user_agent="causerie-bench")
            try:
                await client.__aenter__()
                await client.enter(self.plan.nickname(index), 30, "other", "69001")
                room = self.plan.room_of(index)
                await client.join(room)
            except Exception as exc:
                self.setup_errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                await client.close()
                return
            self.clients.append((client, room))
            self.drains.append(asyncio.create_task(self._drain(client)))

        await bounded_gather((open_one(i) for i in self.indices), self.plan.ramp_concurrency)
        return {
            "opened": len(self.clients),
            "failed": sum(self.setup_errors.values()),
            "errors": dict(self.setup_errors),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def _drain(self, client: Any) -> None:
        from causerie.client import Ack, Error, RoomMessage

        clock = time.monotonic_ns
        async for event in client.events():
            if isinstance(event, RoomMessage):
                # Same accounting as the receivers, from the decoded frame's text.
                self.counting.feed(b'"text":"' + event.text.encode() + b'"', clock())
            elif isinstance(event, Ack) and event.ref is not None:
                sent_ns = self.unacked.pop(event.ref, None)
                if sent_ns is not None:
                    step = int(event.ref.split(":", 1)[0])
                    self.acks.setdefault(step, Counter())[(clock() - sent_ns) // BIN_NS] += 1
            elif isinstance(event, Error) and event.ref is not None:
                self.unacked.pop(event.ref, None)
                step = int(event.ref.split(":", 1)[0])
                self.refused.setdefault(step, Counter())[
                    f"{event.code}: {event.message}"[:120]
                ] += 1

    async def step(self, step: int, rate: float, duration: float, warmup: float) -> dict[str, Any]:
        import msgspec

        from causerie.protocol import frames as f

        encoder = msgspec.json.Encoder()
        senders = len(self.clients)
        interval = senders / rate
        start = time.monotonic() + 0.2
        sent: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        lags: list[float] = []
        last_measured_send = start + warmup

        async def run(position: int, client: Any, room: str) -> None:
            nonlocal last_measured_send
            first = start + interval * position / senders
            n = 0
            while True:
                due = first + n * interval
                if due >= start + duration:
                    return
                n += 1
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.001:
                    lags.append(-delay)
                measured = 1 if due >= start + warmup else 0
                ref = f"{step}:{position}:{n}"
                sent_ns = time.monotonic_ns()
                text = bench_text(step, measured, sent_ns, n)
                self.unacked[ref] = sent_ns
                try:
                    await client.send_raw(
                        encoder.encode(f.Say(room=room, text=text, ref=ref)).decode()
                    )
                except Exception as exc:
                    self.unacked.pop(ref, None)
                    failed[type(exc).__name__] += 1
                    continue
                sent[f"{room}:{measured}"] += 1
                if measured:
                    last_measured_send = max(last_measured_send, time.monotonic())

        await asyncio.gather(
            *(run(position, client, room) for position, (client, room) in enumerate(self.clients))
        )
        return {
            "sent": dict(sent),
            "send_failures": dict(failed),
            # From the first measured send to the last, as they really went out.
            "measured_seconds": round(max(last_measured_send - (start + warmup), 1e-3), 3),
            "late_sends": len(lags),
            "max_lag_ms": round(max(lags, default=0.0) * 1000, 1),
        }

    def open_count(self) -> int:
        return sum(1 for client, _ in self.clients if client._closed is None)

    def report(self, step: int) -> dict[str, Any]:
        return {
            **self.counting.tally(step).as_dict(),
            "open": self.open_count(),
            "closed": {},
            "ws_messages": self.counting.ws_messages,
            "ack_histogram": dict(self.acks.get(step, Counter())),
            "refused": dict(self.refused.get(step, Counter())),
            "unacked": sum(1 for ref in self.unacked if ref.startswith(f"{step}:")),
        }

    async def close(self) -> None:
        for task in self.drains:
            task.cancel()
        for client, _ in self.clients:
            ws = client._ws
            if ws is not None:
                ws.transport.abort()


# -- worker processes ----------------------------------------------------------------------------


def worker_main(
    role: str, plan: Plan, indices: list[int], cpu: int | None, pipe: Connection
) -> None:
    pin_to(cpu)
    install_fast_loop()
    asyncio.run(_serve_commands(role, plan, indices, pipe))


async def _serve_commands(role: str, plan: Plan, indices: list[int], pipe: Connection) -> None:
    worker: Receivers | Senders = (
        Senders(plan, indices) if role == "senders" else Receivers(plan, indices)
    )
    loop = asyncio.get_running_loop()
    while True:
        command, *arguments = await loop.run_in_executor(None, pipe.recv)
        if command == "setup":
            pipe.send(await worker.setup())
        elif command == "count":
            tally = worker.counting.tally(arguments[0])
            pipe.send(
                {
                    "delivered": tally.delivered_measured + tally.delivered_warmup,
                    "open": worker.open_count(),
                    "ws_messages": worker.counting.ws_messages,
                }
            )
        elif command == "report":
            pipe.send(worker.report(arguments[0]))
        elif command == "step" and isinstance(worker, Senders):
            pipe.send(await worker.step(*arguments))
        elif command == "stop":
            await worker.close()
            pipe.send({"stopped": True})
            return


class Worker:
    def __init__(self, role: str, plan: Plan, indices: list[int], cpu: int | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.role = role
        self.size = len(indices)
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(role, plan, indices, cpu, child), daemon=True
        )
        self.process.start()
        child.close()

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def send(self, *command: Any) -> None:
        self.pipe.send(command)

    def receive(self, timeout: float) -> Any:
        if not self.pipe.poll(timeout):
            raise TimeoutError(f"{self.role} worker did not answer within {timeout:.0f} s")
        return self.pipe.recv()

    def ask(self, *command: Any, timeout: float) -> Any:
        self.send(*command)
        return self.receive(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("stop", timeout=10)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# -- the server under test ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_environment(database: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUSERIE_")}
    env.update(
        {
            "CAUSERIE_DATABASE__URL": f"sqlite+aiosqlite:///{database}",
            # The bench's senders write far faster than a person; entry and joins come in
            # bursts. The limits per connection are raised, nothing else is changed.
            "CAUSERIE_LIMITS__MESSAGES_PER_SECOND": "1000",
            "CAUSERIE_LIMITS__MESSAGES_BURST": "1000",
            "CAUSERIE_LIMITS__FRAMES_PER_SECOND": "1000",
            "CAUSERIE_LIMITS__FRAMES_BURST": "1000",
            "CAUSERIE_LIMITS__JOINS_PER_SECOND": "100",
            "CAUSERIE_LIMITS__JOINS_BURST": "100",
            "CAUSERIE_LIMITS__MAX_ROOMS_PER_SESSION": "100",
            "CAUSERIE_CHAT__PURGE_INTERVAL_SECONDS": "3600",
            # Every bench connection comes from 127.0.0.1, and idle ones may not enter at all.
            "CAUSERIE_LIMITS__MAX_CONNECTIONS_PER_ADDRESS": "100000",
            "CAUSERIE_LIMITS__ENTER_TIMEOUT_SECONDS": "3600",
        }
    )
    env.update(extra)
    return env


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int, cpu: int | None):
        prefix = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
        self.command = prefix + command
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - read until the server stops
        # taskset execs the server, so this pid is the server's own.
        self.process = subprocess.Popen(
            self.command, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited during start-up:\n{self.output()}")
            with contextlib.suppress(OSError):
                self.health()
                return
            time.sleep(0.2)
        raise TimeoutError(f"the server did not answer /healthz in {timeout} s:\n{self.output()}")

    def health(self) -> dict[str, Any]:
        url = f"http://{HOST}:{self.port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.load(response))

    def sessions(self) -> int:
        """Chatters entered on the server, from /metrics (``causerie_sessions``)."""
        url = f"http://{HOST}:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("causerie_sessions "):
                    return int(float(line.split()[1]))
        return -1

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system time so far of a process and its threads, or of one of its threads."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# -- statistics ----------------------------------------------------------------------------------


def percentiles(histogram: Counter[int], points: Sequence[float]) -> dict[str, float | None]:
    total = sum(histogram.values())
    result: dict[str, float | None] = {}
    if total == 0:
        return {f"p{point:g}": None for point in points} | {"max": None}
    ordered = sorted(histogram.items())
    for point in points:
        rank = math.ceil(total * point / 100)
        seen = 0
        for bin_index, count in ordered:
            seen += count
            if seen >= rank:
                # The upper edge of the bin: a latency is never reported lower than it was.
                result[f"p{point:g}"] = round((bin_index + 1) * BIN_NS / 1e6, 1)
                break
    result["max"] = round((ordered[-1][0] + 1) * BIN_NS / 1e6, 1)
    return result


# -- the run -------------------------------------------------------------------------------------


def split(indices: list[int], parts: int) -> list[list[int]]:
    return [indices[i::parts] for i in range(parts) if indices[i::parts]]


def list_rooms(url: str, wanted: int) -> list[str]:
    """Rooms any adult may join, in catalogue order, read through the public protocol."""
    from causerie.client import Client

    async def read() -> list[str]:
        async with Client(url) as client:
            await client.enter("Benchscout", 30, "other", "69001")
            rooms = await client.rooms()
        # Adults-only rooms need an age verification token: the all-ages rooms are the ones
        # any adult chatter can join.
        return [room.id for room in rooms if room.audience == "all"]

    rooms = asyncio.run(read())
    if len(rooms) < wanted:
        raise SystemExit(f"the server has only {len(rooms)} all-ages rooms")
    return rooms[:wanted]


def run(args: argparse.Namespace) -> dict[str, Any]:
    rates = [float(rate) for rate in args.rate.split(",")]
    port = free_port()
    cpus = os.cpu_count() or 1
    server_cpu = args.server_cpu if cpus > 1 else None
    load_cpu = args.load_cpu if cpus > 1 else None
    result: dict[str, Any] = {
        "command": " ".join(["python -m bench.fanout", *sys.argv[1:]]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "server_cpu": server_cpu,
        "load_generator_cpu": load_cpu,
        "connections": args.connections,
        "rooms": args.rooms,
        "compression_offered": args.compression,
        "steps": [],
    }
    with tempfile.TemporaryDirectory(prefix="causerie-bench-") as tmp:
        server_command = [sys.executable, "-m", *args.server.split()]
        server_command += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
        env = server_environment(Path(tmp) / "bench.db", dict(args.env or []))
        result["server_command"] = " ".join(server_command)
        server = Server(server_command, env, port, server_cpu)
        workers: list[Worker] = []
        try:
            server.wait_ready()
            url = f"ws://{HOST}:{port}/ws"
            rooms = list_rooms(url, args.rooms)
            time.sleep(1.0)
            baseline_rss = rss_kib(server.pid)
            senders = args.senders or default_senders(args.connections, len(rooms), max(rates))
            plan = Plan(
                url=url,
                connections=args.connections,
                rooms=rooms,
                senders=senders,
                compression=args.compression,
                ramp_concurrency=args.ramp_concurrency,
            )
            result["room_ids"] = rooms
            result["senders"] = senders
            indices = list(range(args.connections))
            workers.append(Worker("senders", plan, indices[:senders], load_cpu))
            for part in split(indices[senders:], args.processes):
                workers.append(Worker("receivers", plan, part, load_cpu))
            setup_started = time.monotonic()
            for worker in workers:
                worker.send("setup")
            setups = [worker.receive(args.setup_timeout) for worker in workers]
            opened = sum(s["opened"] for s in setups)
            result["setup"] = {
                "seconds": round(time.monotonic() - setup_started, 1),
                "opened": opened,
                "failed": sum(s["failed"] for s in setups),
                "errors": merge_counts(s["errors"] for s in setups),
                "server_sessions": server.sessions(),
            }
            time.sleep(2.0)
            held_rss = rss_kib(server.pid)
            result["memory"] = {
                "server_rss_before_kib": baseline_rss,
                "server_rss_with_connections_kib": held_rss,
                "per_connection_kib": round((held_rss - baseline_rss) / max(opened, 1), 1),
            }
            print(json.dumps(result["setup"]), json.dumps(result["memory"]), flush=True)
            profiler: subprocess.Popen[bytes] | None = None
            for number, rate in enumerate(rates, start=1):
                if args.profile_rate is not None and rate == args.profile_rate:
                    profiler = start_profiler(server.pid, args, load_cpu, rate)
                step = run_step(server, workers, plan, number, rate, args)
                if profiler is not None:
                    step["profile"] = finish_profiler(profiler)
                    profiler = None
                result["steps"].append(step)
                print(step_line(step), flush=True)
                p99 = step["latency_ms"]["p99"]
                if p99 is None or p99 > args.stop_p99_ms:
                    break
            result["server_rss_end_kib"] = rss_kib(server.pid)
        finally:
            for worker in workers:
                worker.stop()
            server.stop()
            result["server_log_tail"] = server.output()[-2000:]
    result["load_average_after"] = os.getloadavg()
    result["p99_target_ms"] = args.p99_target_ms
    result["best_sustained"] = best_sustained(result["steps"], args.p99_target_ms)
    return result


def default_senders(connections: int, rooms: int, top_rate: float) -> int:
    # Each sender waits for its ack before the next say, so no one sender is asked for more than
    # 5 messages a second; at least one per room, never more than a tenth of the connections.
    wanted = max(rooms, math.ceil(top_rate / 5))
    wanted = math.ceil(wanted / rooms) * rooms
    return max(rooms, min(wanted, connections // 10))


def merge_counts(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


def run_step(
    server: Server, workers: list[Worker], plan: Plan, number: int, rate: float, args: Any
) -> dict[str, Any]:
    senders = workers[0]
    load_before = os.getloadavg()
    server_cpu_before = cpu_seconds(server.pid)
    load_cpu_before = sum(cpu_seconds(w.pid) for w in workers)
    ws_messages_before = sum(w.ask("count", number, timeout=30)["ws_messages"] for w in workers)
    started = time.monotonic()
    sent = senders.ask(
        "step", number, rate, args.duration, args.warmup, timeout=args.duration + 300
    )
    send_seconds = time.monotonic() - started
    load_cpu = sum(cpu_seconds(w.pid) for w in workers) - load_cpu_before
    server_cpu_sending = cpu_seconds(server.pid) - server_cpu_before
    measured_sent = {k: v for k, v in sent["sent"].items() if k.endswith(":1")}
    expected_measured = sum(
        count * plan.members_of(key.rsplit(":", 1)[0]) for key, count in measured_sent.items()
    )
    expected_all = sum(
        count * plan.members_of(key.rsplit(":", 1)[0]) for key, count in sent["sent"].items()
    )
    drained = drain(workers, number, expected_all, args.drain_timeout)
    server_cpu = cpu_seconds(server.pid) - server_cpu_before
    reports = [w.ask("report", number, timeout=60) for w in workers]
    tally = Tally()
    for report in reports:
        tally.merge(report)
    window = sent["measured_seconds"]
    acks: Counter[int] = Counter({int(k): v for k, v in reports[0]["ack_histogram"].items()})
    delivered = tally.delivered_measured + tally.delivered_warmup
    ws_messages = sum(r["ws_messages"] for r in reports) - ws_messages_before
    return {
        "step": number,
        "rate_target": rate,
        "messages_sent": sum(sent["sent"].values()),
        "messages_measured": sum(measured_sent.values()),
        "send_rate": round(sum(measured_sent.values()) / window, 1),
        "measured_seconds": window,
        "deliveries_expected": expected_measured,
        "deliveries_received": tally.delivered_measured,
        "deliveries_per_second": round(tally.delivered_measured / window, 0),
        "delivery_ratio": round(tally.delivered_measured / max(expected_measured, 1), 4),
        "latency_ms": percentiles(tally.histogram, (50, 95, 99)),
        "ack_latency_ms": percentiles(acks, (50, 95, 99)),
        "connections_held": sum(r["open"] for r in reports),
        "closed": merge_counts(r["closed"] for r in reports),
        "refused": reports[0]["refused"],
        "unacked": reports[0]["unacked"],
        "send_failures": sent["send_failures"],
        "late_sends": sent["late_sends"],
        "max_send_lag_ms": sent["max_lag_ms"],
        "drain_seconds": drained,
        # Frames per WebSocket message, over every receiver: how much the server batched.
        "frames_per_ws_message": round(delivered / max(ws_messages, 1), 2),
        "server_cpu_percent": round(100 * server_cpu_sending / send_seconds, 1),
        # Less sensitive to other work on the machine than latency: CPU the server spent per
        # delivery (all it did from the first send to the last delivery, over what it delivered).
        "server_cpu_us_per_delivery": round(1e6 * server_cpu / max(delivered, 1), 2),
        "load_generator_cpu_percent": round(100 * load_cpu / send_seconds, 1),
        "load_average": load_before,
        "server_rss_kib": rss_kib(server.pid),
    }


def drain(workers: list[Worker], step: int, expected: int, timeout: float) -> float:
    """Wait until every delivery of the step has arrived, or until none has come for 2 s."""
    started = time.monotonic()
    last, last_change = -1, started
    while time.monotonic() - started < timeout:
        delivered = sum(w.ask("count", step, timeout=30)["delivered"] for w in workers)
        now = time.monotonic()
        if delivered >= expected:
            break
        if delivered != last:
            last, last_change = delivered, now
        elif now - last_change > 2.0:
            break
        time.sleep(0.25)
    return round(time.monotonic() - started, 2)


def step_line(step: dict[str, Any]) -> str:
    latency = step["latency_ms"]
    return (
        f"rate {step['rate_target']:>6g}/s sent {step['send_rate']:>7g}/s "
        f"deliveries {step['deliveries_per_second']:>9,.0f}/s "
        f"ratio {step['delivery_ratio']:.4f} "
        f"p50 {latency['p50']} p95 {latency['p95']} p99 {latency['p99']} max {latency['max']} ms "
        f"ack p99 {step['ack_latency_ms']['p99']} ms held {step['connections_held']} "
        f"frames/msg {step['frames_per_ws_message']} "
        f"server cpu {step['server_cpu_percent']}% "
        f"({step['server_cpu_us_per_delivery']} us/delivery) loadgen cpu "
        f"{step['load_generator_cpu_percent']}% load {step['load_average'][0]:.2f}"
    )


def best_sustained(steps: list[dict[str, Any]], p99_limit: float) -> dict[str, Any] | None:
    """The highest step whose p99 stayed under the limit with every delivery made."""
    good = [
        s
        for s in steps
        if s["latency_ms"]["p99"] is not None
        and s["latency_ms"]["p99"] <= p99_limit
        and s["delivery_ratio"] >= 0.999
    ]
    if not good:
        return None
    best = max(good, key=lambda s: s["deliveries_per_second"])
    return {
        "rate": best["rate_target"],
        "deliveries_per_second": best["deliveries_per_second"],
        "p99_ms": best["latency_ms"]["p99"],
    }


# -- profiling ---------------------------------------------------------------------------------


def start_profiler(
    pid: int, args: argparse.Namespace, cpu: int | None, rate: float
) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"profile-{args.rooms}r-{args.connections}c-{rate:g}mps"
    prefix = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    command = [
        *prefix,
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(args.duration)),
        "--rate",
        "250",
        "--nonblocking",
        # Only the thread holding the GIL: the Python work, without the threads waiting on
        # SQLite's locks and fsyncs (which release it).
        "--gil",
        "--format",
        "raw",
        "--output",
        f"{stem}.txt",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish_profiler(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    from bench.profile_summary import summarise

    try:
        _, errors = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return {"error": "py-spy did not finish"}
    command = list(process.args)  # type: ignore[arg-type]
    output = Path(str(command[command.index("--output") + 1]))
    if not output.exists():
        return {"error": errors.decode(errors="replace")[-500:]}
    return {"file": str(output.relative_to(Path.cwd())), **summarise(output, top=15)}


# -- command line --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument(
        "--rate", default="100", help="messages per second over all rooms; a comma list ramps"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per rate step")
    parser.add_argument("--warmup", type=float, default=3.0, help="first seconds not measured")
    parser.add_argument("--senders", type=int, default=0, help="sending connections (0: auto)")
    parser.add_argument("--processes", type=int, default=3, help="receiver processes")
    parser.add_argument("--ramp-concurrency", type=int, default=20, help="entries in flight")
    parser.add_argument("--p99-target-ms", type=float, default=100.0, help="the bar for p99")
    parser.add_argument(
        "--stop-p99-ms", type=float, default=100.0, help="end the ramp once a step's p99 passes"
    )
    parser.add_argument("--drain-timeout", type=float, default=15.0)
    parser.add_argument("--setup-timeout", type=float, default=600.0)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--load-cpu", type=int, default=1)
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="receivers do not offer permessage-deflate (browsers and causerie.client do)",
    )
    parser.add_argument(
        "--server",
        default="causerie.cli.main serve",
        help="python module and arguments that start the server (bench.server for variants)",
    )
    parser.add_argument(
        "--env",
        action="append",
        type=lambda text: tuple(text.split("=", 1)),
        help="extra NAME=VALUE for the server's environment",
    )
    parser.add_argument("--profile-rate", type=float, help="run py-spy on the server at this rate")
    parser.add_argument("--output", type=Path, help="result file (default: bench/results/...)")
    parser.add_argument("--label", default="", help="a word added to the result's file name")
    args = parser.parse_args(argv)
    if args.connections < 2 or args.rooms < 1 or args.connections < args.rooms:
        parser.error("need at least two connections and one room, and a member in every room")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    RESULTS.mkdir(exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    output = args.output or RESULTS / (
        f"fanout-{args.rooms}r-{args.connections}c{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    output.write_text(json.dumps(result, indent=2, default=_jsonable) + "\n")
    print(f"best sustained: {result['best_sustained']}")
    print(f"result written to {output}")
    return 0


def _jsonable(value: object) -> object:
    if isinstance(value, Counter):
        return dict(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
