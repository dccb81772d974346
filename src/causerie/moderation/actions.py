"""The decisions a moderator takes, one path for the console and the command line.

Each decision is checked (the staff member's role may see the job's queue and take this
action; the job is theirs to decide), then done: the review job is closed through the one
review queue, the effect goes through the chat core (a ``removed`` frame, a disconnect) and the
safety store (sanctions, which every node's policy then refreshes), a statement of reasons (EU
DSA Art. 17) is issued and pushed to the chatter, and the staff audit log gets the entry. An
override of an automated decision (dismissing what the screen refused, removing what it let
through, reversing it on appeal) appends a labelled example to ``safety.overrides_file``
(default :data:`OVERRIDES_FILE`), kept for retraining (no training script reads it yet).

This module never imports the chat package (the layering contract): what it needs of the chat
core, of the statements' delivery and of the reports is written here as protocols that
:class:`causerie.chat.core.ChatCore`, ``causerie.chat.statements.Statements`` and
``causerie.store.reports.ReportStore`` satisfy.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from causerie.domain import Category, ContentKind, ContentRef, JobStatus, ReviewQueue
from causerie.errors import ErrorCode
from causerie.moderation.bans import ADDRESS_BAN_MAX_MINUTES, with_keys
from causerie.protocol import frames as f
from causerie.protocol.identity import nickname_key
from causerie.settings import SafetySettings
from causerie.store.messages import MessageStore, StoredMessage
from causerie.store.presence import PresenceStore
from causerie.store.review import Job, JobDetail, ReviewStore, Source
from causerie.store.rooms import RoomStore
from causerie.store.safety import ENTRY_KEYS_SECONDS, SafetyStore, SanctionRow
from causerie.store.staff import Role
from causerie.store.statements import Statement, StatementError, StatementStore, new_statement
from causerie.store.trust import TrustStore

# Where moderators' overrides of automated decisions are appended, one JSON object a line:
# {"text", "label", "category", "source", "job_id", "at"}; a node's is
# ``safety.overrides_file``, whose default this is.
OVERRIDES_FILE: Path = SafetySettings.model_fields["overrides_file"].default

DEFAULT_MUTE_MINUTES = 60
DEFAULT_SUSPEND_MINUTES = 24 * 60
MAX_MINUTES = 366 * 24 * 60
BULK_WINDOW_SECONDS = 15 * 60
BULK_MAX_MESSAGES = 500
# Automated sources: a human decision against their outcome is an override.
AUTOMATED_SOURCES = frozenset(
    {Source.RULES, Source.MODEL, Source.HOLD, Source.FENCE, Source.FREEZE, Source.AGE_CLAIM}
)


class Decision(StrEnum):
    """What a moderator can decide on a review job."""

    DISMISS = "dismiss"
    RELEASE = "release"
    UNFREEZE = "unfreeze"
    REMOVE = "remove"
    WARN = "warn"
    MUTE = "mute"
    KICK = "kick"
    SUSPEND = "suspend"
    BAN = "ban"
    REFER = "refer"


_REVIEWERS = frozenset({Role.MODERATOR, Role.CHILD_SAFETY, Role.SENIOR})
ALLOWED: dict[Decision, frozenset[Role]] = {
    Decision.DISMISS: _REVIEWERS,
    Decision.RELEASE: _REVIEWERS,
    Decision.UNFREEZE: _REVIEWERS,
    Decision.REMOVE: _REVIEWERS,
    Decision.WARN: _REVIEWERS,
    Decision.MUTE: _REVIEWERS,
    Decision.KICK: _REVIEWERS,
    Decision.REFER: _REVIEWERS | {Role.LEGAL},
    Decision.SUSPEND: frozenset({Role.SENIOR}),
    Decision.BAN: frozenset({Role.SENIOR}),
}
# The statement's decision for each restriction; dismissals and referrals restrict nothing.
_STATEMENT_DECISION: dict[Decision, str] = {
    Decision.REMOVE: "removed",
    Decision.WARN: "warned",
    Decision.MUTE: "muted",
    Decision.KICK: "kicked",
    Decision.SUSPEND: "suspended",
    Decision.BAN: "banned",
}
# Categories whose content is illegal in itself (the DSA's "illegal content" ground); the rest
# is refused as incompatible with the terms of service.
_ILLEGAL = frozenset(
    {
        Category.CHILD_SAFETY,
        Category.DRUGS,
        Category.WEAPONS,
        Category.VIOLENCE,
        Category.HATE,
        Category.NON_CONSENT,
        Category.AMBUSH,
        Category.SCAM,
        Category.DOXXING,
    }
)
_HUMAN_SOURCES = frozenset({Source.REPORT, Source.NOTICE, Source.APPEAL, Source.MODERATOR})
_RESTRICTION_KIND = {"muted": "mute", "suspended": "ban", "banned": "ban"}


class ModerationError(Exception):
    """A refused decision; ``code`` is stable: forbidden, not_found, conflict, invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Actor:
    """The staff member acting."""

    name: str
    role: Role


