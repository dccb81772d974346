"""Chat actions: each validates, asks the minors fence and the safety screen, stores, publishes.

This is the one path every client takes (web, Python client, any future gateway): a message
cannot reach anyone without going through :meth:`ChatService.say` or
:meth:`ChatService.send_private`, and both screen it before storing and publishing.

The protection of minors (:class:`causerie.trust.fence.MinorsFence`) is part of the service, not
a pluggable screen: every entry, join, people list, message and typing notice passes it first,
whatever the safety pipeline's configuration. An age claim ("j'ai 14 ans") is acted on before the
message that carries it goes any further.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import msgspec

from causerie.bus import Bus
from causerie.chat.envelopes import Deliver, Disconnect, envelope_encoder
from causerie.chat.hooks import (
    AllowAll,
    Author,
    NoTrafficLog,
    Peer,
    Screen,
    Subject,
    TrafficLog,
    Verdict,
)
from causerie.chat.hub import Hub, LocalSession, Outbox
from causerie.chat.rooms import may_enter, room_name_key, slugify
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.forms import read
from causerie.protocol import frames as f
from causerie.protocol.codec import encode, encode_text
from causerie.protocol.identity import (
    AGE_BANDS_RANGE,
    MIN_AGE,
    Identity,
    age_band,
    check_identity,
    is_minor,
    nickname_key,
)
from causerie.settings import Settings
from causerie.store.messages import MessageStore, StoredMessage
from causerie.store.presence import NicknameTaken, OnlineSession, PresenceStore
from causerie.store.rooms import RoomExists, RoomRow, RoomStore
from causerie.store.trust import History, Offender, TrustStore
from causerie.trust.fence import MinorsFence
from causerie.trust.policy import (
    RoomAccess,
    Say,
    minors_may_read,
    never_to_minor,
    people_age_range,
    private_conversation,
    room_access,
    room_conversation,
    rule_private,
    rule_room_message,
    same_side,
    teen_room_attempt,
)
from causerie.trust.signals import Detection, Signal

log = logging.getLogger(__name__)


def person_of(row: OnlineSession | LocalSession) -> f.Person:
    from causerie.protocol.geo import REGIONS_BY_CODE

    region = REGIONS_BY_CODE.get(row.region_code)
    return f.Person(
        nickname=row.nickname,
        age=row.age,
        gender=row.gender,
        region=region.name if region else "",
        department=row.department,
    )


def room_info(row: RoomRow, count: int) -> f.RoomInfo:
    return f.RoomInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        audience=row.audience,  # type: ignore[arg-type]
        count=count,
        topic=row.topic,
        region=row.region_code,
    )


def message_frame(message: StoredMessage) -> f.RoomMessage:
    return f.RoomMessage(
        id=message.id,
        room=message.room_id or "",
        sender=message.sender_nickname,
        text=message.text,
        at=message.created_at,
        blurred=message.blurred,
    )


ROOM_CACHE_SECONDS = 10.0


class ChatService:
    def __init__(
        self,
        settings: Settings,
        *,
        node_id: str,
        presence: PresenceStore,
        rooms: RoomStore,
        messages: MessageStore,
        bus: Bus,
        hub: Hub,
        screen: Screen | None = None,
        traffic: TrafficLog | None = None,
        fence: MinorsFence | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.node_id = node_id
        self.presence = presence
        self.rooms = rooms
        self.messages = messages
        self.bus = bus
        self.hub = hub
        self.screen: Screen = screen or AllowAll()
        self.traffic: TrafficLog = traffic or NoTrafficLog()
        self.clock = clock
        # Not optional: without one given, the fence is built here from the settings.
        self.fence = fence or MinorsFence(settings.minors, TrustStore(presence.engine), clock=clock)
        self._visible_seconds = settings.chat.visible_hours * 3600
        # Room rows for the message path, which would otherwise read the same row for every
        # message. A room's audience never changes while nodes run (the catalogue is synced at
        # start-up), so a short-lived copy can only show a topic a few seconds old.
        self._room_cache: dict[str, tuple[float, RoomRow]] = {}

    # -- publishing ----------------------------------------------------------------------------

    async def _publish(
        self,
        frame: f.ServerFrame,
        *,
        room: str | None = None,
        session: str | None = None,
        sender_key: str | None = None,
        exclude_session: str | None = None,
    ) -> None:
        envelope = Deliver(
            frame=msgspec.Raw(encode(frame)),
            room=room,
            session=session,
            sender_key=sender_key,
            exclude_session=exclude_session,
        )
        await self.bus.publish(envelope_encoder.encode(envelope))

    async def disconnect(self, session_id: str, code: ErrorCode, message: str) -> None:
        """Close a chatter's connection on whichever node holds it."""
        frame = f.Error(code=code, message=message)
        await self.bus.publish(
            envelope_encoder.encode(
                Disconnect(session=session_id, frame=msgspec.Raw(encode(frame)), reason=message)
            )
        )

    # -- entry ---------------------------------------------------------------------------------

    async def enter(
        self, frame: f.Enter, outbox: Outbox, peer: Peer
    ) -> tuple[LocalSession, f.Welcome]:
        try:
            identity: Identity = check_identity(
                frame.nickname, frame.age, frame.gender, frame.postal_code
            )
        except ChatError as error:
            if error.code == ErrorCode.AGE_TOO_YOUNG:
                await self.fence.refused_too_young(frame.age, frame.device, peer.ip)
            raise
        # Coming back from the same device or address under an older age keeps the younger one.
        admission = await self.fence.admit(identity.age, frame.device, peer.ip)
        age = admission.age
        band = age_band(age)
        verified = False
        if frame.age_token is not None:
            await self.fence.check_age_token(frame.age_token, band)
            verified = True
        session_id = secrets.token_urlsafe(18)
        author = Author(
            session_id=session_id,
            nickname=identity.nickname,
            key=identity.key,
            age=age,
            band=band,
        )
        verdict = await self.screen.screen(
            Subject(kind="nickname", text=identity.nickname, author=author)
        )
        if not verdict.deliver:
            raise ChatError(
                verdict.code or ErrorCode.NICKNAME_REFUSED,
                verdict.message or "this nickname is not allowed here; choose another",
                field="nickname",
            )
        row = OnlineSession(
            id=session_id,
            nickname=identity.nickname,
            nickname_key=identity.key,
            age=age,
            gender=identity.gender,
            department=identity.place.department,
            region_code=identity.place.region.code,
            node_id=self.node_id,
        )
        now = self.clock()
        try:
            await self.presence.add_session(row, now)
        except NicknameTaken:
            raise ChatError(
                ErrorCode.NICKNAME_TAKEN,
                f"someone online already uses a nickname like {identity.nickname!r}",
                field="nickname",
            ) from None
        local = LocalSession(
            id=session_id,
            nickname=identity.nickname,
            key=identity.key,
            age=age,
            band=band,
            gender=identity.gender,
            department=identity.place.department,
            region_code=identity.place.region.code,
            outbox=outbox,
        )
        self.hub.attach(local)
        await self.fence.entered(session_id, admission, band, verified=verified)
        await self.traffic.connection_opened(session_id, identity.nickname, peer, now)
        welcome = f.Welcome(
            session=session_id,
            me=person_of(local),
            age_band=band,
            visible_hours=self.settings.chat.visible_hours,
            max_message_chars=self.settings.limits.max_message_chars,
            age_notice=admission.notice,
        )
        return local, welcome

    async def announce_departures(self, departures: list[tuple[str, str]]) -> None:
        """Tell rooms that chatters of a node found dead are gone."""
        for room, nickname in departures:
            await self._publish(f.MemberLeft(room=room, nickname=nickname), room=room)

    async def exit(self, session: LocalSession) -> None:
        """Take a chatter offline and tell the rooms they were in."""
        self.hub.detach(session.id)
        rooms = await self.presence.remove_session(session.id)
        for room in rooms:
            await self._publish(f.MemberLeft(room=room, nickname=session.nickname), room=room)
        await self.traffic.connection_closed(session.id, self.clock())
        await self.fence.left(session.id, session.age, session.band)

    async def verify_age(self, session: LocalSession, token: str, ref: str | None) -> f.AgeVerified:
        """Accept an age verification token: adults-only rooms open to this session."""
        await self.fence.verify(session.id, token, session.band)
        return f.AgeVerified(ref=ref)

    # -- rooms ---------------------------------------------------------------------------------

    async def list_rooms(self, session: LocalSession) -> f.RoomList:
        # Counts, like member lists, only include the chatter's own side of the age line: an
        # adult does not learn how many minors sit in an all-ages room.
        if is_minor(session.band):
            counts = await self.presence.counts(max_age=17)
        else:
            counts = await self.presence.counts(min_age=18)
        rows = await self.rooms.all()
        # Teen rooms are not even listed to adults, nor adults-only rooms to minors.
        return f.RoomList(
            rooms=[
                room_info(row, counts.get(row.id, 0))
                for row in rows
                if room_access(
                    session.band, row.audience, verified=True, verification_required=False
                )
                is RoomAccess.ALLOWED
            ]
        )

    async def _room(self, room_id: str) -> RoomRow:
        row = await self.rooms.get(room_id)
        if row is None:
            raise ChatError(ErrorCode.ROOM_NOT_FOUND, f"there is no room {room_id!r}", room=room_id)
        return row

    async def _room_for_message(self, room_id: str) -> RoomRow:
        now = time.monotonic()
        cached = self._room_cache.get(room_id)
        if cached is not None and now - cached[0] < ROOM_CACHE_SECONDS:
            return cached[1]
        row = await self._room(room_id)
        self._room_cache[room_id] = (now, row)
        return row

    async def _check_may_enter(self, session: LocalSession, room: RoomRow) -> None:
        access = room_access(
            session.band,
            room.audience,
            verified=self.fence.is_verified(session.id),
            verification_required=self.settings.minors.adults_only_requires_verification,
        )
        # Belt and braces: the catalogue's own rule must agree.
        if access is RoomAccess.ALLOWED and may_enter(session.band, room.audience):
            return
        if access is RoomAccess.VERIFICATION_REQUIRED:
            raise ChatError(
                ErrorCode.AGE_VERIFICATION_REQUIRED, Say.VERIFICATION_REQUIRED, room=room.id
            )
        if access is RoomAccess.TEENS_ONLY:
            # Teen rooms are not listed to adults: asking for one is an attempt, and counts.
            ruling = teen_room_attempt(adult_factor=self.settings.minors.adult_signal_factor)
            try:
                await self.fence.examine(
                    ruling,
                    conversation_key=room_conversation(room.id, session.key),
                    kind="teen_room_attempt",
                    offender=_offender(session),
                    target=room.id,
                    text="",
                    signals=frozenset(),
                    history=History(),
                    room_id=room.id,
                )
            except ChatError as refused:
                raise ChatError(refused.code, refused.message, room=room.id) from None
        raise ChatError(ErrorCode.ROOM_FORBIDDEN, Say.ADULTS_ONLY, room=room.id)

    async def join(self, session: LocalSession, room_ids: list[str]) -> list[f.Joined]:
        """Join several rooms at once: all are checked before any is joined."""
        wanted = list(dict.fromkeys(room_ids))
        rows = [await self._room(room_id) for room_id in wanted]
        for row in rows:
            await self._check_may_enter(session, row)
        new_total = len(session.rooms | set(wanted))
        if new_total > self.settings.limits.max_rooms_per_session:
            raise ChatError(
                ErrorCode.TOO_MANY_ROOMS,
                f"you can be in at most {self.settings.limits.max_rooms_per_session} rooms at once",
            )
        added = set(await self.presence.join(session.id, wanted, self.clock()))
        since = self.clock() - self._visible_seconds
        replies: list[f.Joined] = []
        for row in rows:
            members = await self.presence.members(row.id)
            if row.id in added:
                await self._announce_arrival(session, row, members)
            self.hub.subscribe(session, row.id)
            history = await self.messages.recent_in_room(
                row.id, since, self.settings.chat.history_on_join
            )
            replies.append(
                f.Joined(
                    room=room_info(row, len(members)),
                    members=[person_of(m) for m in members if _visible(session, m)],
                    history=[
                        message_frame(m)
                        for m in history
                        if nickname_key(m.sender_nickname) not in session.ignored
                    ],
                )
            )
        return replies

    async def _announce_arrival(
        self, session: LocalSession, room: RoomRow, members: list[OnlineSession]
    ) -> None:
        frame = f.MemberJoined(room=room.id, person=person_of(session))
        if room.audience != "all":
            # A teen or adults-only room holds one side only.
            await self._publish(frame, room=room.id, sender_key=session.key)
            return
        # In an all-ages room, minors are announced to minors and adults to adults only.
        for member in members:
            if member.id != session.id and _visible(session, member):
                await self._publish(frame, session=member.id, sender_key=session.key)

    async def leave(self, session: LocalSession, room_ids: list[str]) -> list[f.Left]:
        left = await self.presence.leave(session.id, room_ids)
        for room in room_ids:
            self.hub.leave_room(session, room)
        for room in left:
            await self._publish(f.MemberLeft(room=room, nickname=session.nickname), room=room)
        return [f.Left(room=room) for room in room_ids]

    async def members(self, session: LocalSession, room_id: str) -> f.MemberList:
        room = await self._room(room_id)
        await self._check_may_enter(session, room)
        rows = await self.presence.members(room_id)
        return f.MemberList(
            room=room_id, members=[person_of(m) for m in rows if _visible(session, m)]
        )

    async def create_room(self, session: LocalSession, name: str, topic: str) -> f.Joined:
        name = " ".join(name.split())
        if not 3 <= len(name) <= 40:
            raise ChatError(ErrorCode.ROOM_NAME_INVALID, "a room name has 3 to 40 characters")
        slug = slugify(name)
        if len(slug) < 3:
            raise ChatError(
                ErrorCode.ROOM_NAME_INVALID, "a room name needs at least 3 letters or digits"
            )
        author = _author(session)
        for kind, text in (("room_name", name), ("topic", topic)):
            if text:
                verdict = await self.screen.screen(Subject(kind=kind, text=text, author=author))  # type: ignore[arg-type]
                if not verdict.deliver:
                    raise ChatError(
                        verdict.code or ErrorCode.ROOM_NAME_REFUSED,
                        verdict.message or "this room cannot be created here",
                    )
        # A minor's room is a teen room; an adult's is open to adults only: chatters' own rooms
        # never mix the two.
        audience = "teens" if is_minor(session.band) else "adults"
        if (
            audience == "adults"
            and self.settings.minors.adults_only_requires_verification
            and not self.fence.is_verified(session.id)
        ):
            raise ChatError(ErrorCode.AGE_VERIFICATION_REQUIRED, Say.VERIFICATION_REQUIRED)
        row = RoomRow(
            id=f"u-{slug}",
            name=name,
            name_key=room_name_key(name),
            kind="user",
            audience=audience,
            region_code="",
            topic=topic,
            host_key=session.key,
            position=10_000,
        )
        try:
            await self.rooms.create(row, self.clock())
        except RoomExists:
            raise ChatError(
                ErrorCode.ROOM_EXISTS, f"a room named like {name!r} exists already"
            ) from None
        return (await self.join(session, [row.id]))[0]

    async def set_topic(self, session: LocalSession, room_id: str, topic: str) -> f.Topic:
        room = await self._room(room_id)
        if room.host_key != session.key:
            raise ChatError(ErrorCode.NOT_ROOM_HOST, "only the room's host can change its topic")
        topic = " ".join(topic.split())
        await self._fence_room_text(session, room, topic, kind="topic")
        verdict = await self.screen.screen(
            Subject(kind="topic", text=topic, author=_author(session), room=room)
        )
        if not verdict.deliver:
            raise ChatError(
                verdict.code or ErrorCode.CONTENT_BLOCKED,
                verdict.message or "this topic is not allowed",
            )
        await self.rooms.set_topic(room_id, topic)
        self._room_cache.pop(room_id, None)
        frame = f.Topic(room=room_id, topic=topic, by=session.nickname)
        await self._publish(frame, room=room_id, exclude_session=session.id)
        return frame

    # -- messages ------------------------------------------------------------------------------

    async def say(
        self, session: LocalSession, room_id: str, text: str, ref: str | None, peer: Peer
    ) -> f.Ack:
        if room_id not in session.rooms:
            raise ChatError(
                ErrorCode.NOT_IN_ROOM, f"join {room_id!r} before writing in it", room=room_id
            )
        room = await self._room_for_message(room_id)
        await self._fence_room_text(session, room, text, kind="message")
        verdict = await self.screen.screen(
            Subject(kind="message", text=text, author=_author(session), room=room)
        )
        await self._enforce(session, verdict)
        # Whatever the pipeline's tuning: what it labels sexual, or would only blur for adults,
        # does not go where a minor reads.
        if minors_may_read(room.audience) and (verdict.blurred or never_to_minor(verdict.labels)):
            raise ChatError(ErrorCode.CONTENT_BLOCKED, Say.NOT_FOR_MINORS)
        now = self.clock()
        deliver_text = verdict.text if verdict.text is not None else text
        message_id = await self.messages.add(
            room_id=room_id,
            sender_session=session.id,
            sender_nickname=session.nickname,
            text=deliver_text,
            blurred=verdict.blurred,
            created_at=now,
            expires_at=now + self._visible_seconds,
        )
        await self._record_content(session, message_id, peer, now)
        if verdict.stored is not None:
            await verdict.stored(f"m{message_id}")
        frame = f.RoomMessage(
            id=message_id,
            room=room_id,
            sender=session.nickname,
            text=deliver_text,
            at=now,
            blurred=verdict.blurred,
        )
        await self._publish(frame, room=room_id, sender_key=session.key)
        return f.Ack(ref=ref, id=message_id, at=now)

    async def send_private(
        self, session: LocalSession, to: str, text: str, ref: str | None, peer: Peer
    ) -> f.Ack:
        key = nickname_key(to)
        if key == session.key:
            raise ChatError(ErrorCode.CANNOT_MESSAGE_SELF, "you cannot write to yourself")
        recipient = await self.presence.by_key(key)
        if recipient is None:
            raise ChatError(
                ErrorCode.RECIPIENT_NOT_FOUND,
                f"{to} is not connected (they may have left)",
                nickname=to,
            )
        detection, signals = await self._detect(text)
        await self._act_on_age_claim(session, detection, text, target=f"@{recipient.nickname}")
        # After a claim, the author's band may be younger already: the rule reads it now.
        recipient_band = age_band(recipient.age)
        ruling = rule_private(
            session.band,
            recipient_band,
            signals,
            adult_factor=self.settings.minors.adult_signal_factor,
        )
        await self.fence.examine(
            ruling,
            conversation_key=private_conversation(session.key, recipient.nickname_key),
            kind="message" if same_side(session.band, recipient_band) else "private_attempt",
            offender=_offender(session),
            target=f"@{recipient.nickname}",
            text=text,
            signals=signals,
            history=History(sessions=(session.id, recipient.id)),
        )
        verdict = await self.screen.screen(
            Subject(kind="private", text=text, author=_author(session), recipient=recipient)
        )
        await self._enforce(session, verdict)
        if is_minor(recipient_band) and (verdict.blurred or never_to_minor(verdict.labels)):
            raise ChatError(ErrorCode.CONTENT_BLOCKED, Say.NOT_FOR_MINORS)
        now = self.clock()
        deliver_text = verdict.text if verdict.text is not None else text
        message_id = await self.messages.add(
            sender_session=session.id,
            sender_nickname=session.nickname,
            recipient_session=recipient.id,
            recipient_nickname=recipient.nickname,
            text=deliver_text,
            blurred=verdict.blurred,
            created_at=now,
            expires_at=now + self._visible_seconds,
        )
        await self._record_content(session, message_id, peer, now)
        if verdict.stored is not None:
            await verdict.stored(f"m{message_id}")
        frame = f.PrivateMessage(
            id=message_id,
            sender=session.nickname,
            recipient=recipient.nickname,
            text=deliver_text,
            at=now,
            blurred=verdict.blurred,
        )
        await self._publish(frame, session=recipient.id, sender_key=session.key)
        return f.Ack(ref=ref, id=message_id, at=now)

    async def _detect(self, text: str) -> tuple[Detection, frozenset[Signal]]:
        """The fence's signals in ``text``; an "@name" nobody online uses is a contact handle."""
        detection = self.fence.detect(read(text))
        signals = set(detection.signals)
        if Signal.CONTACT_HANDLE not in signals:
            for mention in detection.mentions:
                if await self.presence.by_key(nickname_key(mention)) is None:
                    signals.add(Signal.CONTACT_HANDLE)
                    break
        return detection, frozenset(signals)

    async def _fence_room_text(
        self, session: LocalSession, room: RoomRow, text: str, *, kind: str
    ) -> None:
        """The minors fence for text shown in a room; raises its refusal."""
        detection, signals = await self._detect(text)
        await self._act_on_age_claim(session, detection, text, target=room.id)
        if room.id not in session.rooms and kind == "message":
            # The claim just took the author out of this adults-only room.
            raise ChatError(ErrorCode.ROOM_FORBIDDEN, Say.ADULTS_ONLY, room=room.id)
        ruling = rule_room_message(
            session.band,
            room.audience,
            signals,
            adult_factor=self.settings.minors.adult_signal_factor,
        )
        await self.fence.examine(
            ruling,
            conversation_key=room_conversation(room.id, session.key),
            kind=kind,
            offender=_offender(session),
            target=room.id,
            text=text,
            signals=signals,
            history=History(room_id=room.id),
            room_id=room.id,
        )

    async def _act_on_age_claim(
        self, session: LocalSession, detection: Detection, text: str, *, target: str
    ) -> None:
        """A chatter who writes a younger age is treated as that age before anything else.

        Re-banded in this session and in presence (so every node sees it), taken out of
        adults-only rooms (members there see them leave), told why, and flagged to moderators.
        Private conversations with adults end by themselves: every private message reads the
        band afresh. A claim to be older changes nothing.
        """
        claim = detection.age_claim
        if claim is None:
            return
        offender = _offender(session)
        rebanding = self.fence.rebanding(session.band, claim)
        if rebanding is None:
            if claim.age < MIN_AGE:
                await self.fence.flag_claim(offender, claim, text, target=target, action="flagged")
            return
        session.age = rebanding.age
        session.band = rebanding.band
        await self.presence.update_age(session.id, rebanding.age)
        closed: list[str] = []
        for room_id in sorted(session.rooms):
            row = await self.rooms.get(room_id)
            if row is None or row.audience == "adults":
                closed.append(room_id)
        if closed:
            await self.leave(session, closed)
        await self.fence.rebanded(offender, rebanding, text, target=target)
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

    async def _record_content(
        self, session: LocalSession, message_id: int, peer: Peer, now: float
    ) -> None:
        """Keep the lawful traffic record of a stored message, or take the message back.

        A message is acknowledged only with its traffic record: if that record cannot be
        written, the message is deleted again so that nobody sees it in history either.
        """
        try:
            await self.traffic.content_created(
                session.id, session.nickname, f"m{message_id}", peer, now
            )
        except BaseException:
            await self.messages.discard(message_id)
            raise

    async def _enforce(self, session: LocalSession, verdict: Verdict) -> None:
        """Refuse what the screen refused; close the author's connection if it says so."""
        if verdict.deliver:
            return
        code = verdict.code or ErrorCode.CONTENT_BLOCKED
        message = verdict.message or "this message was not delivered"
        if verdict.disconnect:
            await self.disconnect(session.id, code, message)
        if verdict.category is not None:
            raise ChatError(code, message, category=verdict.category)
        raise ChatError(code, message)

    async def typing(self, session: LocalSession, room_id: str | None, to: str | None) -> None:
        if room_id is not None:
            if room_id not in session.rooms:
                raise ChatError(ErrorCode.NOT_IN_ROOM, f"join {room_id!r} first", room=room_id)
            await self._publish(
                f.TypingNotice(sender=session.nickname, room=room_id),
                room=room_id,
                sender_key=session.key,
                exclude_session=session.id,
            )
        elif to is not None:
            recipient = await self.presence.by_key(nickname_key(to))
            if recipient is None:
                raise ChatError(
                    ErrorCode.RECIPIENT_NOT_FOUND, f"{to} is not connected", nickname=to
                )
            if not same_side(session.band, age_band(recipient.age)):
                message = (
                    Say.PRIVATE_MINOR_TO_ADULT
                    if is_minor(session.band)
                    else Say.PRIVATE_ADULT_TO_MINOR
                )
                raise ChatError(ErrorCode.CONVERSATION_FORBIDDEN, message, nickname=to)
            await self._publish(
                f.TypingNotice(sender=session.nickname),
                session=recipient.id,
                sender_key=session.key,
            )

    # -- people --------------------------------------------------------------------------------

    def ignore(self, session: LocalSession, nickname: str) -> f.Ignored:
        key = nickname_key(nickname)
        if key == session.key:
            raise ChatError(ErrorCode.CANNOT_MESSAGE_SELF, "you cannot ignore yourself")
        session.ignored.add(key)
        return f.Ignored(nicknames=sorted(session.ignored))

    def unignore(self, session: LocalSession, nickname: str) -> f.Ignored:
        session.ignored.discard(nickname_key(nickname))
        return f.Ignored(nicknames=sorted(session.ignored))

    async def people(self, session: LocalSession, frame: f.People) -> f.PeopleList:
        # Minors see only minors, adults only adults, whatever filter was asked for.
        allowed_low, allowed_high = people_age_range(session.band)
        low, high = (
            AGE_BANDS_RANGE[frame.age_band] if frame.age_band else (allowed_low, allowed_high)
        )
        low, high = max(low, allowed_low), min(high, allowed_high)
        if low > high:
            return f.PeopleList(people=[])
        region = frame.region
        rows = await self.presence.people(
            min_age=low,
            max_age=high,
            gender=frame.gender,
            region_code=region,
            limit=self.settings.chat.people_page_size + 1,
        )
        people = [
            person_of(row)
            for row in rows
            if row.id != session.id and row.nickname_key not in session.ignored
        ]
        return f.PeopleList(people=people[: self.settings.chat.people_page_size])

    # -- housekeeping --------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        removed = await self.messages.purge_expired(self.clock())
        await self.fence.purge()
        return removed


def _visible(viewer: LocalSession, other: OnlineSession) -> bool:
    """Whether ``viewer`` may see ``other`` listed: minors and adults never see each other."""
    return other.id == viewer.id or same_side(viewer.band, age_band(other.age))


def _offender(session: LocalSession) -> Offender:
    return Offender(
        session=session.id, nickname=session.nickname, key=session.key, band=session.band
    )


def _author(session: LocalSession) -> Author:
    return Author(
        session_id=session.id,
        nickname=session.nickname,
        key=session.key,
        age=session.age,
        band=session.band,
    )
