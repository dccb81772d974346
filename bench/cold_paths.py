"""Cold paths in process: filling a room, and private messages to one recipient.

A real node (tests/harness.py: SQLite file, memory bus, the real fence and retention store,
the n-gram model off) without sockets, so that the figures are the server's work alone (plus
the harness decoding every frame it is sent, the same before and after a change).

    python -m bench.cold_paths fill --members 1000    # N chatters enter, then join one room
    python -m bench.cold_paths private --messages 1000

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
            else:
                result = await private(h, args.messages)
    print({"mode": args.mode, **result, "load": os.getloadavg()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["fill", "private"])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
