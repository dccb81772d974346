"""People: the people list, ignoring someone."""

from __future__ import annotations

from causerie.chat.core import ChatCore, person_of
from causerie.chat.hub import LocalSession
from causerie.domain import AgeBand
from causerie.errors import ChatError, ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key


class People:
    def __init__(self, core: ChatCore) -> None:
        self.core = core

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
        core = self.core
        # Minors see only minors, adults only adults, whatever filter was asked for.
        allowed_low, allowed_high = session.band.visible_ages
        low, high = AgeBand(frame.age_band).ages if frame.age_band else (allowed_low, allowed_high)
        low, high = max(low, allowed_low), min(high, allowed_high)
        if low > high:
            return f.PeopleList(people=[])
        page = core.settings.chat.people_page_size
        rows = await core.presence.people(
            min_age=low, max_age=high, gender=frame.gender, region_code=frame.region, limit=page + 1
        )
        people = [
            person_of(row)
            for row in rows
            if row.id != session.id and row.nickname_key not in session.ignored
        ]
        return f.PeopleList(people=people[:page])
