"""One chat connection: read frames, let the protocol session check them, call the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from causerie import metrics
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.chat.photos import PendingPhoto
from causerie.chat.service import ChatService
from causerie.errors import ChatError, ErrorCode
from causerie.gateway.guard import Guard
from causerie.gateway.outbox import WebSocketOutbox
from causerie.gateway.websocket import SEND_TEXT_NOW
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.protocol.identity import NICKNAME_MAX, nickname_key
from causerie.protocol.ratelimit import TokenBucket
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


_LIST_FRAMES = (f.People, f.Members, f.ListRooms)


class Connection:
    # One per connection, for hours: no per-instance __dict__ (docs/benchmarks.md).
    __slots__ = (
        "_entering",
        "_lists",
        "_photo",
        "guard",
        "limits",
        "local",
        "outbox",
        "peer",
        "protocol",
        "service",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        service: ChatService,
        settings: Settings,
        peer: Peer,
        guard: Guard | None = None,
    ) -> None:
        self.websocket = websocket
        self.service = service
        self.peer = peer
        self.limits = settings.limits
        self.guard = guard or Guard(settings.limits)
        self.protocol = Session(settings.limits)
        direct = websocket.scope.get("extensions", {}).get(SEND_TEXT_NOW)
        self.outbox = WebSocketOutbox(
            self._send,
            self._close,
            settings.limits.max_outbox_frames,
            send_now=direct["send"] if direct else None,
        )
        self.local: LocalSession | None = None
        self._entering = False
        # A granted photo upload: the next binary message is its file.
        self._photo: PendingPhoto | None = None
        self._lists = TokenBucket(
            settings.limits.lists_per_second, settings.limits.lists_burst, self.guard.clock
        )

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code, reason)

    def reply(self, frame: f.ServerFrame) -> None:
        if isinstance(frame, f.Error):
            metrics.refusals.labels(frame.code).inc()
        self.outbox.push(encode_text(frame))

    async def run(self) -> None:
        await self.websocket.accept()
        writer = asyncio.create_task(self.outbox.run(), name="ws-writer")
        reader = asyncio.create_task(self._read(), name="ws-reader")
        timer = asyncio.get_running_loop().call_later(
            self.limits.enter_timeout_seconds, self._enter_expired
        )
        tasks = (reader, writer)
        try:
            # Whichever ends first ends the connection: the peer left, or the writer closed it.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.protocol.close()
            try:
                if self.local is not None:
                    try:
                        await asyncio.shield(self.service.exit(self.local))
                    except Exception:
                        log.exception("failed to take session %s offline", self.local.id)
            finally:
                self.outbox.release()

    async def _read(self) -> None:
        try:
            while True:
                message: MutableMapping[str, Any] = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    await self._binary(message.get("bytes") or b"")
                else:
                    await self._handle(text)
                if self.protocol.should_close:
                    self.guard.refused(
                        ErrorCode.TOO_MANY_ERRORS,
                        "%s:%d sent %d refused frames in a row: closed",
                        self.peer.ip,
                        self.peer.port,
                        self.protocol.consecutive_errors,
                    )
                    self.outbox.close(
                        encode_text(
                            f.Error(
                                code=ErrorCode.TOO_MANY_ERRORS,
                                message="too many refused frames in a row",
                            )
                        ),
                        "too many bad frames",
                    )
                    return
        except WebSocketDisconnect:
            return

    def _enter_expired(self) -> None:
        if self.local is not None or self.outbox.closing:
            return
        if self._entering:  # an enter is being decided: give it its answer first
            asyncio.get_running_loop().call_later(1.0, self._enter_expired)
            return
        self.guard.refused(
            ErrorCode.ENTER_TIMEOUT,
            "%s:%d did not enter within %.0f s: closed",
            self.peer.ip,
            self.peer.port,
            self.limits.enter_timeout_seconds,
        )
        self.outbox.close(
            encode_text(
                f.Error(
                    code=ErrorCode.ENTER_TIMEOUT,
                    message=f"no 'enter' within {self.limits.enter_timeout_seconds:g} seconds",
                )
            ),
            "no enter in time",
        )

    def _list_refusal(self, frame: f.ClientFrame) -> f.Error | None:
        """Charge a list frame to the connection's budget and its address's; None if paid."""
        cost = self.limits.people_list_cost if isinstance(frame, f.People) else 1
        kind = str(type(frame).__struct_config__.tag)
        wait = self._lists.take(cost)
        scope = "this connection"
        if not wait:
            wait = self.guard.list_budget(self.peer.ip).take(cost)
            scope = "your address"
            if wait:
                self._lists.give_back(cost)
        if not wait:
            return None
        self.protocol.consecutive_errors += 1
        self.guard.refused(
            ErrorCode.RATE_LIMITED_LISTS, "%s:%d over its list budget", self.peer.ip, self.peer.port
        )
        return f.Error(
            code=ErrorCode.RATE_LIMITED_LISTS,
            message=f"too many lists asked from {scope}: slow down",
            frame=kind,
            retry_after=None if wait == float("inf") else round(wait, 2),
        )

    def _ignore_refusal(self, local: LocalSession, nickname: str) -> ChatError | None:
        # Nobody's nickname is longer than NICKNAME_MAX, so a longer one ignores no one and
        # would only make the list (and every reply that echoes it) bigger.
        if len(nickname) > NICKNAME_MAX:
            return ChatError(
                ErrorCode.NICKNAME_INVALID,
                f"a nickname has at most {NICKNAME_MAX} characters",
                field="nickname",
            )
        if len(local.ignored) >= self.limits.max_ignored and (
            nickname_key(nickname) not in local.ignored
        ):
            self.guard.refused(
                ErrorCode.IGNORE_LIST_FULL,
                "%s:%d ignore list full (%d)",
                self.peer.ip,
                self.peer.port,
                len(local.ignored),
            )
            return ChatError(
                ErrorCode.IGNORE_LIST_FULL,
                f"you ignore {self.limits.max_ignored} people already: unignore someone first",
                field="nickname",
            )
        return None

    async def _binary(self, data: bytes) -> None:
        """A binary message is a photo's file, if and only if a ``photo_upload`` was granted."""
        pending, self._photo = self._photo, None
        if pending is None or self.local is None:
            self.reply(self.protocol.receive_binary())
            return
        try:
            self.reply(await self.service.photos.send(self.local, pending, data, self.peer))
        except ChatError as error:
            self.reply(error_frame(error, pending.ref, "photo_upload"))
        except Exception:
            log.exception("photo upload failed")
            self.reply(
                f.Error(
                    code=ErrorCode.INTERNAL_ERROR,
                    message="the server failed on this photo; nothing was sent",
                    ref=pending.ref,
                    frame="photo_upload",
                )
            )

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
            self._entering = True
            try:
                self.local, welcome = await service.enter(frame, self.outbox, self.peer)
            finally:
                self._entering = False
            self.protocol.entered()
            self.reply(welcome)
            return
        if isinstance(frame, f.Resume):
            self._entering = True
            try:
                self.local, welcome, rooms = await service.resume(frame, self.outbox, self.peer)
            finally:
                self._entering = False
            self.protocol.entered()
            self.reply(welcome)
            # Back in each room still open to this chatter, with what was said meanwhile.
            for room_id in rooms:
                try:
                    for joined in await service.join(self.local, [room_id]):
                        self.reply(joined)
                except ChatError as refused:
                    self.reply(error_frame(refused, None, "join"))
            return
        local = self.local
        assert local is not None  # the protocol session refuses other frames before entry
        if isinstance(frame, _LIST_FRAMES):
            refusal = self._list_refusal(frame)
            if refusal is not None:
                self.reply(refusal)
                return
        if isinstance(frame, f.Ignore):
            error = self._ignore_refusal(local, frame.nickname)
            if error is not None:
                raise error
        match frame:
            case f.Say(room=room, text=text, ref=ref, request=request):
                self.reply(await service.say(local, room, text, ref, self.peer, request=request))
            case f.SendPrivate(to=to, text=text, ref=ref, request=request):
                self.reply(
                    await service.send_private(local, to, text, ref, self.peer, request=request)
                )
            case f.ListRooms():
                self.reply(await service.list_rooms(local))
            case f.Join(rooms=rooms):
                for joined in await service.join(local, rooms):
                    self.reply(joined)
            case f.Leave(rooms=rooms):
                for left in await service.leave(local, rooms):
                    self.reply(left)
            case f.Members(room=room, after=after):
                self.reply(await service.members(local, room, after))
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
            case f.Report(target=target, reason=reason, details=details, ref=ref):
                self.reply(await service.report(local, target, reason, details, ref))
            case f.ListStatements(ref=ref):
                self.reply(await service.list_statements(local, ref))
            case f.Appeal(statement=statement, text=text, ref=ref):
                self.reply(await service.appeal(local, statement, text, ref))
            case f.PrivateHistory(nickname=nickname):
                self.reply(await service.private_history(local, nickname))
            case f.Logout():
                await service.logout(local)
                self.outbox.close(encode_text(f.LoggedOut()), "logged out")
            case f.PhotoUpload():
                self._photo = await service.photos.grant(local, frame)
                self.reply(
                    f.UploadGranted(
                        max_bytes=service.photos.settings.max_bytes,
                        expires_at=self._photo.expires_at,
                        ref=frame.ref,
                    )
                )
