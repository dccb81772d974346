"""Reports (EU DSA Art. 16): a chatter's ``report`` frame and the public form's notices.

A report names an item as ``kind:id`` (:class:`~causerie.domain.Target`): a room message, a
private message, a person, a room, a room's topic or a photo. A reporter may report only what
they could see: a room message of a room they are in or whose history they could read now, a
private message they sent or received, a person online on their side of the age line or the
author of a message they could see, a room (or its topic) open to their age band. Anything else
is answered like an item that does not exist (``report_target_not_found``), so that reports do
not reveal what exists.

Each report becomes a signal of a job in the one review queue, in its category's queue (child
safety first), with its context frozen in the item's history: the message and the 20 around it,
or the person's recent messages the reporter could see, or the room's latest messages; the
author's decisions and strikes are frozen with the report.

Abuse of reporting:

- one report per reporter and item: a second answers the first report's id;
- at most :data:`REPORTS_PER_HOUR` reports per reporter (nickname key) per hour, counted in the
  store so that every node and a reconnection see the same count;
- mass reports are grouped: reports of a person and reports of any message a person wrote share
  one item key, ``report:person:<author key>``, so while its job waits every further report of
  that person is one more signal of it (``signals`` counts them, its priority follows the most
  urgent category) and the new context joins its history. Once the job is decided, the next
  report opens a new one.

Trusted flaggers (marked in the console, :meth:`ReportStore.set_trusted`) rank with imminent
violence, right after child safety (:data:`TRUSTED_PRIORITY`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from causerie.chat.core import ChatCore, visible_to
from causerie.chat.hub import LocalSession
from causerie.domain import (
    AgeBand,
    Audience,
    Category,
    ContentRef,
    DomainError,
    Target,
    TargetKind,
)
from causerie.errors import ChatError, ErrorCode
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key
from causerie.store.messages import StoredMessage
from causerie.store.reports import NewReport, Notice, ReportStore, record_json
from causerie.store.review import (
    HistoryMessage,
    ItemKind,
    NewItem,
    NewJob,
    Source,
    priority_of,
    queue_of,
)
from causerie.store.safety import SafetyStore
from causerie.store.statements import StatementStore

# Abuse limits. Constants rather than settings for now (settings.py is the lead's): an hour's
# window, ten reports in it; a normal chatter reports a handful of things a day.
REPORT_WINDOW_SECONDS = 3600.0
REPORTS_PER_HOUR = 10
# Each side of a reported message in its frozen context: 10 before and 10 after.
CONTEXT_EACH_SIDE = 10
# A person's or a room's messages kept with a report of them.
CONTEXT_MESSAGES = 20
# The author's record frozen with a report: their last decisions, and strikes of the last month
# (the safety store keeps neither longer than its retention).
RECORD_DECISIONS = 20
RECORD_STRIKE_SECONDS = 30 * 24 * 3600.0
# Trusted flaggers come after child safety, with imminent violence (lower is more urgent).
TRUSTED_PRIORITY = 1
MAX_DETAILS_CHARS = 2000
# The public form's fields.
MAX_NOTICE_CHARS = 4000
NOTICE_CATEGORIES: tuple[str, ...] = (*(c.value for c in Category), "other")


@dataclass(frozen=True, slots=True)
class ReportParts:
    """What reports and statements need besides the chat core; built by the node."""

    reports: ReportStore
    statements: StatementStore
    # Read only: the reported author's decisions and strikes.
    safety: SafetyStore


@dataclass(frozen=True, slots=True)
class _Found:
    """A reported item the reporter could see, ready for the queue."""

    item: NewItem
    history: list[HistoryMessage]
    author_key: str | None


def _history(rows: list[StoredMessage]) -> list[HistoryMessage]:
    return [
        HistoryMessage(
            message_id=m.id,
            room_id=m.room_id,
            sender_nickname=m.sender_nickname,
            recipient_nickname=m.recipient_nickname,
            text=m.text,
            created_at=m.created_at,
        )
        for m in rows
    ]


def person_item_key(author_key: str) -> str:
    """The item key every report about one person shares (mass reports: one job)."""
    return f"report:person:{author_key}"


def parse_target(value: str) -> Target:
    """``kind:id``; a bare nickname (no colon: nicknames have none) is a person."""
    if ":" not in value and value:
        return Target(TargetKind.PERSON, value)
    try:
        return Target.parse(value)
    except DomainError as error:
        raise ChatError(ErrorCode.INVALID_FIELD, str(error), field="target") from None


def parse_reason(value: str) -> Category | None:
    """A policy category, or None for "other"."""
    if value == "other":
        return None
    try:
        return Category(value)
    except ValueError:
        choices = ", ".join(NOTICE_CATEGORIES)
        raise ChatError(
            ErrorCode.INVALID_FIELD, f"a reason is one of {choices}", field="reason"
        ) from None


def _not_found(target: Target) -> ChatError:
    return ChatError(
        ErrorCode.REPORT_TARGET_NOT_FOUND,
        f"there is nothing you could see at {str(target)[:80]!r}",
        field="target",
    )


class Reports:
    def __init__(self, core: ChatCore, parts: ReportParts) -> None:
        self.core = core
        self.store = parts.reports
        self.safety = parts.safety

    async def report(
        self, session: LocalSession, target: str, reason: str, details: str, ref: str | None
    ) -> f.Reported:
        """Check, dedupe, rate-limit and queue one report; answer its id."""
        parsed = parse_target(target.strip())
        category = parse_reason(reason)
        details = details.strip()
        if len(details) > MAX_DETAILS_CHARS:
            raise ChatError(
                ErrorCode.INVALID_FIELD,
                f"details have at most {MAX_DETAILS_CHARS} characters",
                field="details",
            )
        found = await self._find(session, parsed)
        # Persons are reported under their key, so that "Zoé" and "zoe" are one item.
        normal = (
            f"person:{found.author_key}"
            if parsed.kind is TargetKind.PERSON and found.author_key is not None
            else str(parsed)
        )
        first = await self.store.existing(session.key, normal)
        if first is not None:
            return f.Reported(report=first, ref=ref)
        now = self.core.clock()
        await self._check_rate(session.key, now)
        trusted = await self.store.is_trusted(session.key)
        priority = priority_of(category)
        if trusted:
            priority = min(priority, TRUSTED_PRIORITY)
        job = NewJob(
            queue=queue_of(category),
            priority=priority,
            source=Source.REPORT,
            kind="trusted_report" if trusted else "report",
            reason=f"{reason} ({parsed.kind.value}): {details}" if details else reason,
            category=category,
        )
        record = "{}"
        if found.author_key is not None:
            record = await self._author_record(found.author_key, now)
        added = await self.store.add(
            NewReport(
                reporter_key=session.key,
                reporter_session=session.id,
                reporter_nickname=session.nickname,
                target=normal,
                reason=reason,
                details=details,
            ),
            found.item,
            job,
            now=now,
            history=found.history,
            author_record=record,
        )
        return f.Reported(report=added.report_id, ref=ref)

    async def _check_rate(self, reporter_key: str, now: float) -> None:
        since = now - REPORT_WINDOW_SECONDS
        if await self.store.count_since(reporter_key, since) < REPORTS_PER_HOUR:
            return
        oldest = await self.store.oldest_since(reporter_key, since)
        wait = max(1, int((oldest or now) + REPORT_WINDOW_SECONDS - now))
        raise ChatError(
            ErrorCode.RATE_LIMITED_REPORTS,
            f"at most {REPORTS_PER_HOUR} reports an hour: try again in {wait} s",
            retry_after=wait,
        )

    async def _author_record(self, author_key: str, now: float) -> str:
        decisions = await self.safety.decisions(author_key=author_key, limit=RECORD_DECISIONS)
        strikes = await self.safety.strikes_since(author_key, now - RECORD_STRIKE_SECONDS)
        return record_json(((d.id, d.created_at, d.action, d.category) for d in decisions), strikes)

    # -- what the reporter could see --------------------------------------------------------------

    async def _find(self, session: LocalSession, target: Target) -> _Found:
        kind = target.kind
        if kind in (TargetKind.MESSAGE, TargetKind.PRIVATE_MESSAGE):
            try:
                message_id = int(target.id)
            except ValueError:
                raise _not_found(target) from None
            message = await self.core.messages.get(message_id)
            return await self._message(session, target, message, ItemKind(kind.value))
        if kind is TargetKind.PHOTO:
            carried = await self.store.message_of_photo(target.id[:40])
            message = await self.core.messages.get(carried) if carried is not None else None
            return await self._message(session, target, message, ItemKind.PHOTO)
        if kind is TargetKind.PERSON:
            return await self._person(session, target)
        return await self._room(session, target)

    def _may_read_room(self, session: LocalSession, room_id: str, audience: str) -> bool:
        return room_id in session.rooms or Audience(audience).admits(session.band)

    async def _message(
        self,
        session: LocalSession,
        target: Target,
        message: StoredMessage | None,
        kind: ItemKind,
    ) -> _Found:
        core = self.core
        if message is None:
            raise _not_found(target)
        private = message.room_id is None
        if (kind is ItemKind.MESSAGE and private) or (kind is ItemKind.PRIVATE and not private):
            raise _not_found(target)
        if private:
            if session.id not in (message.sender_session, message.recipient_session):
                raise _not_found(target)
        else:
            assert message.room_id is not None
            room = await core.rooms.get(message.room_id)
            # History is what a joiner reads: the visible window of a room open to them.
            in_window = message.created_at > core.clock() - core.visible_seconds
            if room is None or not (
                message.room_id in session.rooms
                or (in_window and Audience(room.audience).admits(session.band))
            ):
                raise _not_found(target)
        author_key = nickname_key(message.sender_nickname)
        if author_key == session.key:
            raise ChatError(
                ErrorCode.REPORT_TARGET_NOT_FOUND, "you cannot report yourself", field="target"
            )
        author = await core.presence.by_key(author_key)
        around = await core.messages.around(message.id, CONTEXT_EACH_SIDE, CONTEXT_EACH_SIDE)
        content = ContentRef.message(message.id, private=private)
        item = NewItem(
            kind=kind,
            key=person_item_key(author_key),
            author_key=author_key,
            author_nickname=message.sender_nickname,
            text=message.text,
            author_session=message.sender_session,
            author_band=AgeBand.of_age(author.age) if author is not None else None,
            room_id=message.room_id,
            recipient_key=(
                nickname_key(message.recipient_nickname) if message.recipient_nickname else None
            ),
            place=message.room_id or f"@{message.recipient_nickname or ''}",
            content_id=str(content),
            signals=("report",),
        )
        return _Found(item=item, history=_history(around or [message]), author_key=author_key)

    async def _person(self, session: LocalSession, target: Target) -> _Found:
        core = self.core
        key = nickname_key(target.id[:40])
        if key == session.key:
            raise ChatError(
                ErrorCode.REPORT_TARGET_NOT_FOUND, "you cannot report yourself", field="target"
            )
        online = await core.presence.by_key(key)
        nickname = online.nickname if online is not None else target.id[:40]
        seen = await self.store.messages_by(
            nickname,
            rooms=sorted(session.rooms),
            session_id=session.id,
            since=core.clock() - core.visible_seconds,
            limit=CONTEXT_MESSAGES,
        )
        seen = [m for m in seen if nickname_key(m.sender_nickname) == key]
        listed = online is not None and visible_to(session, online)
        if not listed and not seen:
            raise _not_found(target)
        item = NewItem(
            kind=ItemKind.PERSON,
            key=person_item_key(key),
            author_key=key,
            author_nickname=online.nickname if online is not None else seen[-1].sender_nickname,
            author_session=online.id if online is not None else None,
            author_band=AgeBand.of_age(online.age) if online is not None else None,
            signals=("report",),
        )
        return _Found(item=item, history=seen, author_key=key)

    async def _room(self, session: LocalSession, target: Target) -> _Found:
        core = self.core
        room = await core.rooms.get(target.id[:80])
        if room is None or not self._may_read_room(session, room.id, room.audience):
            raise _not_found(target)
        topic = target.kind is TargetKind.TOPIC
        recent = await core.messages.recent_in_room(
            room.id, core.clock() - core.visible_seconds, CONTEXT_MESSAGES
        )
        host = room.host_key or ""
        item = NewItem(
            kind=ItemKind.TOPIC if topic else ItemKind.ROOM_NAME,
            key=f"report:{target.kind.value}:{room.id}",
            author_key=host,
            author_nickname=host[:40],
            text=room.topic if topic else room.name,
            room_id=room.id,
            place=room.id,
            signals=("report",),
        )
        return _Found(item=item, history=_history(recent), author_key=host or None)

    # -- the public form ----------------------------------------------------------------------

    async def notice(
        self,
        *,
        location: str,
        explanation: str,
        category: str,
        name: str,
        email: str,
        good_faith: bool,
    ) -> Notice:
        """A notice from the public ``/report`` form, as a review job (source ``notice``).

        Its item is the notice itself (kind ``person`` with no author: the form cannot say who
        wrote what); the moderator reads where and why and finds the content.
        """
        picked = parse_reason(category)
        now = self.core.clock()
        text = f"{location}\n\n{explanation}"
        job = NewJob(
            queue=queue_of(picked),
            priority=priority_of(picked),
            source=Source.NOTICE,
            kind="notice",
            reason=f"{category}: {explanation}",
            category=picked,
        )
        # Every notice is its own job: the key is unique, public notices are not merged.
        item = NewItem(
            kind=ItemKind.PERSON,
            key=f"notice:{uuid.uuid4().hex}",
            author_key="",
            author_nickname="",
            text=text,
            place=location[:80],
            signals=("notice",),
        )
        return await self.store.add_notice(
            location=location,
            explanation=explanation,
            category=category,
            name=name,
            email=email,
            good_faith=good_faith,
            item=item,
            job=job,
            now=now,
        )


__all__ = [
    "NOTICE_CATEGORIES",
    "REPORTS_PER_HOUR",
    "ReportParts",
    "Reports",
    "parse_reason",
    "parse_target",
    "person_item_key",
]
