"""The chat service: every chat action, split by use case around one delivery path.

This is the one path every client takes (web, Python client, any future gateway): a message
cannot reach anyone without going through :class:`~causerie.chat.delivery.Delivery`, which asks
the one moderation verdict (:class:`causerie.moderation.core.Moderation`, the minors fence
included) before storing, recording and publishing.

=================  ==========================================================================
use case           actions
=================  ==========================================================================
``entry``          enter, resume, logout, exit, verify_age, announce_departures
``membership``     list_rooms, join, leave, members, create_room, set_topic
``messaging``      say, send_private, typing, private_history (through ``delivery``)
``people``         people, ignore, unignore
``photos``         grant an upload, then send the photo (through ``delivery``)
``reports``        report (EU DSA Art. 16), the public form's notices
``statements``     list_statements, appeal (Art. 17, 20); automated statements on refusals
=================  ==========================================================================
"""

from __future__ import annotations

from causerie.chat.core import ChatCore
from causerie.chat.entry import Entry
from causerie.chat.membership import Membership
from causerie.chat.messaging import Messaging
from causerie.chat.people import People
from causerie.chat.photos import PhotoParts, Photos
from causerie.chat.reports import ReportParts, Reports
from causerie.chat.statements import Statements
from causerie.moderation.bans import EntryBans
from causerie.store.resume import ResumeStore

EMPTY_ROOM_GRACE_SECONDS = 600.0


class ChatService:
    """The use cases of one node, and their actions under the names the gateway calls."""

    def __init__(
        self,
        core: ChatCore,
        *,
        photos: PhotoParts,
        reports: ReportParts,
        resumes: ResumeStore,
    ) -> None:
        self.core = core
        self.entry = Entry(core, resumes, EntryBans(reports.safety, reports.statements))
        self.membership = Membership(core)
        self.delivery = self.membership.delivery
        self.messaging = Messaging(core, self.delivery)
        self.photos = Photos(core, self.delivery, photos)
        self.people_list = People(core)
        self.reports = Reports(core, reports)
        self.statements = Statements(core, reports.statements)
        # The delivery path issues a statement of reasons for each automated restriction.
        self.delivery.refused = self.statements.refused
        self.report = self.reports.report
        self.list_statements = self.statements.list
        self.appeal = self.statements.appeal
        self.enter = self.entry.enter
        self.resume = self.entry.resume
        self.logout = self.entry.logout
        self.exit = self.entry.exit
        self.verify_age = self.entry.verify_age
        self.announce_departures = self.entry.announce_departures
        self.list_rooms = self.membership.list_rooms
        self.join = self.membership.join
        self.leave = self.membership.leave
        self.members = self.membership.members
        self.create_room = self.membership.create_room
        self.set_topic = self.membership.set_topic
        self.say = self.messaging.say
        self.send_private = self.messaging.send_private
        self.typing = self.messaging.typing
        self.private_history = self.messaging.private_history
        self.people = self.people_list.people
        self.ignore = self.people_list.ignore
        self.unignore = self.people_list.unignore

    async def purge_expired(self) -> int:
        core = self.core
        removed = await core.messages.purge_expired(core.clock())
        # A chatter's room lives while someone is in it (and a while after it opened, so that
        # its host reloading the page finds it).
        for room_id in await core.rooms.remove_empty_user_rooms(
            core.clock() - EMPTY_ROOM_GRACE_SECONDS
        ):
            core.forget_room(room_id)
        await self.photos.purge(core.clock())
        await self.entry.resumes.purge(core.clock())
        await self.entry.bans.purge(core.clock())
        await core.moderation.fence.purge()
        return removed
