"""``causerie serve`` with the uvicorn options the fan-out bench compares.

::

    python -m bench.fanout --server "bench.server --ws wsproto --no-deflate" ...

Everything else (settings from the environment, the application, the other uvicorn options:
``gateway.server.uvicorn_config``) is what ``causerie serve`` does, so a difference in the
figures is the option's.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import uvicorn

from causerie.gateway.app import create_app
from causerie.gateway.server import uvicorn_config
from causerie.settings import load_settings


def serialize_message_writes() -> None:
    """Queue message inserts on an asyncio lock instead of SQLite's busy handler.

    Concurrent writers to one SQLite file wait for its write lock by sleeping (1, 2, 5, ...
    100 ms) and retrying, with no fairness; queueing them in the process instead measures what
    the store would gain from doing so itself.
    """
    import asyncio

    from causerie.store.messages import MessageStore

    add = MessageStore.add
    lock = asyncio.Lock()

    async def add_one_at_a_time(self: MessageStore, **fields: Any) -> int:
        async with lock:
            return await add(self, **fields)

    MessageStore.add = add_one_at_a_time  # type: ignore[method-assign]


def install_tracemalloc(frames: int, output: str) -> None:
    """Trace allocations; the first SIGUSR1 takes the baseline, the next ones write the growth.

    ``python -m bench.peers idle --tracemalloc`` signals before opening its connections and
    once they are held, so the file says where the memory of the held connections went.
    """
    import signal
    import tracemalloc

    tracemalloc.start(frames)
    state: dict[str, Any] = {}

    def dump(signum: int, frame: object) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        baseline = state.get("baseline")
        if baseline is None:
            state["baseline"] = snapshot
            return
        with open(output, "w") as out:
            for key in ("filename", "lineno", "traceback"):
                stats = snapshot.compare_to(baseline, key)
                total = sum(s.size_diff for s in stats)
                out.write(f"== by {key}: total {total / 1024:.0f} KiB\n")
                for stat in stats[:40]:
                    out.write(f"{stat.size_diff / 1024:10.1f} KiB {stat.count_diff:8d}  ")
                    lines = stat.traceback.format()
                    out.write(" <- ".join(lines[::2]) if key == "traceback" else lines[0])
                    out.write("\n")

    signal.signal(signal.SIGUSR1, dump)


def install_collection_timer(output: str, thaw: bool = False) -> None:
    """On SIGUSR2, time a full garbage collection and write it with the objects it walked.

    A full collection walks every object the collector tracks and stops the event loop while
    it does; what it costs grows with the connections held (`bench.peers idle --collect`).
    """
    import collections
    import gc
    import json
    import signal
    import time

    def collect(signum: int, frame: Any) -> None:
        frozen = gc.get_freeze_count()
        if thaw:  # what a thaw's walk finds: the frozen heap counted and walked too
            gc.unfreeze()
        objects = gc.get_objects()
        tracked = len(objects)
        counts = collections.Counter(type(o).__qualname__ for o in objects)
        del objects
        started = time.perf_counter()
        unreachable = gc.collect()
        pause = (time.perf_counter() - started) * 1000
        after = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        record = {
            "pause_ms": round(pause, 1),
            "tracked": tracked,
            "frozen": frozen,
            "unreachable": unreachable,
            "kinds": counts.most_common(25),
            # What the walk freed, by kind: cycles nothing else would have freed.
            "freed": (counts - after).most_common(15),
        }
        with open(output, "w") as out:
            out.write(json.dumps(record) + "\n")

    signal.signal(signal.SIGUSR2, collect)


def install_stall_watch(threshold_ms: float, output: str) -> None:
    """Write where the event loop was whenever it went ``threshold_ms`` without a turn.

    A thread checks a heartbeat that the loop bumps every millisecond; once the loop is late by
    the threshold it takes the main thread's stack (``sys._current_frames``), and when the loop
    turns again it writes how long the stall lasted with that stack. Garbage collections of
    the oldest generation are written with their pause too. A p99 that jumps between runs of
    the same code is usually a few such stalls; this says which code they were in.
    """
    import asyncio
    import gc
    import sys
    import threading
    import time
    import traceback

    main_thread = threading.main_thread().ident
    beat = [time.monotonic()]
    out = open(output, "w", buffering=1)  # noqa: SIM115 - held for the process's life
    threshold = threshold_ms / 1000
    collecting: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            collecting["since"] = time.monotonic()
        elif "since" in collecting:
            pause = (time.monotonic() - collecting.pop("since")) * 1000
            out.write(f"gc gen2 {pause:.1f} ms collected={info['collected']}\n")

    gc.callbacks.append(on_gc)

    async def heartbeat() -> None:
        while True:
            beat[0] = time.monotonic()
            await asyncio.sleep(0.001)

    def watch() -> None:
        while True:
            time.sleep(threshold / 4)
            late = time.monotonic() - beat[0]
            if late < threshold:
                continue
            frame = sys._current_frames().get(main_thread or 0)
            stack = "".join(traceback.format_stack(frame)[-12:]) if frame else "?"
            started = beat[0]
            while beat[0] == started:
                time.sleep(0.001)
            out.write(f"stall {(beat[0] - started) * 1000:.0f} ms at\n{stack}\n")

    original_startup = uvicorn.Server.startup

    async def startup(self: uvicorn.Server, sockets: Any = None) -> None:
        asyncio.get_running_loop().create_task(heartbeat())
        threading.Thread(target=watch, name="stall-watch", daemon=True).start()
        await original_startup(self, sockets)

    uvicorn.Server.startup = startup  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument(
        "--ws",
        default="causerie",
        choices=["causerie", "auto", "websockets", "websockets-sansio", "wsproto"],
        help="causerie: gateway/websocket.py, what `causerie serve` runs; the others uvicorn's",
    )
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--no-deflate", dest="deflate", action="store_false")
    parser.add_argument("--flush-interval", type=float, help="seconds between outbox flushes")
    parser.add_argument("--wake-slice", type=int, help="writers woken per loop turn in a flush")
    parser.add_argument(
        "--pause-factor", type=float, help="pause after a flush cycle, in cycle durations"
    )
    parser.add_argument(
        "--serialize-message-writes",
        action="store_true",
        help="experiment: one message insert at a time in this process (no SQLite lock waits)",
    )
    parser.add_argument(
        "--gc-threshold", help="experiment: gc.set_threshold(a, b, c) given as a,b,c"
    )
    parser.add_argument("--ws-max-size", type=int, help="uvicorn ws_max_size (bytes)")
    parser.add_argument("--no-ping", action="store_true", help="no WebSocket keepalive pings")
    parser.add_argument("--tracemalloc", type=int, metavar="FRAMES", help="trace allocations")
    parser.add_argument("--tracemalloc-output", default="bench/results/tracemalloc.txt")
    parser.add_argument(
        "--collection-output",
        help="on SIGUSR2, time a full garbage collection and write it here",
    )
    parser.add_argument(
        "--collection-thaw",
        action="store_true",
        help="with --collection-output: thaw the frozen heap first (what a thaw's walk frees)",
    )
    parser.add_argument(
        "--stalls", type=float, metavar="MS", help="write event-loop stalls longer than MS"
    )
    parser.add_argument("--stalls-output", default="bench/results/stalls.txt")
    args = parser.parse_args()
    if args.stalls:
        install_stall_watch(args.stalls, args.stalls_output)
    if args.collection_output:
        install_collection_timer(args.collection_output, args.collection_thaw)
    if args.tracemalloc:
        install_tracemalloc(args.tracemalloc, args.tracemalloc_output)
    if args.serialize_message_writes:
        serialize_message_writes()
    if args.flush_interval is not None:
        from causerie.gateway import outbox

        outbox.FLUSH_INTERVAL = args.flush_interval
    if args.wake_slice is not None:
        from causerie.gateway import outbox

        outbox.WAKE_SLICE = args.wake_slice
    if args.pause_factor is not None:
        from causerie.gateway import outbox

        outbox.PAUSE_FACTOR = args.pause_factor
    if args.gc_threshold:
        import gc

        gc.set_threshold(*(int(part) for part in args.gc_threshold.split(",")))
    if args.host != "127.0.0.1":
        parser.error("the bench server only listens on 127.0.0.1")
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    ws: Any = args.ws
    if ws == "causerie":
        from causerie.gateway.websocket import ChatWebSocketProtocol

        ws = ChatWebSocketProtocol
    config = uvicorn_config(
        create_app(settings, freeze_heap=True),
        settings,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws=ws,
        loop=args.loop,
        ws_per_message_deflate=args.deflate,
        ws_max_size=args.ws_max_size or max(1 << 20, settings.limits.max_frame_bytes * 4),
        ws_ping_interval=None if args.no_ping else 20.0,
        ws_ping_timeout=None if args.no_ping else 20.0,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
