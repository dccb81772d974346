"""The bare ``websockets`` peer of the benchmarks: rooms and broadcast, nothing else.

The Python ceiling for the same wire work causerie does: one JSON decode per message received,
one encode per message sent, one write per member. Protocol (JSON text frames)::

    -> {"join": "r0"}                      <- {"joined": "r0"}
    -> {"room": "r0", "text": "..."}       <- {"type": "message", "room": "r0", "text": "..."}
    -> {"name": "Peerb"}                   <- {"named": "Peerb"}
    -> {"to": "Peerb", "text": "..."}      <- (to Peerb only) {"type": "private", "text": "..."}
"""

from __future__ import annotations

import argparse
import asyncio
import json

from websockets.asyncio.server import ServerConnection, broadcast, serve


async def main(port: int) -> None:
    rooms: dict[str, set[ServerConnection]] = {}
    names: dict[str, ServerConnection] = {}

    async def handler(ws: ServerConnection) -> None:
        mine: set[str] = set()
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if "to" in frame:
                    target = names.get(frame["to"])
                    if target is not None:
                        await target.send(json.dumps({"type": "private", "text": frame["text"]}))
                elif "name" in frame:
                    names[frame["name"]] = ws
                    await ws.send(json.dumps({"named": frame["name"]}))
                elif "join" in frame:
                    room = frame["join"]
                    rooms.setdefault(room, set()).add(ws)
                    mine.add(room)
                    await ws.send(json.dumps({"joined": room}))
                else:
                    room = frame["room"]
                    out = {"type": "message", "room": room, "text": frame["text"]}
                    broadcast(rooms.get(room, ()), json.dumps(out))
        finally:
            for room in mine:
                rooms[room].discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=1 << 20):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(parser.parse_args().port))
