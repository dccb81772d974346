"""The one delivery path every message takes: screen → retention record → publish → store.

``say``, ``send_private`` (and photos next) differ only in where the message goes; they all
call :meth:`Delivery.deliver`, so nothing reaches a recipient without the moderation verdict
and its lawful traffic record, and nothing is acknowledged without its stored row.

The ack tells the truth (docs/protocol.md, "Acks"): the message's id is reserved, its traffic
record written, the bus confirms the publication, and only then is its row written (visible in
history), as the last step before the ack: one commit on each database per message, shared by
every message waiting under load. A failure on the way stores nothing, so an ``internal_error``
leaves nothing behind (a frame already sent is followed by ``removed``); a node that dies on the
way leaves no row. A client's ``request`` id makes a retry return the first ack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from causerie.chat.core import ChatCore, author_of
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.domain import Audience, ContentKind, ContentRef
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.verdict import Rebanding, Subject, Verdict
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.store.messages import RequestAcknowledged
from causerie.store.presence import OnlineSession
from causerie.store.rooms import RoomRow
from causerie.trust.policy import Say

log = logging.getLogger(__name__)


def request_key(session: LocalSession, request: str | None) -> str | None:
    """A client's request id, scoped to the chatter: the first session of a resumed chain.

    Every session that resumes this chatter shares that first id, so a retry on a new
    connection finds what the old one stored; another chatter's identical id is another key.
    """
    if request is None:
        return None
    first = session.earlier_sessions[0] if session.earlier_sessions else session.id
    return f"{first} {request}"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: a room, or one person."""

    room: RoomRow | None = None
    recipient: OnlineSession | None = None


