"""Writing: room messages, private messages, typing notices."""

from __future__ import annotations

from causerie.chat.core import ChatCore
from causerie.chat.delivery import Delivery, Destination
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.domain import AgeBand, ContentKind
from causerie.errors import ChatError, ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key
from causerie.store.presence import OnlineSession
from causerie.trust.policy import Say


class Messaging:
    def __init__(self, core: ChatCore, delivery: Delivery) -> None:
        self.core = core
        self.delivery = delivery

    async def say(
        self,
        session: LocalSession,
        room_id: str,
        text: str,
        ref: str | None,
        peer: Peer,
        *,
        request: str | None = None,
    ) -> f.Ack:
        """Write in a room; ``request``, the client's id for this message, makes a retry
        return the first ack (causerie.chat.delivery)."""
        if room_id not in session.rooms:
            raise ChatError(
                ErrorCode.NOT_IN_ROOM, f"join {room_id!r} before writing in it", room=room_id
            )
        room = await self.core.room_for_message(room_id)
        return await self.delivery.deliver(
            session, ContentKind.ROOM_MESSAGE, text, Destination(room=room), ref, peer, request
        )

    async def send_private(
        self,
        session: LocalSession,
        to: str,
        text: str,
        ref: str | None,
        peer: Peer,
        *,
        request: str | None = None,
    ) -> f.Ack:
        recipient = await self._recipient(session, to)
        return await self.delivery.deliver(
            session,
            ContentKind.PRIVATE_MESSAGE,
            text,
            Destination(recipient=recipient),
            ref,
            peer,
            request,
        )

    async def private_history(self, session: LocalSession, nickname: str) -> f.PrivateHistoryList:
        """What this chatter (in this session and the ones it resumed) and ``nickname`` wrote to
        each other within the visible window, oldest first."""
        core = self.core
        if nickname_key(nickname) in session.ignored:
            return f.PrivateHistoryList(nickname=nickname, messages=[])
        rows = await core.messages.private_between(
            (*session.earlier_sessions, session.id),
            nickname,
            core.clock() - core.visible_seconds,
            core.settings.chat.history_on_join,
        )
        return f.PrivateHistoryList(
            nickname=nickname,
            messages=[
                f.PrivateMessage(
                    id=m.id,
                    sender=m.sender_nickname,
                    recipient=m.recipient_nickname or "",
                    text=m.text,
                    at=m.created_at,
                    blurred=m.blurred,
                    sender_key=nickname_key(m.sender_nickname),
                )
                for m in rows
                if m.photo_id is None
            ],
        )

    async def _recipient(self, session: LocalSession, to: str) -> OnlineSession:
        key = nickname_key(to)
        if key == session.key:
            raise ChatError(ErrorCode.CANNOT_MESSAGE_SELF, "you cannot write to yourself")
        recipient = await self.core.presence.by_key(key)
        if recipient is None:
            raise ChatError(
                ErrorCode.RECIPIENT_NOT_FOUND,
                f"{to} is not connected (they may have left)",
                nickname=to,
            )
        return recipient

    async def typing(self, session: LocalSession, room_id: str | None, to: str | None) -> None:
        core = self.core
        if room_id is not None:
            if room_id not in session.rooms:
                raise ChatError(ErrorCode.NOT_IN_ROOM, f"join {room_id!r} first", room=room_id)
            await core.publish(
                f.TypingNotice(sender=session.nickname, room=room_id, sender_key=session.key),
                room=room_id,
                sender_key=session.key,
                exclude_session=session.id,
            )
        elif to is not None:
            recipient = await core.presence.by_key(nickname_key(to))
            if recipient is None:
                raise ChatError(
                    ErrorCode.RECIPIENT_NOT_FOUND, f"{to} is not connected", nickname=to
                )
            if not session.band.same_side(AgeBand.of_age(recipient.age)):
                message = (
                    Say.PRIVATE_MINOR_TO_ADULT
                    if session.band.is_minor
                    else Say.PRIVATE_ADULT_TO_MINOR
                )
                raise ChatError(ErrorCode.CONVERSATION_FORBIDDEN, message, nickname=to)
            await core.publish(
                f.TypingNotice(sender=session.nickname, sender_key=session.key),
                session=recipient.id,
                sender_key=session.key,
            )
