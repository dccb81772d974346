"""Entering and leaving the site: identity, the minors fence's admission, presence, retention."""

from __future__ import annotations

import secrets

from causerie.chat.core import ChatCore, person_of
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession, Outbox
from causerie.domain import AgeBand, ContentKind
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.verdict import Author, Subject
from causerie.protocol import frames as f
from causerie.protocol.identity import Identity, check_identity
from causerie.store.presence import NicknameTaken, OnlineSession


class Entry:
    def __init__(self, core: ChatCore) -> None:
        self.core = core

    async def enter(
        self, frame: f.Enter, outbox: Outbox, peer: Peer
    ) -> tuple[LocalSession, f.Welcome]:
        core = self.core
        fence = core.moderation.fence
        try:
            identity: Identity = check_identity(
                frame.nickname,
                frame.age,
                frame.gender,
                frame.postal_code,
                reserved_names_file=core.settings.chat.reserved_names_file,
            )
        except ChatError as error:
            if error.code == ErrorCode.AGE_TOO_YOUNG:
                await fence.refused_too_young(frame.age, frame.device, peer.ip)
            raise
        # Coming back from the same device or address under an older age keeps the younger one.
        admission = await fence.admit(identity.age, frame.device, peer.ip)
        age = admission.age
        band = AgeBand.of_age(age)
        verified = False
        if frame.age_token is not None:
            await fence.check_age_token(frame.age_token, band)
            verified = True
        session_id = secrets.token_urlsafe(18)
        author = Author(
            session_id=session_id, nickname=identity.nickname, key=identity.key, age=age, band=band
        )
        verdict = await core.moderation.check(
            Subject(kind=ContentKind.NICKNAME, text=identity.nickname, author=author)
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
            node_id=core.node_id,
        )
        now = core.clock()
        try:
            await core.presence.add_session(row, now)
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
        core.hub.attach(local)
        await fence.entered(session_id, admission, band, verified=verified)
        await core.traffic.connection_opened(session_id, identity.nickname, peer, now)
        welcome = f.Welcome(
            session=session_id,
            me=person_of(local),
            age_band=band,
            visible_hours=core.settings.chat.visible_hours,
            max_message_chars=core.settings.limits.max_message_chars,
            age_notice=admission.notice,
        )
        return local, welcome

    async def announce_departures(self, departures: list[tuple[str, str]]) -> None:
        """Tell rooms that chatters of a node found dead are gone."""
        for room, nickname in departures:
            await self.core.publish(f.MemberLeft(room=room, nickname=nickname), room=room)

    async def exit(self, session: LocalSession) -> None:
        """Take a chatter offline and tell the rooms they were in."""
        core = self.core
        core.hub.detach(session.id)
        rooms = await core.presence.remove_session(session.id)
        for room in rooms:
            await core.publish(f.MemberLeft(room=room, nickname=session.nickname), room=room)
        await core.traffic.connection_closed(session.id, core.clock())
        await core.moderation.fence.left(session.id, session.age, session.band)

    async def verify_age(self, session: LocalSession, token: str, ref: str | None) -> f.AgeVerified:
        """Accept an age verification token: adults-only rooms open to this session."""
        await self.core.moderation.fence.verify(session.id, token, session.band)
        return f.AgeVerified(ref=ref)
