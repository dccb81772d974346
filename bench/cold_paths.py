"""Cold paths in process: filling a room, and private messages to one recipient.

A real node (tests/harness.py: SQLite file, memory bus, the real fence and retention store,
the n-gram model off) without sockets, so that the figures are the server's work alone (plus
the harness decoding every frame it is sent, the same before and after a change).

    python -m bench.cold_paths fill --members 1000    # N chatters enter, then join one room
    python -m bench.cold_paths private --messages 1000
    python -m bench.cold_paths history --messages 10000  # a join's CPU with 10,000 visible

To compare two trees, run it from each with ``PYTHONPATH=<tree>/src:<tree>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from tests.harness import Harness, harness

from bench.fanout import bench_text

_LETTERS = "abcdefghjkmnpqrstuvwxyz"  # no i, l, o: nicknames that no folding confuses


def nickname(i: int) -> str:
    return "Nom" + "".join(_LETTERS[(i // len(_LETTERS) ** k) % len(_LETTERS)] for k in range(3))


async def fill(h: Harness, members: int) -> dict[str, float]:
    started_cpu, started = time.process_time(), time.monotonic()
    chatters = [await h.enter(nickname(i), 30) for i in range(members)]
    entered_cpu, entered = time.process_time(), time.monotonic()
    for chatter in chatters:
        await chatter.join("general")
    return {
        "enter_cpu_s": round(entered_cpu - started_cpu, 2),
        "enter_wall_s": round(entered - started, 2),
        "join_cpu_s": round(time.process_time() - entered_cpu, 2),
        "join_wall_s": round(time.monotonic() - entered, 2),
    }


async def history(h: Harness, messages: int, joins: int = 200) -> dict[str, float]:
    """Joins of a room whose visible window holds ``messages`` messages: the server's CPU for
    each whole join (room, membership, the history page, the first members' page, the arrival)."""
    writers = [await h.enter(nickname(i), 30) for i in range(20)]
    for writer in writers:
        await writer.join("general")
    for i in range(messages):
        # The live bench's lines: the same line over and over is refused as spam.
        await writers[i % len(writers)].say("general", bench_text(1, 0, time.monotonic_ns(), i))
    joiners = [await h.enter(nickname(100 + i), 30) for i in range(joins)]
    for joiner in joiners[:20]:  # warm-up
        await joiner.join("general")
    spent = []
    for joiner in joiners[20:]:
        started = time.process_time()  # the writer threads' share included
        joined = await joiner.join("general")
        spent.append(time.process_time() - started)
        assert len(joined[0].history) == min(messages, 50)
    spent.sort()
    return {
        "visible_messages": messages,
        "history_page": len(joined[0].history),
        "join_cpu_ms_p50": round(spent[len(spent) // 2] * 1000, 3),
        "join_cpu_ms_p90": round(spent[int(len(spent) * 0.9)] * 1000, 3),
        "join_cpu_ms_mean": round(sum(spent) / len(spent) * 1000, 3),
    }


async def private(h: Harness, messages: int) -> dict[str, float]:
    alice = await h.enter("Alice", 30)
    await h.enter("Bruno", 31)
    for i in range(50):  # warm-up: caches, the writer thread, the policy
        await alice.send_private("Bruno", f"bonjour {i}")
    started_cpu, started = time.process_time(), time.monotonic()
    for i in range(messages):
        await alice.send_private("Bruno", f"message numero {i}")
    return {
        "cpu_ms_per_message": round((time.process_time() - started_cpu) * 1000 / messages, 3),
        "wall_ms_per_message": round((time.monotonic() - started) * 1000 / messages, 3),
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        limits = {
            "joins_per_second": 10_000,
            "messages_per_second": 10_000,
            "messages_burst": 10_000,
        }
        async with harness(Path(directory), limits=limits) as h:
            if args.mode == "fill":
                result = await fill(h, args.members)
            elif args.mode == "history":
                result = await history(h, args.messages)
            else:
                result = await private(h, args.messages)
    print({"mode": args.mode, **result, "load": os.getloadavg()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["fill", "private", "history"])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
