"""Server CPU per frame for a frame that does no chat work: causerie's ``ping`` (one frame in,
one ``pong`` out) against the bare websockets peer's private message to one named socket
(one frame in, one out).

    python -m bench.ping_cost --peers causerie-nomod,causerie,websockets --rate 400 --duration 10

What the gateway alone costs (the socket, the frames, the ASGI hop, the protocol session, the
outbox): the part of a message's CPU that no change to the chat, safety or store code can take.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from bench.fanout import pin_to
from bench.peers import Wire, make_peer


async def drive(peer_name: str, args: argparse.Namespace) -> dict[str, Any]:
    peer = make_peer(peer_name, argparse.Namespace(**vars(args)))
    peer.start(0)
    try:
        wire = Wire(peer)
        sockets = [await wire.open(i) for i in range(args.connections)]
        replies = 0

        async def drain(ws: Any) -> None:
            nonlocal replies
            async for _ in ws:
                replies += 1

        if peer.dialect == "causerie":
            frame = json.dumps({"type": "ping"})
        else:
            # The bare peer has no ping: a private message to one named socket is its frame in,
            # frame out. Every socket's frame goes to that one; the drain counts the replies.
            await sockets[0].send(json.dumps({"name": "self"}))
            await sockets[0].recv()
            frame = json.dumps({"to": "self", "text": "ping"})
        readers = [asyncio.create_task(drain(ws)) for ws in sockets]
        interval = 1 / args.rate
        await asyncio.sleep(1)
        cpu0, sent, start = peer.cpu(), 0, time.monotonic()
        while time.monotonic() - start < args.duration:
            await sockets[sent % len(sockets)].send(frame)
            sent += 1
            delay = start + sent * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(1)
        cpu = peer.cpu() - cpu0
        for task in readers:
            task.cancel()
        return {
            "peer": peer_name,
            "frames": sent,
            "replies": replies,
            "server_cpu_us_per_frame": round(cpu / sent * 1e6, 1),
        }
    finally:
        peer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peers", default="causerie-nomod,websockets")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--causerie-server", default="causerie.cli.main serve")
    parser.add_argument("--env", action="append", type=lambda s: tuple(s.split("=", 1)))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    # The server on CPU 0 (make_peer's start), the generator on CPU 1, as bench.peers does.
    pin_to(1 if (os.cpu_count() or 1) > 1 else None)
    for name in args.peers.split(","):
        print(json.dumps(asyncio.run(drive(name, args))), flush=True)


if __name__ == "__main__":
    main()
