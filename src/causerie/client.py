"""A Python client for causerie: used by the tests, the load generator and anyone scripting it.

::

    async with Client("ws://127.0.0.1:8000/ws") as client:
        await client.enter("Camille", 34, "woman", "69001")
        await client.join("general")
        await client.say("general", "Bonjour !")
        async for event in client.events():
            if isinstance(event, RoomMessage):
                print(event.sender, event.text)

Requests (``enter``, ``join``, ``say``, ...) wait for the server's answer and raise
:class:`ClientError` with the server's stable error code when it refuses.

Every message carries a request id (``say`` and ``send_private`` make one, or take yours): a
message whose answer never came (the connection was lost, the server answered
``internal_error``) is kept in :attr:`Client.unacknowledged`, and sending it again with
:meth:`Client.resend`, on this connection or on a new one after ``resume``, returns its first
ack if it had been stored, or stores it once::

    async with Client(url) as again:
        await again.resume(old.welcome.resume_token, device=device)
        for frame in old.unacknowledged:
            await again.resend(frame)

Everything else the server sends (room and private messages, arrivals, departures, typing,
topics, unsolicited errors) comes out of :meth:`Client.events` in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from causerie.domain import AgeBand
from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.frames import (
    Ack,
    BandChanged,
    Error,
    Joined,
    Left,
    MemberJoined,
    MemberLeft,
    MemberList,
    Person,
    PrivateMessage,
    RoomInfo,
    RoomMessage,
    ServerFrame,
    Topic,
    TypingNotice,
    Welcome,
)

__all__ = [
    "Ack",
    "BandChanged",
    "Client",
    "ClientError",
    "ConnectionLost",
    "Error",
    "Joined",
    "MemberJoined",
    "MemberLeft",
    "Person",
    "PrivateMessage",
    "RoomInfo",
    "RoomMessage",
    "Topic",
    "TypingNotice",
    "Welcome",
]

_decoder: msgspec.json.Decoder[ServerFrame | list[ServerFrame]] = msgspec.json.Decoder(
    ServerFrame | list[ServerFrame]
)
_encoder = msgspec.json.Encoder()
T = TypeVar("T")


class ClientError(Exception):
    """The server refused a request. ``code`` is one of :class:`causerie.errors.ErrorCode`."""

    def __init__(self, error: Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
        self.code = _known_code(error.code)
        self.message = error.message


def _rid() -> str:
    return secrets.token_urlsafe(12)


def _known_code(code: str) -> ErrorCode | str:
    try:
        return ErrorCode(code)
    except ValueError:  # a newer server's code: keep it as text
        return code


class ConnectionLost(Exception):
    """The server closed the connection (``code`` and ``reason`` from the close frame)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"connection closed ({code}): {reason}")
        self.code = code
        self.reason = reason


class _Pending:
    def __init__(self, frame_type: str, replies: tuple[type[Any], ...], count: int) -> None:
        self.frame_type = frame_type
        self.replies = replies
        self.count = count
        self.collected: list[Any] = []
        self.future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()


