"""Rooms: the list, joining and leaving, members, rooms chatters open and their topics."""

from __future__ import annotations

from causerie.chat.core import (
    ChatCore,
    author_of,
    message_frame,
    person_of,
    room_info,
)
from causerie.chat.delivery import Delivery
from causerie.chat.hub import LocalSession
from causerie.chat.rooms import room_name_key, slugify
from causerie.domain import Audience, ContentKind, ConversationKey, Side
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.core import offender_of
from causerie.moderation.verdict import Subject
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key
from causerie.store.rooms import RoomExists, RoomRow
from causerie.store.trust import History
from causerie.trust.policy import RoomAccess, Say, room_access, teen_room_attempt


class Membership:
    def __init__(self, core: ChatCore) -> None:
        self.core = core
        self.delivery = Delivery(core, self.leave)

    async def list_rooms(self, session: LocalSession) -> f.RoomList:
        core = self.core
        # Counts, like member lists, only include the chatter's own side of the age line: an
        # adult does not learn how many minors sit in an all-ages room.
        low, high = session.band.visible_ages
        counts = await core.presence.counts(min_age=low, max_age=high)
        rows = await core.rooms.all()
        # Teen rooms are not even listed to adults, nor adults-only rooms to minors.
        return f.RoomList(
            rooms=[
                room_info(row, counts.get(row.id, 0))
                for row in rows
                if Audience(row.audience).admits(session.band)
            ]
        )

    async def check_may_enter(self, session: LocalSession, room: RoomRow) -> None:
        core = self.core
        fence = core.moderation.fence
        access = room_access(
            session.band,
            Audience(room.audience),
            verified=fence.is_verified(session.id),
            verification_required=fence.verification_required(session.id),
        )
        if access is RoomAccess.ALLOWED:
            return
        if access is RoomAccess.VERIFICATION_REQUIRED:
            raise ChatError(
                ErrorCode.AGE_VERIFICATION_REQUIRED, Say.VERIFICATION_REQUIRED, room=room.id
            )
        if access is RoomAccess.TEENS_ONLY:
            # Teen rooms are not listed to adults: asking for one is an attempt, and counts.
            ruling = teen_room_attempt(adult_factor=core.settings.minors.adult_signal_factor)
            try:
                await fence.examine(
                    ruling,
                    conversation_key=ConversationKey.room(room.id, session.key),
                    kind="teen_room_attempt",
                    offender=offender_of(author_of(session)),
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
        core = self.core
        wanted = list(dict.fromkeys(room_ids))
        rows = [await core.room(room_id) for room_id in wanted]
        for row in rows:
            await self.check_may_enter(session, row)
        limit = core.settings.limits.max_rooms_per_session
        if len(session.rooms | set(wanted)) > limit:
            raise ChatError(
                ErrorCode.TOO_MANY_ROOMS, f"you can be in at most {limit} rooms at once"
            )
        added = set(await core.presence.join(session.id, wanted, core.clock()))
        since = core.clock() - core.visible_seconds
        replies: list[f.Joined] = []
        for row in rows:
            count = await core.presence.member_count(row.id)
            members, members_next = await self._member_page(session, row.id, after="")
            if row.id in added:
                await self._announce_arrival(session, row)
            core.hub.subscribe(session, row.id)
            history = await core.messages.recent_in_room(
                row.id, since, core.settings.chat.history_on_join
            )
            replies.append(
                f.Joined(
                    room=room_info(row, count),
                    members=members,
                    members_next=members_next,
                    history=[
                        message_frame(m)
                        for m in history
                        # Photos are not replayed: they went to the members of the moment.
                        if m.photo_id is None
                        and nickname_key(m.sender_nickname) not in session.ignored
                    ],
                )
            )
        return replies

    async def _announce_arrival(self, session: LocalSession, room: RoomRow) -> None:
        frame = f.MemberJoined(room=room.id, person=person_of(session))
        # One envelope per room, whatever its size (one per member made filling a room of
        # 1,000 quadratic). In an all-ages room minors are announced to minors and adults to
        # adults only: each node's hub keeps the frame from its members on the other side.
        # A teen or adults-only room holds one side only, which changes nothing there.
        await self.core.publish(
            frame,
            room=room.id,
            sender_key=session.key,
            exclude_session=session.id,
            side=Side.of(session.band).value,
        )

    async def leave(self, session: LocalSession, room_ids: list[str]) -> list[f.Left]:
        core = self.core
        left = await core.presence.leave(session.id, room_ids)
        for room in room_ids:
            core.hub.leave_room(session, room)
        for room in left:
            await core.publish(f.MemberLeft(room=room, nickname=session.nickname), room=room)
        return [f.Left(room=room) for room in room_ids]

    async def members(self, session: LocalSession, room_id: str, after: str) -> f.MemberList:
        room = await self.core.room(room_id)
        await self.check_may_enter(session, room)
        members, following = await self._member_page(session, room_id, after=after)
        return f.MemberList(room=room_id, members=members, after=after, next=following)

    async def _member_page(
        self, session: LocalSession, room_id: str, *, after: str
    ) -> tuple[list[f.Person], str | None]:
        """A page of the members ``session`` may see (minors and adults never see each other),
        and the ``after`` of the next page, None when this one is the last."""
        size = self.core.settings.chat.members_page_size
        low, high = session.band.visible_ages
        rows = await self.core.presence.members(
            room_id, min_age=low, max_age=high, after=after, limit=size + 1
        )
        page = rows[:size]
        return [person_of(m) for m in page], page[-1].nickname_key if len(rows) > size else None

    async def create_room(self, session: LocalSession, name: str, topic: str) -> f.Joined:
        core = self.core
        name = " ".join(name.split())
        if not 3 <= len(name) <= 40:
            raise ChatError(ErrorCode.ROOM_NAME_INVALID, "a room name has 3 to 40 characters")
        slug = slugify(name)
        if len(slug) < 3:
            raise ChatError(
                ErrorCode.ROOM_NAME_INVALID, "a room name needs at least 3 letters or digits"
            )
        author = author_of(session)
        for kind, text in ((ContentKind.ROOM_NAME, name), (ContentKind.TOPIC, topic)):
            if text:
                await self.delivery.screen(
                    session,
                    Subject(kind=kind, text=text, author=author),
                    refused=ErrorCode.ROOM_NAME_REFUSED,
                )
        audience = Audience.for_creator(session.band)
        if (
            audience is Audience.ADULTS
            and core.settings.minors.adults_only_requires_verification
            and not core.moderation.fence.is_verified(session.id)
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
            await core.rooms.create(row, core.clock())
        except RoomExists:
            raise ChatError(
                ErrorCode.ROOM_EXISTS, f"a room named like {name!r} exists already"
            ) from None
        return (await self.join(session, [row.id]))[0]

    async def set_topic(self, session: LocalSession, room_id: str, topic: str) -> f.Topic:
        core = self.core
        room = await core.room(room_id)
        if room.host_key != session.key:
            raise ChatError(ErrorCode.NOT_ROOM_HOST, "only the room's host can change its topic")
        topic = " ".join(topic.split())
        await self.delivery.screen(
            session,
            Subject(kind=ContentKind.TOPIC, text=topic, author=author_of(session), room=room),
            refused=ErrorCode.CONTENT_BLOCKED,
        )
        await core.rooms.set_topic(room_id, topic)
        core.forget_room(room_id)
        frame = f.Topic(room=room_id, topic=topic, by=session.nickname)
        await core.publish(frame, room=room_id, exclude_session=session.id)
        return frame
