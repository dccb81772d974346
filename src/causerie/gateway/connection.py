"""One chat connection: read frames, let the protocol session check them, call the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.chat.service import ChatService
from causerie.errors import ChatError, ErrorCode
from causerie.gateway.outbox import WebSocketOutbox
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.protocol.session import Session
from causerie.settings import Settings

log = logging.getLogger(__name__)


def error_frame(error: ChatError, ref: str | None, frame: str | None) -> f.Error:
    field = error.detail.get("field")
    category = error.detail.get("category")
    return f.Error(
        code=error.code,
        message=error.message,
        ref=ref,
        frame=frame,
        field=str(field) if field is not None else None,
        category=str(category) if category is not None else None,
    )


class Connection:
    def __init__(
        self, websocket: WebSocket, service: ChatService, settings: Settings, peer: Peer
    ) -> None:
        self.websocket = websocket
        self.service = service
        self.peer = peer
        self.protocol = Session(settings.limits)
        self.outbox = WebSocketOutbox(self._send, self._close, settings.limits.max_outbox_frames)
        self.local: LocalSession | None = None

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def reply(self, frame: f.ServerFrame) -> None:
        self.outbox.push(encode_text(frame))

    async def run(self) -> None:
        await self.websocket.accept()
        writer = asyncio.create_task(self.outbox.run(), name="ws-writer")
        reader = asyncio.create_task(self._read(), name="ws-reader")
        try:
            # Whichever ends first ends the connection: the peer left, or the writer closed it.
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.protocol.close()
            if self.local is not None:
                try:
                    await asyncio.shield(self.service.exit(self.local))
                except Exception:
                    log.exception("failed to take session %s offline", self.local.id)

    async def _read(self) -> None:
        try:
            while True:
                message: MutableMapping[str, Any] = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    self.reply(self.protocol.receive_binary())
                else:
                    await self._handle(text)
                if self.protocol.should_close:
                    self.outbox.close(
                        encode_text(
                            f.Error(
                                code=ErrorCode.MALFORMED_FRAME,
                                message="too many bad frames in a row",
                            )
                        ),
                        "too many bad frames",
                    )
                    return
        except WebSocketDisconnect:
            return

    async def _handle(self, text: str) -> None:
        frame = self.protocol.receive_text(text)
        if isinstance(frame, f.Error):
            self.reply(frame)
            return
        ref = getattr(frame, "ref", None)
        kind = type(frame).__struct_config__.tag
        try:
            await self._dispatch(frame)
        except ChatError as error:
            self.protocol.consecutive_errors += 1
            self.reply(error_frame(error, ref, str(kind)))
        except Exception:
            log.exception("frame %s failed", kind)
            self.reply(
                f.Error(
                    code=ErrorCode.INTERNAL_ERROR,
                    message="the server failed on this frame; nothing was sent",
                    ref=ref,
                    frame=str(kind),
                )
            )

    async def _dispatch(self, frame: f.ClientFrame) -> None:
        service = self.service
        if isinstance(frame, f.Ping):
            self.reply(f.Pong(ref=frame.ref))
            return
        if isinstance(frame, f.Enter):
            self.local, welcome = await service.enter(frame, self.outbox, self.peer)
            self.protocol.entered()
            self.reply(welcome)
            return
        local = self.local
        assert local is not None  # the protocol session refuses other frames before entry
        match frame:
            case f.Say(room=room, text=text, ref=ref):
                self.reply(await service.say(local, room, text, ref, self.peer))
            case f.SendPrivate(to=to, text=text, ref=ref):
                self.reply(await service.send_private(local, to, text, ref, self.peer))
            case f.ListRooms():
                self.reply(await service.list_rooms(local))
            case f.Join(rooms=rooms):
                for joined in await service.join(local, rooms):
                    self.reply(joined)
            case f.Leave(rooms=rooms):
                for left in await service.leave(local, rooms):
                    self.reply(left)
            case f.Members(room=room):
                self.reply(await service.members(local, room))
            case f.Typing(room=room, to=to):
                await service.typing(local, room, to)
            case f.Ignore(nickname=nickname):
                self.reply(service.ignore(local, nickname))
            case f.Unignore(nickname=nickname):
                self.reply(service.unignore(local, nickname))
            case f.People():
                self.reply(await service.people(local, frame))
            case f.CreateRoom(name=name, topic=topic):
                self.reply(await service.create_room(local, name, topic))
            case f.SetTopic(room=room, topic=topic):
                self.reply(await service.set_topic(local, room, topic))
            case f.VerifyAge(token=token, ref=ref):
                self.reply(await service.verify_age(local, token, ref))