# -- what this module needs of others, as protocols ----------------------------------------------


class RemovedImagesPort(Protocol):
    """Where removed photos' hashes go (:class:`causerie.photos.removed.RemovedImages`)."""

    async def removed(self, photo_id: str) -> bool: ...


class ChatPort(Protocol):
    """What the chat core does for moderators (:class:`causerie.chat.core.ChatCore`)."""

    async def publish(
        self,
        frame: f.ServerFrame,
        *,
        room: str | None = None,
        session: str | None = None,
        sender_key: str | None = None,
        exclude_session: str | None = None,
    ) -> None: ...

    async def disconnect(self, session_id: str, code: ErrorCode, message: str) -> None: ...


class Notifier(Protocol):
    """Pushes a statement to its chatter when online (``causerie.chat.statements.Statements``)."""

    async def notify(self, statement: Statement) -> object: ...


class SanctionCache(Protocol):
    """The policy's copy of sanctions (:class:`causerie.safety.pipeline.SafetyPipeline`)."""

    async def refresh_sanctions(self) -> None: ...


class Audit(Protocol):
    async def record(
        self, actor: str, action: str, target: str = "", outcome: str = "ok", **detail: Any
    ) -> int: ...


class Evidence(Protocol):
    """The evidence locker (:class:`causerie.legal.evidence.EvidenceLocker`)."""

    async def preserve_message(
        self, message_id: int, reason: Any, *, reference: str, context: int | None = None
    ) -> Any: ...


class Referrals(Protocol):
    """The legal workflow's intake (:meth:`causerie.legal.service.LegalService.refer`)."""

    async def refer(
        self,
        *,
        reference: str,
        referred_by: str,
        package: dict[str, Any],
        content_id: str,
        session_id: str,
        author: str,
    ) -> Any: ...


class Traffic(Protocol):
    """The retention log (:class:`causerie.legal.traffic.RetentionTrafficLog`)."""

    async def content_released(
        self, session_id: str, nickname: str, content_id: str, written_at: float
    ) -> None: ...


class Reporters(Protocol):
    """The reports store (``causerie.store.reports.ReportStore``)."""

    async def reporters_of(self, job_id: int) -> Sequence[Any]: ...

    async def set_trusted(self, reporter_key: str, trusted: bool) -> Any: ...


# -- values out -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    job_id: int
    decision: Decision
    statements: list[Statement] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    released: int | None = None
    override: bool = False


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    phrase: str
    authors: list[str]
    removed: list[int]
    statements: list[Statement]


_PARIS = ZoneInfo("Europe/Paris")


def zoned(at: float) -> dict[str, str | float]:
    """A moment as epoch seconds, UTC and Europe/Paris (with its offset)."""
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return {
        "epoch": at,
        "utc": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "europe_paris": moment.astimezone(_PARIS).isoformat(timespec="seconds"),
    }


def reporter_key(reporter: Any) -> str:
    """A reporter row's nickname key (rows carry ``reporter_key``; plain keys pass through)."""
    return str(getattr(reporter, "reporter_key", reporter))


def _ground(category: Category | None) -> str:
    return "illegal" if category in _ILLEGAL else "incompatible"


def _ground_text(category: Category | None) -> str:
    name = category.value if category is not None else "other"
    if category in _ILLEGAL:
        return f"Illegal content ({name}); terms of service, rules on {name}"
    return f"Terms of service: rules on {name}"