class Client:
    def __init__(
        self, url: str, *, timeout: float = 10.0, user_agent: str = "causerie-client"
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.user_agent = user_agent
        self.welcome: Welcome | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[ServerFrame | ConnectionLost] = asyncio.Queue()
        self._pending: _Pending | None = None
        self._lock = asyncio.Lock()
        self._refs = itertools.count(1)
        self._closed: ConnectionLost | None = None
        # Messages sent whose ack never came: safe to resend (their request id is kept).
        self.unacknowledged: list[f.Say | f.SendPrivate] = []

    # -- connection ------------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        self._ws = await connect(
            self.url, open_timeout=self.timeout, user_agent_header=self.user_agent, max_size=2**22
        )
        self._reader = asyncio.create_task(self._read(), name="causerie-client-reader")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    @property
    def nickname(self) -> str:
        if self.welcome is None:
            raise RuntimeError("enter first")
        return self.welcome.me.nickname

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                try:
                    decoded = _decoder.decode(message)
                except msgspec.ValidationError:
                    # A frame type this client does not know yet: skip it, keep the connection.
                    continue
                for frame in decoded if isinstance(decoded, list) else (decoded,):
                    self._route(frame)
        except ConnectionClosed:
            pass
        finally:
            lost = ConnectionLost(self._ws.close_code, self._ws.close_reason or "")
            self._closed = lost
            if self._pending is not None and not self._pending.future.done():
                self._pending.future.set_exception(lost)
                # The requester may have given up already; do not report it as unhandled.
                self._pending.future.add_done_callback(lambda future: future.exception())
            self._events.put_nowait(lost)

    def _route(self, frame: ServerFrame) -> None:
        pending = self._pending
        if pending is not None and not pending.future.done():
            if isinstance(frame, Error) and frame.frame in (None, pending.frame_type):
                pending.future.set_exception(ClientError(frame))
                return
            if isinstance(frame, pending.replies):
                pending.collected.append(frame)
                if len(pending.collected) >= pending.count:
                    pending.future.set_result(pending.collected)
                return
        self._events.put_nowait(frame)

    async def _transmit(self, data: str | bytes) -> None:
        assert self._ws is not None
        try:
            await self._ws.send(data)
        except ConnectionClosed:
            raise ConnectionLost(self._ws.close_code, self._ws.close_reason or "") from None

    async def send_raw(self, data: str | bytes) -> None:
        """Send anything, valid or not (for tests of the server's handling of bad input)."""
        if self._ws is None:
            raise RuntimeError("not connected")
        await self._transmit(data)

    async def _request(
        self, frame: f.ClientFrame, replies: tuple[type[T], ...], count: int = 1
    ) -> list[T]:
        if self._ws is None:
            raise RuntimeError("use 'async with Client(url)'")
        async with self._lock:
            if self._closed is not None:
                raise self._closed
            tag = str(type(frame).__struct_config__.tag)
            self._pending = _Pending(tag, replies, count)
            try:
                await self._transmit(_encoder.encode(frame).decode())
                return await asyncio.wait_for(self._pending.future, self.timeout)
            finally:
                self._pending = None

    async def _send(self, frame: f.ClientFrame) -> None:
        if self._ws is None:
            raise RuntimeError("use 'async with Client(url)'")
        await self._transmit(_encoder.encode(frame).decode())

    # -- requests --------------------------------------------------------------------------------

    async def enter(
        self,
        nickname: str,
        age: int,
        gender: str,
        postal_code: str,
        *,
        device: str | None = None,
        age_token: str | None = None,
    ) -> Welcome:
        frame = f.Enter(
            nickname=nickname,
            age=age,
            gender=gender,
            postal_code=postal_code,
            device=device,
            age_token=age_token,
        )
        (self.welcome,) = await self._request(frame, (Welcome,))
        return self.welcome

    async def resume(self, token: str, *, device: str) -> Welcome:
        """Come back as the chatter of an earlier ``welcome`` (its ``resume_token``, the same
        ``device``); the rooms are joined again and their ``joined`` frames arrive as events."""
        (self.welcome,) = await self._request(f.Resume(token=token, device=device), (Welcome,))
        return self.welcome

    async def logout(self) -> None:
        """Leave the site on purpose: the resume token stops working; the server closes."""
        await self._request(f.Logout(), (f.LoggedOut,))

    async def private_history(self, nickname: str) -> list[f.PrivateMessage]:
        """What was said with ``nickname`` within the visible window, oldest first."""
        (reply,) = await self._request(f.PrivateHistory(nickname=nickname), (f.PrivateHistoryList,))
        return reply.messages

    async def rooms(self) -> list[RoomInfo]:
        (room_list,) = await self._request(f.ListRooms(), (f.RoomList,))
        return room_list.rooms

    async def join(self, *rooms: str) -> list[Joined]:
        unique = list(dict.fromkeys(rooms))
        return await self._request(f.Join(rooms=unique), (Joined,), len(unique))

    async def leave(self, *rooms: str) -> None:
        unique = list(dict.fromkeys(rooms))
        await self._request(f.Leave(rooms=unique), (Left,), len(unique))

    async def members(self, room: str) -> list[Person]:
        """Every member of the room this chatter may see, page after page (each page is one
        list request for the server's rate limit)."""
        page = await self.member_page(room)
        members = list(page.members)
        while page.next is not None:
            page = await self.member_page(room, after=page.next)
            members += page.members
        return members

    async def member_page(self, room: str, *, after: str = "") -> MemberList:
        """One page of the room's members: ``after`` is the ``next`` of the page before (or
        ``members_next`` of ``joined``); the reply's ``next`` is None on the last page."""
        (reply,) = await self._request(f.Members(room=room, after=after), (MemberList,))
        return reply

    async def say(self, room: str, text: str, *, request: str | None = None) -> Ack:
        """Write in a room. ``request`` (made here when not given) identifies this message on
        every retry: the server acknowledges it once."""
        frame = f.Say(room=room, text=text, ref=str(next(self._refs)), request=request or _rid())
        return await self._message(frame)

    async def send_private(self, nickname: str, text: str, *, request: str | None = None) -> Ack:
        frame = f.SendPrivate(
            to=nickname, text=text, ref=str(next(self._refs)), request=request or _rid()
        )
        return await self._message(frame)

    async def resend(self, frame: f.Say | f.SendPrivate) -> Ack:
        """Send a message again with its request id (from :attr:`unacknowledged`, maybe of an
        earlier connection): its first ack if the server had stored it, else a new one."""
        with contextlib.suppress(ValueError):
            self.unacknowledged.remove(frame)
        return await self._message(msgspec.structs.replace(frame, ref=str(next(self._refs))))

    async def _message(self, frame: f.Say | f.SendPrivate) -> Ack:
        try:
            (ack,) = await self._request(frame, (Ack,))
        except ClientError as refused:
            # A refusal is final, except a failure of the server's: the message was not
            # stored and may be sent again.
            if refused.code == ErrorCode.INTERNAL_ERROR:
                self.unacknowledged.append(frame)
            raise
        except (ConnectionLost, ConnectionClosed, TimeoutError):
            self.unacknowledged.append(frame)
            raise
        return ack

    async def ignore(self, nickname: str) -> list[str]:
        (reply,) = await self._request(f.Ignore(nickname=nickname), (f.Ignored,))
        return reply.nicknames

    async def unignore(self, nickname: str) -> list[str]:
        (reply,) = await self._request(f.Unignore(nickname=nickname), (f.Ignored,))
        return reply.nicknames

    async def people(
        self,
        *,
        age_band: AgeBand | str | None = None,
        gender: str | None = None,
        region: str | None = None,
    ) -> list[Person]:
        frame = f.People(
            age_band=AgeBand(age_band) if age_band else None, gender=gender, region=region
        )
        (reply,) = await self._request(frame, (f.PeopleList,))
        return reply.people

    async def create_room(self, name: str, topic: str = "") -> Joined:
        (joined,) = await self._request(f.CreateRoom(name=name, topic=topic), (Joined,))
        return joined

    async def set_topic(self, room: str, topic: str) -> Topic:
        (reply,) = await self._request(f.SetTopic(room=room, topic=topic), (Topic,))
        return reply

    async def send_photo(
        self, data: bytes, *, room: str | None = None, to: str | None = None, caption: str = ""
    ) -> Ack:
        """Send a photo to a room or a person: ``photo_upload``, then the file as one binary
        message once the server grants it; the ``ack`` names the stored message. ClientError
        with a ``photo_*`` code if the file or its destination is refused."""
        if self._ws is None:
            raise RuntimeError("use 'async with Client(url)'")
        frame = f.PhotoUpload(room=room, to=to, caption=caption, ref=str(next(self._refs)))
        async with self._lock:
            if self._closed is not None:
                raise self._closed
            try:
                for payload, reply in (
                    (_encoder.encode(frame).decode(), f.UploadGranted),
                    (data, Ack),
                ):
                    self._pending = _Pending("photo_upload", (reply,), 1)
                    await self._transmit(payload)
                    (answer,) = await asyncio.wait_for(self._pending.future, self.timeout)
            finally:
                self._pending = None
        assert isinstance(answer, Ack)
        return answer

    async def verify_age(self, token: str) -> None:
        """Hand over an age verification token proving "over 18"; ClientError if refused."""
        await self._request(f.VerifyAge(token=token, ref=str(next(self._refs))), (f.AgeVerified,))

    async def report(self, target: str, reason: str, details: str = "") -> str:
        """Report an item (EU DSA Art. 16) and return the report's id.

        ``target`` is ``kind:id``: ``message:42``, ``private:43``, ``person:<nickname>``,
        ``room:<room id>``, ``topic:<room id>``, ``photo:<id>``; ``reason`` a policy category
        (``causerie.domain.Category``) or ``"other"``. Reporting the same item again returns the
        first report's id.
        """
        frame = f.Report(target=target, reason=reason, details=details, ref=str(next(self._refs)))
        (reply,) = await self._request(frame, (f.Reported,))
        return reply.report

    async def statements(self) -> list[f.StatementOfReasons]:
        """The statements of reasons that concern you, newest first (EU DSA Art. 17)."""
        frame = f.ListStatements(ref=str(next(self._refs)))
        (reply,) = await self._request(frame, (f.StatementList,))
        return reply.statements

    async def appeal(self, statement: str, text: str) -> None:
        """Appeal a statement of reasons within six months (EU DSA Art. 20); its outcome comes
        later as a ``statement`` event."""
        frame = f.Appeal(statement=statement, text=text, ref=str(next(self._refs)))
        await self._request(frame, (f.AppealReceived,))

    async def ping(self) -> None:
        await self._request(f.Ping(), (f.Pong,))

    async def typing(self, *, room: str | None = None, to: str | None = None) -> None:
        """Tell others you are typing; no answer (errors come through :meth:`events`)."""
        await self._send(f.Typing(room=room, to=to))

    # -- events ----------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ServerFrame]:
        """Every frame that does not answer a request, in order; ends with the connection."""
        while True:
            item = await self._events.get()
            if isinstance(item, ConnectionLost):
                self._events.put_nowait(item)
                return
            yield item

    async def next_event(self, kind: type[T], *, within: float | None = None) -> T:
        """Wait for the next event of a type, discarding others; TimeoutError if none comes."""

        async def wait() -> T:
            async for event in self.events():
                if isinstance(event, kind):
                    return event
            raise self._closed or ConnectionLost(None, "closed")

        return await asyncio.wait_for(wait(), within if within is not None else self.timeout)

    def pending_events(self) -> list[ServerFrame]:
        """Events received and not yet consumed, without waiting."""
        items: list[ServerFrame] = []
        while not self._events.empty():
            item = self._events.get_nowait()
            if isinstance(item, ConnectionLost):
                self._events.put_nowait(item)
                break
            items.append(item)
        return items