class Delivery:
    # Issues the statement of reasons of an automated restriction (chat/statements.py); the
    # chat service sets it when it builds the use cases.
    refused: Callable[[LocalSession, Subject, Verdict], Awaitable[None]]

    def __init__(
        self, core: ChatCore, leave: Callable[[LocalSession, list[str]], Awaitable[object]]
    ) -> None:
        self.core = core
        self._leave = leave
        # Deliveries that outlived their connection (kept until done: see ``deliver``).
        self._finishing: set[asyncio.Task[f.Ack]] = set()

    async def screen(
        self, session: LocalSession, subject: Subject, *, refused: ErrorCode, **detail: str
    ) -> Verdict:
        """The moderation verdict on ``subject``, applied: a re-banding first, then a refusal
        raised as the chatter's error (``refused`` when the verdict names no code)."""
        verdict = await self.core.moderation.check(subject)
        if verdict.rebanding is not None:
            await self._reband(session, verdict.rebanding)
        if verdict.deliver:
            return verdict
        code = verdict.code or refused
        message = verdict.message or "this was not delivered"
        await self.refused(session, subject, verdict)
        if verdict.disconnect:
            await self.core.disconnect(session.id, code, message)
        fields: dict[str, str] = {**detail, **verdict.detail}
        if verdict.category is not None:
            fields["category"] = verdict.category
        raise ChatError(code, message, **fields)

    async def deliver(
        self,
        session: LocalSession,
        kind: ContentKind,
        text: str,
        destination: Destination,
        ref: str | None,
        peer: Peer,
        request: str | None = None,
    ) -> f.Ack:
        core = self.core
        key = request_key(session, request)
        if key is not None:
            first = await core.messages.acknowledged(key)
            if first is not None:
                # A retry: acknowledged already; nothing is screened, stored or sent again.
                return f.Ack(ref=ref, id=first.id, at=first.created_at)
        subject = Subject(
            kind=kind,
            text=text,
            author=author_of(session),
            room=destination.room,
            recipient=destination.recipient,
        )
        verdict = await self.screen(session, subject, refused=ErrorCode.CONTENT_BLOCKED)
        # Shielded: a connection that ends meanwhile (a resume elsewhere, a dropped network)
        # must not leave the message half-delivered; finished, a retry finds its ack.
        task = asyncio.create_task(
            self._store_and_publish(session, verdict, text, destination, ref, peer, key)
        )
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return await asyncio.shield(task)

    async def _store_and_publish(
        self,
        session: LocalSession,
        verdict: Verdict,
        text: str,
        destination: Destination,
        ref: str | None,
        peer: Peer,
        key: str | None,
    ) -> f.Ack:
        core = self.core
        now = core.clock()
        deliver_text = verdict.text if verdict.text is not None else text
        room, recipient = destination.room, destination.recipient
        message_id = await core.messages.reserve_id()
        content = str(ContentRef.message(message_id, private=recipient is not None))
        # Before anything is shown or stored: no record, no message.
        await core.traffic.content_created(session.id, session.nickname, content, peer, now)
        if verdict.stored is not None:
            await verdict.stored(content)
        frame: f.ServerFrame
        target: dict[str, str]
        if room is not None:
            target = {"room": room.id}
            frame = f.RoomMessage(
                id=message_id,
                room=room.id,
                sender=session.nickname,
                text=deliver_text,
                at=now,
                blurred=verdict.blurred,
                sender_key=session.key,
            )
        else:
            assert recipient is not None
            target = {"session": recipient.id}
            frame = f.PrivateMessage(
                id=message_id,
                sender=session.nickname,
                recipient=recipient.nickname,
                text=deliver_text,
                at=now,
                blurred=verdict.blurred,
                sender_key=session.key,
            )
        # The bus returns once the broker confirmed it has the envelope (causerie.bus).
        await core.publish(frame, sender_key=session.key, **target)
        try:
            # The last step: the row, visible in history, committed before the ack.
            await core.messages.add(
                message_id=message_id,
                room_id=room.id if room is not None else None,
                sender_session=session.id,
                sender_nickname=session.nickname,
                recipient_session=recipient.id if recipient is not None else None,
                recipient_nickname=recipient.nickname if recipient is not None else None,
                text=deliver_text,
                blurred=verdict.blurred,
                created_at=now,
                expires_at=now + core.visible_seconds,
                request_key=key,
            )
        except RequestAcknowledged as raced:
            # A retry of this request, on another connection, was acknowledged first: that one
            # stands; recipients are told to take this copy off their screens.
            await self._retract(message_id, target)
            return f.Ack(ref=ref, id=raced.first.id, at=raced.first.created_at)
        except BaseException:
            await self._retract(message_id, target)
            raise
        return f.Ack(ref=ref, id=message_id, at=now)

    async def _retract(self, message_id: int, target: dict[str, str]) -> None:
        """Take back a frame already sent for a message that cannot be acknowledged (its row
        could not be written): a ``removed`` follows it. Best effort: this runs while something
        is failing."""
        try:
            await self.core.publish(f.Removed(id=message_id, room=target.get("room")), **target)
        except Exception:
            log.exception("could not retract unacknowledged message %s", message_id)

    async def record_content(
        self, session: LocalSession, message_id: int, content_id: str, peer: Peer, now: float
    ) -> None:
        """Keep the lawful traffic record of a stored message, or take the message back.

        A message is acknowledged only with its traffic record: if that record cannot be
        written, the message is deleted again so that nobody sees it in history either.
        """
        try:
            await self.core.traffic.content_created(
                session.id, session.nickname, content_id, peer, now
            )
        except BaseException:
            await self.core.messages.discard(message_id)
            raise

    async def _reband(self, session: LocalSession, rebanding: Rebanding) -> None:
        """The author wrote a younger age: this session is that age from now on.

        Re-banded in presence (so every node sees it), taken out of adults-only rooms (members
        there see them leave) and told why. Private conversations with adults end by
        themselves: every private message reads the band afresh.
        """
        core = self.core
        session.age = rebanding.age
        session.band = rebanding.band
        await core.presence.update_age(session.id, rebanding.age)
        closed: list[str] = []
        for room_id in sorted(session.rooms):
            row = await core.rooms.get(room_id)
            if row is None or not Audience(row.audience).admits(rebanding.band):
                closed.append(room_id)
        if closed:
            await self._leave(session, closed)
        session.outbox.push(
            encode_text(
                f.BandChanged(
                    age_band=rebanding.band,
                    age=rebanding.age,
                    message=Say.REBANDED,
                    left_rooms=closed,
                )
            )
        )