class ModerationActions:
    """Every decision a staff member takes on the chat; see the module's docstring."""

    def __init__(
        self,
        *,
        review: ReviewStore,
        safety: SafetyStore,
        statements: StatementStore,
        trust: TrustStore,
        messages: MessageStore,
        presence: PresenceStore,
        rooms: RoomStore,
        chat: ChatPort,
        notifier: Notifier,
        sanctions: SanctionCache | None,
        audit: Audit,
        evidence: Evidence | None,
        reports: Reporters | None,
        traffic: Traffic,
        referrals: Referrals | None,
        visible_seconds: float,
        overrides_file: Path = OVERRIDES_FILE,
        removed_images: RemovedImagesPort | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.removed_images = removed_images
        self.review = review
        self.safety = safety
        self.statements = statements
        self.trust = trust
        self.messages = messages
        self.presence = presence
        self.rooms = rooms
        self.chat = chat
        self.notifier = notifier
        self.sanctions = sanctions
        self.audit = audit
        self.evidence = evidence
        self.reports = reports
        self.traffic = traffic
        self.referrals = referrals
        self.visible_seconds = visible_seconds
        self.overrides_file = overrides_file
        self.clock = clock

    # -- checks ---------------------------------------------------------------------------------

    async def _refuse(self, actor: Actor, action: str, target: str, why: str) -> ModerationError:
        await self.audit.record(actor.name, action, target, "denied", why=why)
        return ModerationError("forbidden", why)

    async def job(self, actor: Actor, job_id: int) -> JobDetail:
        """A job the actor's role may see; a child-safety job only for child-safety staff."""
        detail = await self.review.job(job_id)
        if detail is None:
            raise ModerationError("not_found", f"there is no job {job_id}")
        if detail.job.queue not in actor.role.queues:
            raise await self._refuse(
                actor, "job.view", f"job:{job_id}", f"{actor.role.value} cannot see this queue"
            )
        return detail

    def queues(self, actor: Actor, queue: ReviewQueue | None = None) -> list[ReviewQueue]:
        visible = sorted(actor.role.queues - {ReviewQueue.APPEALS})
        if queue is None:
            return visible
        return [queue] if queue in visible else []

    async def claim(self, actor: Actor, job_id: int) -> Job:
        detail = await self.job(actor, job_id)
        if not actor.role.reviews and actor.role is not Role.LEGAL:
            raise await self._refuse(actor, "claim", f"job:{job_id}", "this role takes no jobs")
        if not await self.review.claim(job_id, actor.name, now=self.clock()):
            holder = detail.job.claimed_by or "someone"
            raise ModerationError("conflict", f"job {job_id} is claimed by {holder} or decided")
        await self.audit.record(actor.name, "claim", f"job:{job_id}")
        claimed = await self.review.job(job_id)
        assert claimed is not None
        return claimed.job

    async def next_job(self, actor: Actor, queue: ReviewQueue | None = None) -> Job | None:
        job = await self.review.next_job(actor.name, self.queues(actor, queue), now=self.clock())
        if job is not None:
            await self.audit.record(actor.name, "claim", f"job:{job.id}", via="next")
        return job

    async def unclaim(self, actor: Actor, job_id: int) -> bool:
        done = await self.review.release_claim(job_id, actor.name)
        if done:
            await self.audit.record(actor.name, "unclaim", f"job:{job_id}")
        return done

    # -- decisions ------------------------------------------------------------------------------

    async def decide(
        self,
        actor: Actor,
        job_id: int,
        decision: Decision | str,
        *,
        minutes: float | None = None,
        note: str = "",
        address: bool = False,
    ) -> Outcome:
        """Take ``decision`` on a job the actor holds (or can claim now) and close it.

        A suspension or ban also holds the author's device; ``address`` (chosen by the
        moderator, never by default) holds their address too, for at most
        :data:`causerie.moderation.bans.ADDRESS_BAN_MAX_MINUTES`."""
        try:
            decision = Decision(decision)
        except ValueError:
            choices = ", ".join(d.value for d in Decision)
            raise ModerationError("invalid", f"unknown decision; choose among {choices}") from None
        target = f"job:{job_id}"
        detail = await self.job(actor, job_id)
        job = detail.job
        if actor.role not in ALLOWED[decision]:
            raise await self._refuse(
                actor, f"decide.{decision.value}", target, f"{actor.role.value} cannot {decision}"
            )
        if minutes is not None and not (0 < minutes <= MAX_MINUTES):
            raise ModerationError("invalid", f"minutes must be between 1 and {MAX_MINUTES}")
        if address and decision not in (Decision.SUSPEND, Decision.BAN):
            raise ModerationError("invalid", "only a suspension or a ban holds an address")
        if job.status is JobStatus.DECIDED:
            raise ModerationError("conflict", f"job {job_id} was decided already")
        now = self.clock()
        held = job.claimed_by == actor.name and (job.claim_expires_at or 0) > now
        if not held and not await self.review.claim(job_id, actor.name, now=now):
            raise ModerationError("conflict", f"job {job_id} is claimed by {job.claimed_by}")
        message = await self._message(job)
        self._check_applicable(decision, job, message)
        if not await self.review.decide(job_id, actor.name, decision.value, note, now=now):
            raise ModerationError("conflict", f"job {job_id} is no longer yours to decide")
        try:
            outcome = await self._apply(
                actor, detail, decision, message, minutes, note, now, address=address
            )
        except Exception as exc:
            await self.audit.record(
                actor.name, f"decide.{decision.value}", target, "failed", why=str(exc)[:200]
            )
            raise
        await self.audit.record(
            actor.name,
            f"decide.{decision.value}",
            target,
            queue=job.queue.value,
            category=job.category.value if job.category else None,
            source=job.source.value,
            minutes=minutes,
            address=address,
            statements=[s.id for s in outcome.statements],
            removed=outcome.removed,
            override=outcome.override,
            note=note[:200],
            waited_seconds=round(now - job.created_at, 3),
        )
        return outcome

    def _check_applicable(
        self, decision: Decision, job: Job, message: StoredMessage | None
    ) -> None:
        item = job.item
        if decision is Decision.REMOVE and message is None:
            raise ModerationError("invalid", "the message is not stored (expired or never shown)")
        if decision is Decision.RELEASE and (job.kind != "hold" or message is not None):
            raise ModerationError("invalid", "only a held message that was not shown is released")
        if decision is Decision.UNFREEZE and item.conversation_key is None:
            raise ModerationError("invalid", "this job is not about a conversation")

    async def _message(self, job: Job) -> StoredMessage | None:
        content = job.item.content
        message_id = content.message_id if content is not None else None
        return await self.messages.get(message_id) if message_id is not None else None

    async def _apply(
        self,
        actor: Actor,
        detail: JobDetail,
        decision: Decision,
        message: StoredMessage | None,
        minutes: float | None,
        note: str,
        now: float,
        *,
        address: bool = False,
    ) -> Outcome:
        job = detail.job
        item = job.item
        author = item.author_key
        removed: list[int] = []
        released: int | None = None
        until: float | None = None
        if decision is Decision.REMOVE:
            assert message is not None
            await self._remove(message)
            removed.append(message.id)
        elif decision is Decision.MUTE:
            until = now + (minutes or DEFAULT_MUTE_MINUTES) * 60
            await self._sanction(author, "mute", now, until, job, actor)
        elif decision is Decision.KICK:
            await self._disconnect(author, ErrorCode.KICKED, "a moderator removed you from chat")
        elif decision in (Decision.SUSPEND, Decision.BAN):
            default = DEFAULT_SUSPEND_MINUTES if decision is Decision.SUSPEND else None
            span = minutes or default
            until = now + span * 60 if span is not None else None
            ban = await self._sanction(
                author,
                "ban",
                now,
                until if until else math.inf,
                job,
                actor,
                address_minutes=min(span or ADDRESS_BAN_MAX_MINUTES, ADDRESS_BAN_MAX_MINUTES)
                if address
                else None,
            )
            await self._disconnect_banned(ban, "a moderator banned you from chat")
        elif decision is Decision.RELEASE:
            released = await self._publish_held(job, now)
        elif decision is Decision.UNFREEZE:
            assert item.conversation_key is not None
            await self.trust.release(item.conversation_key, status="unfrozen", at=now)
        elif decision is Decision.REFER:
            await self._refer(detail, message, actor, note, now)
        override = await self._record_override(job, decision, message, now)
        statements: list[Statement] = []
        kind = _STATEMENT_DECISION.get(decision)
        if kind is not None:
            statements.append(
                await self._issue(
                    subject_key=author,
                    decision=kind,
                    job=job,
                    facts=note or job.reason,
                    actor=actor,
                    content_type="text" if item.text else "account",
                    restriction_until=until,
                    now=now,
                )
            )
        if job.source in (Source.REPORT, Source.NOTICE):
            statements.extend(await self._report_outcomes(job, decision, actor, now))
        return Outcome(job.id, decision, statements, removed, released, override)

    async def _remove(self, message: StoredMessage) -> None:
        if message.photo_id is not None and self.removed_images is not None:
            # Before the discard, which may take the photo's record with it.
            await self.removed_images.removed(message.photo_id)
        await self.messages.discard(message.id)
        frame = f.Removed(id=message.id, room=message.room_id)
        if message.room_id is not None:
            await self.chat.publish(frame, room=message.room_id)
            return
        await self.chat.publish(frame, session=message.sender_session)
        if message.recipient_session is not None:
            await self.chat.publish(frame, session=message.recipient_session)

    async def _sanction(
        self,
        author: str,
        kind: str,
        now: float,
        until: float,
        job: Job | None,
        actor: Actor,
        *,
        address_minutes: float | None = None,
    ) -> SanctionRow:
        reason = f"moderator {actor.name}" + (f", job {job.id}" if job is not None else "")
        decision_id = job.item.decision_id if job is not None else None
        sanction = SanctionRow(author, kind, now, until, reason)
        if kind == "ban":
            # The device (and a chosen address) the author entered from, from the session the
            # job is about or their latest entry (kept ENTRY_KEYS_SECONDS).
            session = job.item.author_session if job is not None else None
            keys = await self.safety.entry_keys(author, session)
            sanction = with_keys(sanction, keys, address_minutes=address_minutes)
        await self.safety.add_sanction(sanction, decision_id)
        if self.sanctions is not None:
            await self.sanctions.refresh_sanctions()
        return sanction

    async def _disconnect_banned(self, ban: SanctionRow, text: str) -> None:
        """The banned author, and whoever is online from the banned device (or chosen
        address) under another nickname: their connections end too."""
        await self._disconnect(ban.author_key, ErrorCode.BANNED, text)
        since = ban.starts_at - ENTRY_KEYS_SECONDS
        for entry in await self.safety.entries_from(ban.device_key, ban.address_key, since):
            if entry.nickname_key == ban.author_key:
                continue
            online = await self.presence.by_key(entry.nickname_key)
            if online is not None and online.id == entry.session_id:
                await self.chat.disconnect(online.id, ErrorCode.BANNED, text)

    async def _disconnect(self, author: str, code: ErrorCode, text: str) -> None:
        session = await self.presence.by_key(author)
        if session is not None:
            await self.chat.disconnect(session.id, code, text)

    async def _publish_held(self, job: Job, now: float) -> int | None:
        """Show a held message as it was written, to the room or person it was for."""
        return await self._show(job, now, now + self.visible_seconds)

    async def _show(self, job: Job, at: float, expires_at: float) -> int | None:
        """Store and publish the job's text as its author's message, with its traffic record."""
        item = job.item
        if item.room_id is None and item.recipient_key is None:
            return None
        recipient = await self.presence.by_key(item.recipient_key) if item.recipient_key else None
        if item.room_id is None and recipient is None:
            return None  # the person it was for has gone: nothing to show it to
        message_id = await self.messages.add(
            room_id=item.room_id,
            sender_session=item.author_session or "",
            sender_nickname=item.author_nickname,
            recipient_session=recipient.id if recipient else None,
            recipient_nickname=recipient.nickname if recipient else None,
            text=item.text,
            created_at=at,
            expires_at=expires_at,
        )
        # Delivered content has its lawful traffic record, or it is taken back (as in
        # chat.delivery): the record is of the writing, from the author's session.
        try:
            await self.traffic.content_released(
                item.author_session or "",
                item.author_nickname,
                str(ContentRef.message(message_id, private=item.room_id is None)),
                item.created_at,
            )
        except BaseException:
            await self.messages.discard(message_id)
            raise
        if item.room_id is not None:
            frame: f.ServerFrame = f.RoomMessage(
                id=message_id,
                room=item.room_id,
                sender=item.author_nickname,
                text=item.text,
                at=at,
            )
            await self.chat.publish(frame, room=item.room_id, sender_key=item.author_key)
        else:
            assert recipient is not None
            frame = f.PrivateMessage(
                id=message_id,
                sender=item.author_nickname,
                recipient=recipient.nickname,
                text=item.text,
                at=at,
            )
            await self.chat.publish(frame, session=recipient.id, sender_key=item.author_key)
        return message_id

    async def _restore(self, job: Job, now: float) -> int | None:
        """A removal reversed on appeal: the message comes back (under a new id, at its first
        time) if it would still be visible; an expired one stays gone, as it would have."""
        item = job.item
        if not item.text or job.action != Decision.REMOVE.value:
            return None
        expires_at = item.created_at + self.visible_seconds
        if expires_at <= now:
            return None
        return await self._show(job, item.created_at, expires_at)

    async def _refer(
        self,
        detail: JobDetail,
        message: StoredMessage | None,
        actor: Actor,
        note: str,
        now: float,
    ) -> None:
        """Refer to the legal officer (DSA Art. 18): the message sealed as evidence, and a
        package (content, times with zones, reasons; the legal side adds the locating data)
        through the legal workflow, which only a legal officer reads."""
        job = detail.job
        item = job.item
        reference = f"referral-job{job.id}"
        if self.evidence is not None and message is not None:
            await self.evidence.preserve_message(message.id, "reported", reference=reference)
        if self.referrals is None:
            raise ModerationError("invalid", "the legal workflow is not available here")
        record = await self.safety.decision(item.decision_id) if item.decision_id else None
        reporters = await self.reports.reporters_of(job.id) if self.reports is not None else []
        package: dict[str, Any] = {
            "format": "causerie-referral/1",
            "reference": reference,
            "legal_basis": "Regulation (EU) 2022/2065 (DSA), article 18",
            "referred_by": actor.name,
            "job": {"id": job.id, "queue": job.queue.value, "source": job.source.value},
            "content": {
                "kind": item.kind.value,
                "id": item.content_id,
                "text": item.text,
                "room": item.room_id,
                "recipient_key": item.recipient_key,
                "author": {
                    "nickname": item.author_nickname,
                    "key": item.author_key,
                    "session": item.author_session,
                    "age_band": item.author_band.value if item.author_band else None,
                },
                "context": [
                    {
                        "id": m.message_id,
                        "room": m.room_id,
                        "sender": m.sender_nickname,
                        "recipient": m.recipient_nickname,
                        "text": m.text,
                        "at": zoned(m.created_at),
                    }
                    for m in detail.history
                ],
            },
            "times": {
                "written": zoned(item.created_at),
                "job_opened": zoned(job.created_at),
                "referred": zoned(now),
            },
            "reasons": {
                "category": job.category.value if job.category else None,
                "why_queued": job.reason,
                "moderator_note": note,
                "reports": len(reporters),
                "automated": None
                if record is None
                else {
                    "action": record.action,
                    "category": record.category,
                    "rules": record.rules,
                    "scores": record.scores,
                    "policy_version": record.policy_version,
                },
            },
        }
        await self.referrals.refer(
            reference=reference,
            referred_by=actor.name,
            package=package,
            content_id=item.content_id or "",
            session_id=item.author_session or "",
            author=item.author_nickname,
        )
        await self.review.set_evidence_ref(job.id, reference)

    async def _record_override(
        self, job: Job, decision: Decision, message: StoredMessage | None, now: float
    ) -> bool:
        """A labelled example when a human decided against the automated chain."""
        item = job.item
        if not item.text:
            return False
        label: str | None = None
        if decision in (Decision.DISMISS, Decision.RELEASE, Decision.UNFREEZE):
            if job.source in AUTOMATED_SOURCES:
                label = "allowed"
        elif decision in _STATEMENT_DECISION:
            record = await self.safety.decision(item.decision_id) if item.decision_id else None
            if record is None and item.content_id:
                found = await self.safety.decisions(content_id=item.content_id, limit=1)
                record = found[0] if found else None
            allowed_by_screen = record is not None and record.action in ("allow", "blur")
            if allowed_by_screen or (
                record is None and job.source in (Source.REPORT, Source.NOTICE)
            ):
                label = "harmful"
        if label is None:
            return False
        await self.write_override(
            text=item.text,
            label=label,
            category=job.category.value if job.category else None,
            source=job.source.value,
            job_id=job.id,
            at=now,
        )
        return True

    async def write_override(self, **example: Any) -> None:
        line = json.dumps(example, ensure_ascii=False, sort_keys=True) + "\n"
        path = self.overrides_file

        def append() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(line)

        await asyncio.to_thread(append)

    async def _issue(
        self,
        *,
        subject_key: str,
        decision: str,
        job: Job | None,
        facts: str,
        actor: Actor,
        content_type: str,
        restriction_until: float | None,
        now: float,
        category: Category | None = None,
    ) -> Statement:
        item = job.item if job is not None else None
        category = category or (job.category if job is not None else None)
        statement = new_statement(
            subject_key=subject_key,
            decision=decision,
            category=category.value if category is not None else "other",
            ground=_ground(category),
            ground_text=_ground_text(category),
            facts=facts[:1000],
            content_type=content_type,
            automated_detection=job is not None
            and job.source not in (Source.REPORT, Source.NOTICE),
            automated_decision=False,
            content_ref=str(item.target) if item is not None and item.content else None,
            content_date=item.created_at if item is not None else None,
            application_date=now,
            job_id=job.id if job is not None else None,
            decision_id=item.decision_id if item is not None else None,
            decided_by=actor.name,
            restriction_until=restriction_until,
        )
        await self.statements.issue(statement)
        await self.notifier.notify(statement)
        return statement

    async def _report_outcomes(
        self, job: Job, decision: Decision, actor: Actor, now: float
    ) -> list[Statement]:
        if self.reports is None:
            return []
        acted = decision not in (Decision.DISMISS, Decision.RELEASE, Decision.UNFREEZE)
        facts = (
            "We reviewed what you reported and acted on it."
            if acted
            else "We reviewed what you reported and found no breach of the rules."
        )
        out: list[Statement] = []
        seen: set[str] = set()
        for reporter in await self.reports.reporters_of(job.id):
            key = reporter_key(reporter)
            if key in seen or not key:
                continue
            seen.add(key)
            out.append(
                await self._issue(
                    subject_key=key,
                    decision="report_outcome",
                    job=job,
                    facts=facts,
                    actor=actor,
                    content_type="text" if job.item.text else "account",
                    restriction_until=None,
                    now=now,
                )
            )
        return out

    # -- bulk -----------------------------------------------------------------------------------

    async def bulk(
        self,
        actor: Actor,
        phrase: str,
        *,
        minutes: float = DEFAULT_MUTE_MINUTES,
        within_seconds: float = BULK_WINDOW_SECONDS,
        note: str = "",
    ) -> BulkOutcome:
        """Remove every recent room message containing ``phrase`` and mute their authors
        (a raid's copy-paste, Twitch's shield mode); senior staff only."""
        folded = " ".join(phrase.casefold().split())
        if actor.role is not Role.SENIOR:
            raise await self._refuse(actor, "bulk", phrase[:80], "only senior staff act in bulk")
        if len(folded) < 4:
            raise ModerationError("invalid", "a bulk phrase has at least 4 characters")
        now = self.clock()
        hits: list[StoredMessage] = []
        for room in await self.rooms.all():
            for message in await self.messages.recent_in_room(
                room.id, now - within_seconds, BULK_MAX_MESSAGES
            ):
                if folded in " ".join(message.text.casefold().split()):
                    hits.append(message)
        authors: dict[str, str] = {}
        for message in hits:
            await self._remove(message)
            authors.setdefault(nickname_key(message.sender_nickname), message.sender_nickname)
        statements: list[Statement] = []
        until = now + minutes * 60
        for key in sorted(authors):
            await self._sanction(key, "mute", now, until, None, actor)
            statements.append(
                await self._issue(
                    subject_key=key,
                    decision="muted",
                    job=None,
                    facts=note or "You posted a message that was part of a flood of copies.",
                    actor=actor,
                    content_type="text",
                    restriction_until=until,
                    now=now,
                    category=Category.SPAM,
                )
            )
        await self.audit.record(
            actor.name,
            "bulk",
            phrase[:80],
            removed=[m.id for m in hits],
            authors=len(authors),
            minutes=minutes,
        )
        return BulkOutcome(phrase, sorted(authors), [m.id for m in hits], statements)

    # -- appeals --------------------------------------------------------------------------------

    async def decide_appeal(
        self, actor: Actor, statement_id: str, outcome: str, *, note: str = ""
    ) -> Statement:
        """Uphold or reverse an appealed decision; never by who took it. The outcome is a new
        statement to the chatter; a reversal lifts the restriction."""
        target = f"statement:{statement_id}"
        if outcome not in ("upheld", "reversed"):
            raise ModerationError("invalid", "an appeal is upheld or reversed")
        if actor.role is not Role.SENIOR:
            raise await self._refuse(actor, "appeal", target, "only senior staff decide appeals")
        original = await self.statements.get(statement_id)
        if original is None:
            raise ModerationError("not_found", f"there is no statement {statement_id}")
        if original.decided_by == actor.name:
            raise await self._refuse(
                actor, "appeal", target, "an appeal is decided by someone else than the decision"
            )
        now = self.clock()
        try:
            await self.statements.decide_appeal(statement_id, actor.name, outcome, now)
        except StatementError as exc:
            code = exc.code
            if code == "same_reviewer":
                raise await self._refuse(actor, "appeal", target, "same reviewer") from None
            raise ModerationError("conflict", f"this appeal cannot be decided: {code}") from None
        await self._close_appeal_job(statement_id, actor, outcome, now)
        kind = _RESTRICTION_KIND.get(original.decision)
        if outcome == "reversed" and kind is not None:
            await self.safety.lift_sanctions(original.subject_key, kind, now)
            if self.sanctions is not None:
                await self.sanctions.refresh_sanctions()
        job = None
        if original.job_id is not None:
            detail = await self.review.job(original.job_id)
            job = detail.job if detail is not None else None
        restored = None
        if outcome == "reversed" and original.decision == "removed" and job is not None:
            restored = await self._restore(job, now)
        if outcome == "reversed" and job is not None and job.item.text:
            await self.write_override(
                text=job.item.text,
                label="allowed",
                category=original.category,
                source="appeal",
                job_id=job.id,
                at=now,
            )
        words = {
            "upheld": "We looked at your appeal again. The decision stays.",
            "reversed": "We looked at your appeal again and reversed the decision.",
        }[outcome]
        statement = new_statement(
            subject_key=original.subject_key,
            decision="appeal_outcome",
            category=original.category,
            ground=original.ground,
            ground_text=original.ground_text,
            facts=(words + (f" {note}" if note else ""))[:1000],
            content_type=original.content_type,
            automated_detection=original.automated_detection,
            automated_decision=False,
            content_ref=original.content_ref,
            content_date=original.content_date,
            application_date=now,
            job_id=original.job_id,
            decision_id=original.id,
            decided_by=actor.name,
            restriction_until=None,
        )
        await self.statements.issue(statement)
        await self.notifier.notify(statement)
        await self.audit.record(
            actor.name,
            f"appeal.{outcome}",
            target,
            first_decision_by=original.decided_by,
            outcome_statement=statement.id,
            restored=restored,
            waited_seconds=round(now - (original.appealed_at or now), 3),
        )
        return statement

    async def _close_appeal_job(
        self, statement_id: str, actor: Actor, outcome: str, now: float
    ) -> None:
        key = f"appeal:{statement_id}"
        for job in await self.review.jobs(
            queue=ReviewQueue.APPEALS, status=(JobStatus.OPEN, JobStatus.CLAIMED), limit=None
        ):
            if job.item.key == key:
                await self.review.close(job.id, outcome, now=now, by=actor.name)

    # -- trusted flaggers -----------------------------------------------------------------------

    async def mark_trusted(self, actor: Actor, reporter: str, trusted: bool = True) -> None:
        """Mark (or unmark) a reporter as a trusted flagger (DSA Art. 22); senior staff only."""
        key = nickname_key(reporter) if reporter else ""
        if actor.role is not Role.SENIOR:
            raise await self._refuse(actor, "trusted", key, "only senior staff mark flaggers")
        if self.reports is None:
            raise ModerationError("invalid", "reports are not available on this node")
        if not key:
            raise ModerationError("invalid", "name the reporter")
        await self.reports.set_trusted(key, trusted)
        await self.audit.record(actor.name, "trusted", key, trusted=trusted)


def content_kind_of(job: Job) -> ContentKind | None:
    """The kind of content a job is about, when it is content."""
    return job.item.kind.content_kind
