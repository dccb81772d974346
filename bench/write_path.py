"""In-process microbench of the message write path: ``Node.chat.say`` / ``send_private``.

::

    python -m bench.write_path --senders 1,10 --messages 300 --shape room,private

A real node (SQLite files in a temporary directory, the memory bus, the real fence, the policy
and the retention store), chatters entered as ``tests/harness.py`` does, list outboxes. Each
sender is a task that says its messages one after the other (each ``say`` waits for its ack);
``--senders`` of them run at once. What is measured, after a warm-up of ``--warmup`` messages
per sender:

- process CPU (``time.process_time``: the event loop and every driver thread) per message, and
  wall time, in the same run for every configuration;
- transactions per message on each database (SQLAlchemy ``commit`` events on the chat and the
  retention engines, plus the commits of the message writer when it has its own connection);
- the fence's conversation reads and presence reads that reached the database.

Runs against whatever ``causerie`` is importable: ``PYTHONPATH=/tmp/snap-before/src`` measures
another tree with the same bench. One JSON line per configuration on stdout, and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.fanout import bench_text


class _Outbox:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def push(self, frame: str) -> None:
        self.count += 1

    def close(self, frame: str, reason: str) -> None:
        pass


class _Counter:
    def __init__(self) -> None:
        self.commits = 0
        self.statements = 0
        self.conversation_reads = 0
        self.presence_reads = 0

    def attach(self, engine: Any) -> None:
        sync = engine.sync_engine

        @event.listens_for(sync, "commit")
        def _commit(conn: Any) -> None:
            self.commits += 1

        @event.listens_for(sync, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            self.statements += 1
            if "FROM trust_conversations" in statement:
                self.conversation_reads += 1
            elif "FROM online_sessions" in statement:
                self.presence_reads += 1


def _suffix(i: int) -> str:
    # Letters only: digits in a nickname read as a phone number or a year to the checks.
    return chr(97 + i % 26) + chr(97 + i // 26 % 26)


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread, from /proc, by thread name."""
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    cpu: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        name = names.get(int(tid), "other")
        if name.startswith(("Thread-", "asyncio_")):
            name = name.split("-")[0].split("_")[0] + " threads"
        cpu[name] = cpu.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return cpu


def _writer_commits(node: Any) -> int:
    """Commits made outside SQLAlchemy by the message writer, when the tree has one."""
    writer = getattr(node.messages, "writer", None)
    thread = getattr(writer, "_thread", None)
    return int(getattr(writer, "commits", 0)) if thread is not None else 0


def _retention_commits(node: Any) -> int:
    """Commits made outside SQLAlchemy by the retention writer, when the tree has one."""
    traffic = node.legal.traffic
    thread = getattr(traffic, "_thread", None)
    return int(getattr(traffic, "commits", 0)) if thread is not None else 0


