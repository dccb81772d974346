"""The python-socketio peer of the benchmarks: an ASGI socket.io server on uvicorn.

Events: ``join`` (a room name; answered with ``joined``) and ``say`` (``{"room", "text"}``,
emitted to the room as ``message``). uvicorn runs it with the options ``causerie serve`` uses
(websockets-sansio, no per-message deflate), so the difference is the application's.
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn


def build() -> Any:
    sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])

    @sio.on("join")  # type: ignore[untyped-decorator]
    async def join(sid: str, room: str) -> None:
        await sio.enter_room(sid, room)
        await sio.emit("joined", room, to=sid)

    @sio.on("say")  # type: ignore[untyped-decorator]
    async def say(sid: str, data: dict[str, str]) -> None:
        room = data["room"]
        await sio.emit("message", {"room": room, "text": data["text"]}, room=room)

    return socketio.ASGIApp(sio)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(
        build(),
        host="127.0.0.1",
        port=parser.parse_args().port,
        log_level="warning",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
