"""Entering and leaving the site: identity, the minors fence's admission, presence, retention.

A chatter enters once with a nickname, age, gender and postal code; the ``welcome`` carries a
resume token. After a reload or a dropped connection the client sends ``resume`` with that token
and the same device token, and comes back as the same chatter, in the same rooms, within
``chat.resume_seconds`` of the connection ending. A token works once (the new ``welcome`` has
the next one) and ``logout`` revokes it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from causerie.chat.core import ChatCore, person_of
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession, Outbox
from causerie.domain import AgeBand, ContentKind
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.bans import EntryBans
from causerie.moderation.verdict import Author, Subject
from causerie.protocol import frames as f
from causerie.protocol.identity import check_identity, nickname_key
from causerie.store.database import Write
from causerie.store.presence import NicknameTaken, OnlineSession
from causerie.store.resume import ResumeRecord, ResumeStore, token_hash
from causerie.trust.fence import Admission

log = logging.getLogger(__name__)

RESUME_REFUSED = "This session cannot be resumed (it ended or expired): enter again."


@dataclass(frozen=True, slots=True)
class Who:
    """A chatter's identity as entry admits it, from an ``enter`` or a resume token."""

    nickname: str
    key: str
    age: int
    gender: str
    department: str
    region_code: str


class Entry:
    def __init__(self, core: ChatCore, resumes: ResumeStore, bans: EntryBans) -> None:
        self.core = core
        self.resumes = resumes
        # Bans on the nickname key, the device and a chosen address (moderation/bans.py).
        self.bans = bans

    async def enter(
        self, frame: f.Enter, outbox: Outbox, peer: Peer
    ) -> tuple[LocalSession, f.Welcome]:
        core = self.core
        fence = core.moderation.fence
        try:
            identity = check_identity(
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
        who = Who(
            nickname=identity.nickname,
            key=identity.key,
            age=identity.age,
            gender=identity.gender,
            department=identity.place.department,
            region_code=identity.place.region.code,
        )
        return await self._admit(who, frame.device, frame.age_token, outbox, peer, ())

    async def resume(
        self, frame: f.Resume, outbox: Outbox, peer: Peer
    ) -> tuple[LocalSession, f.Welcome, list[str]]:
        """Come back as the chatter of a resume token; the rooms to join again."""
        core = self.core
        record = await self.resumes.take(token_hash(frame.token), core.clock())
        device_key, _ = core.moderation.fence.memory_keys(frame.device, peer.ip)
        if record is None or device_key is None or record.device_key != device_key:
            raise ChatError(ErrorCode.RESUME_REFUSED, RESUME_REFUSED)
        await self._take_over(record.session_id, nickname_key(record.nickname))
        who = Who(
            nickname=record.nickname,
            key=nickname_key(record.nickname),
            age=record.age,
            gender=record.gender,
            department=record.department,
            region_code=record.region_code,
        )
        local, welcome = await self._admit(who, frame.device, None, outbox, peer, record.sessions)
        return local, welcome, list(record.rooms)

    async def _take_over(self, old_session: str, key: str) -> None:
        """The old connection may not be known dead yet (a phone changing networks): its
        session ends now, so that the chatter comes back under their own nickname."""
        core = self.core
        online = await core.presence.by_key(key)
        if online is None or online.id != old_session:
            return
        await core.disconnect(
            old_session, ErrorCode.SESSION_RESUMED, "this session goes on in another connection"
        )
        for room in await core.presence.remove_session(old_session):
            await core.publish(f.MemberLeft(room=room, nickname=online.nickname), room=room)

    async def _admit(
        self,
        who: Who,
        device: str | None,
        age_token: str | None,
        outbox: Outbox,
        peer: Peer,
        earlier_sessions: tuple[str, ...],
    ) -> tuple[LocalSession, f.Welcome]:
        core = self.core
        fence = core.moderation.fence
        # Coming back from the same device under an older age keeps the younger one.
        admission: Admission = await fence.admit(who.age, device, peer.ip)
        await self.bans.check(who.key, admission.device_key, admission.address_key, core.clock())
        age = admission.age
        band = AgeBand.of_age(age)
        verified = False
        if age_token is not None:
            await fence.check_age_token(age_token, band)
            verified = True
        session_id = secrets.token_urlsafe(18)
        author = Author(
            session_id=session_id, nickname=who.nickname, key=who.key, age=age, band=band
        )
        verdict = await core.moderation.check(
            Subject(kind=ContentKind.NICKNAME, text=who.nickname, author=author)
        )
        if not verdict.deliver:
            raise ChatError(
                verdict.code or ErrorCode.NICKNAME_REFUSED,
                verdict.message or "this nickname is not allowed here; choose another",
                field="nickname",
            )
        row = OnlineSession(
            id=session_id,
            nickname=who.nickname,
            nickname_key=who.key,
            age=age,
            gender=who.gender,
            department=who.department,
            region_code=who.region_code,
            node_id=core.node_id,
        )
        now = core.clock()
        local = LocalSession(
            id=session_id,
            nickname=who.nickname,
            key=who.key,
            age=age,
            band=band,
            gender=who.gender,
            department=who.department,
            region_code=who.region_code,
            outbox=outbox,
            earlier_sessions=earlier_sessions,
        )
        resume_token, resume_writes = self._resume_token(local, admission, now)
        # The main database's rows of an entry in the claim's transaction: one commit and one
        # fsync instead of three, and a claim that fails leaves none of them (docs/benchmarks.md).
        writes = [
            self.bans.entry_write(
                session_id, who.key, admission.device_key, admission.address_key, now
            ),
            *resume_writes,
        ]
        try:
            await core.presence.add_session(row, now, with_writes=writes)
            core.hub.attach(local)
            await fence.entered(session_id, admission, band, verified=verified)
            await core.traffic.connection_opened(session_id, who.nickname, peer, now)
        except NicknameTaken:
            raise ChatError(
                ErrorCode.NICKNAME_TAKEN,
                f"someone online already uses a nickname like {who.nickname!r}",
                field="nickname",
            ) from None
        except BaseException:
            # Abandoned once the nickname may have been claimed (the connection closed, a store
            # failed, its announcement was cut short): nobody else would take it offline, and
            # the nickname would stay taken by nobody. Taking an absent session offline is
            # harmless.
            await asyncio.shield(self._abandon(session_id))
            raise
        welcome = f.Welcome(
            session=session_id,
            me=person_of(local),
            age_band=band,
            visible_hours=core.settings.chat.visible_hours,
            max_message_chars=core.settings.limits.max_message_chars,
            age_notice=admission.notice,
            resume_token=resume_token,
        )
        return local, welcome

    async def _abandon(self, session_id: str) -> None:
        self.core.hub.detach(session_id)
        try:
            await self.core.presence.remove_session(session_id)
        except Exception:
            log.exception("abandoned entry %s: its session could not be taken offline", session_id)

    def _resume_token(
        self, session: LocalSession, admission: Admission, now: float
    ) -> tuple[str | None, list[Write]]:
        """A resume token, for a device the browser identifies (none without a device token),
        and the write that keeps it."""
        if admission.device_key is None:
            return None, []
        token = secrets.token_urlsafe(24)
        write = self.resumes.issue_write(
            ResumeRecord(
                token_hash=token_hash(token),
                session_id=session.id,
                device_key=admission.device_key,
                nickname=session.nickname,
                age=session.age,
                gender=session.gender,
                department=session.department,
                region_code=session.region_code,
                sessions=(*session.earlier_sessions, session.id),
                rooms=(),
                # While the session lives the token is usable; its exit sets the grace period.
                expires_at=now + 86_400,
            )
        )
        return token, [write]

    async def announce_departures(self, departures: list[tuple[str, str]]) -> None:
        """Tell rooms that chatters of a node found dead are gone."""
        for room, nickname in departures:
            await self.core.publish(f.MemberLeft(room=room, nickname=nickname), room=room)

    async def exit(self, session: LocalSession) -> None:
        """Take a chatter offline and tell the rooms they were in; the resume token keeps them
        for ``chat.resume_seconds``."""
        core = self.core
        rooms = sorted(session.rooms)
        core.hub.detach(session.id)
        left = await core.presence.remove_session(session.id)
        for room in left:
            await core.publish(f.MemberLeft(room=room, nickname=session.nickname), room=room)
        now = core.clock()
        await self.resumes.left(
            session.id,
            age=session.age,
            rooms=rooms,
            expires_at=now + core.settings.chat.resume_seconds,
        )
        await core.traffic.connection_closed(session.id, now)
        await core.moderation.fence.left(session.id, session.age, session.band)

    async def logout(self, session: LocalSession) -> None:
        """The chatter left the site on purpose: nobody can resume this session."""
        await self.resumes.revoke(session.id)

    async def verify_age(self, session: LocalSession, token: str, ref: str | None) -> f.AgeVerified:
        """Accept an age verification token: adults-only rooms open to this session."""
        await self.core.moderation.fence.verify(session.id, token, session.band)
        return f.AgeVerified(ref=ref)