async def run_one(
    shape: str, senders: int, messages: int, warmup: int, model: bool, safety: bool = True
) -> dict[str, Any]:
    from causerie.chat.hooks import Peer
    from causerie.errors import ChatError
    from causerie.node import Node
    from causerie.protocol import frames as f
    from causerie.settings import Settings

    directory = Path(tempfile.mkdtemp(prefix="causerie-wp-"))
    settings = Settings(
        database={"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"},  # type: ignore[arg-type]
        safety={"model": model, "enabled": safety},  # type: ignore[arg-type]
        legal={"keys_file": str(directory / "keys" / "retention.keys")},  # type: ignore[arg-type]
    )
    node = Node(settings)
    await node.start()
    chat_counter, legal_counter = _Counter(), _Counter()
    chat_counter.attach(node.engine)
    legal_counter.attach(node.legal.engine)
    try:
        room_id = next(r.id for r in await node.rooms.all() if r.audience == "all")
        writers: list[tuple[Any, Peer, str]] = []
        for i in range(senders):
            peer = Peer(ip=f"10.1.{i // 250}.{i % 250 + 1}", port=40000)
            frame = f.Enter(
                nickname=f"Camille{_suffix(i)}",
                age=30 + i % 20,
                gender="woman",
                postal_code="75011",
                device=secrets.token_urlsafe(24),
            )
            session, _ = await node.chat.enter(frame, _Outbox(), peer)
            target = ""
            if shape == "private":
                rpeer = Peer(ip=f"10.2.{i // 250}.{i % 250 + 1}", port=40000)
                rframe = f.Enter(
                    nickname=f"Bruno{_suffix(i)}",
                    age=31 + i % 20,
                    gender="man",
                    postal_code="69003",
                    device=secrets.token_urlsafe(24),
                )
                await node.chat.enter(rframe, _Outbox(), rpeer)
                target = f"Bruno{_suffix(i)}"
            else:
                await node.chat.join(session, [room_id])
            writers.append((session, peer, target))

        refused: list[str] = []

        async def send(index: int, count: int, offset: int) -> None:
            session, peer, target = writers[index]
            for n in range(offset, offset + count):
                # The live bench's lines (bench/fanout.py): "bonjour, on parle de X et de X ?
                # (n)" was read as a scam, and "(1488)" as the hate code it is, and the first
                # refusal muted the sender: 714 of 2,000 refused. A refusal is counted, not
                # fatal, so that a figure never hides one.
                text = bench_text(1, 1, time.monotonic_ns(), n + index)
                try:
                    if shape == "private":
                        await node.chat.send_private(session, target, text, None, peer)
                    else:
                        await node.chat.say(session, room_id, text, None, peer)
                except ChatError:
                    refused.append(text)

        await asyncio.gather(*(send(i, warmup, 0) for i in range(senders)))
        await asyncio.sleep(0.05)
        refused.clear()
        before = (
            chat_counter.commits + _writer_commits(node),
            legal_counter.commits + _retention_commits(node),
            chat_counter.conversation_reads,
            chat_counter.presence_reads,
        )
        threads0 = _thread_cpu()
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(send(i, messages, warmup) for i in range(senders)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        threads = _thread_cpu()
        total = senders * messages
        after = (
            chat_counter.commits + _writer_commits(node),
            legal_counter.commits + _retention_commits(node),
            chat_counter.conversation_reads,
            chat_counter.presence_reads,
        )
        return {
            "shape": shape,
            "senders": senders,
            "messages": total,
            "refused": len(refused),
            "cpu_us_per_message": round(cpu / total * 1e6, 1),
            "wall_us_per_message": round(wall / total * 1e6, 1),
            "messages_per_s": round(total / wall, 1),
            "chat_commits_per_message": round((after[0] - before[0]) / total, 3),
            "retention_commits_per_message": round((after[1] - before[1]) / total, 3),
            "conversation_reads_per_message": round((after[2] - before[2]) / total, 3),
            "presence_reads_per_message": round((after[3] - before[3]) / total, 3),
            "user_us_per_message": round((usage.ru_utime - usage0.ru_utime) / total * 1e6, 1),
            "system_us_per_message": round((usage.ru_stime - usage0.ru_stime) / total * 1e6, 1),
            "thread_us_per_message": {
                name: round((value - threads0.get(name, 0.0)) / total * 1e6)
                for name, value in sorted(threads.items())
            },
            "context_switches_per_message": round(
                (usage.ru_nvcsw + usage.ru_nivcsw - usage0.ru_nvcsw - usage0.ru_nivcsw) / total, 1
            ),
        }
    finally:
        await node.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", default="1,10")
    parser.add_argument("--shape", default="room,private")
    parser.add_argument(
        "--messages", type=int, default=300, help="measured, in all (split over the senders)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="measured, in all (split over the senders)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--model", action="store_true", help="run the safety model stage")
    parser.add_argument("--no-safety", action="store_true", help="safety.enabled = false")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    import causerie

    print(
        json.dumps(
            {
                "label": args.label,
                "causerie": str(Path(causerie.__file__).parent),
                "loadavg": os.getloadavg(),
                "python": platform.python_version(),
                "argv": sys.argv,
            }
        ),
        flush=True,
    )
    for _ in range(args.repeat):
        for shape in args.shape.split(","):
            for senders in (int(s) for s in args.senders.split(",")):
                per_sender = max(1, args.messages // senders) if senders > 1 else args.messages
                result = asyncio.run(
                    run_one(shape, senders, per_sender, args.warmup, args.model, not args.no_safety)
                )
                result["label"] = args.label
                result["loadavg"] = os.getloadavg()[0]
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
