"""The one decision path: every subject goes through :meth:`Moderation.check`.

The chain, in order:

1. ``normalise``: the text is read once into :class:`~causerie.moderation.forms.Forms`;
2. ``sanctions``: a muted or banned author is refused before anything else;
3. ``fence``: the protection of minors (:class:`FenceStage`): age claims, grooming signals,
   who may write what to whom; part of every chain, whatever the settings;
4. the policy's stages (:mod:`causerie.safety.pipeline`): ``length``, ``rules``, ``model``,
   ``conversation``, ``decide``;
5. ``minors_guard``: what the policy labels sexual, or would only blur for adults, never goes
   where a minor reads.

Each stage returns its signals and the chain times it; the outcome is one
:class:`~causerie.moderation.verdict.Verdict`, recorded by the policy before anyone receives the
subject. Escalations from any stage become jobs in the one review queue
(:mod:`causerie.store.review`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from causerie import metrics
from causerie.domain import (
    MIN_AGE,
    Action,
    AgeBand,
    Audience,
    Category,
    ContentKind,
    ConversationKey,
)
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.chain import NOTHING, Chain, Check, Signals, Stage
from causerie.moderation.verdict import Author, Rebanding, Subject, Verdict
from causerie.safety.pipeline import SafetyPipeline, SanctionsStage, context_of, new_check
from causerie.settings import MinorsSettings
from causerie.store.trust import History, Offender
from causerie.trust.fence import MinorsFence
from causerie.trust.policy import (
    Ruling,
    Say,
    rule_private,
    rule_room_message,
)
from causerie.trust.signals import Signal

log = logging.getLogger(__name__)

FENCED_KINDS = frozenset(
    {ContentKind.ROOM_MESSAGE, ContentKind.PRIVATE_MESSAGE, ContentKind.TOPIC, ContentKind.PHOTO}
)


class Directory(Protocol):
    """Who is online, as the fence asks it: an "@name" nobody online uses is a contact handle."""

    async def is_online(self, key: str) -> bool: ...


def offender_of(author: Author) -> Offender:
    """The author as the minors fence records them."""
    return Offender(
        session=author.session_id, nickname=author.nickname, key=author.key, band=author.band
    )


def _target(subject: Subject) -> str:
    if subject.recipient is not None:
        return f"@{subject.recipient.nickname}"
    return subject.room.id if subject.room is not None else ""


class FenceStage:
    """The minors fence as a stage: it cannot be left out of a chain or loosened by settings."""

    name = "fence"

    def __init__(
        self, fence: MinorsFence, directory: Directory, *, nickname_key: Callable[[str], str]
    ) -> None:
        self.fence = fence
        self.directory = directory
        self.nickname_key = nickname_key

    async def run(self, check: Check) -> Signals:
        subject = check.subject
        if subject is None or subject.kind not in FENCED_KINDS:
            return NOTHING
        detection = self.fence.detect(check.forms)
        signals = set(detection.signals)
        if Signal.CONTACT_HANDLE not in signals:
            for mention in detection.mentions:
                if not await self.directory.is_online(self.nickname_key(mention)):
                    signals.add(Signal.CONTACT_HANDLE)
                    break
        recipient = subject.recipient
        if (
            subject.kind == ContentKind.PHOTO
            and recipient is not None
            and not subject.author.band.same_side(AgeBand.of_age(recipient.age))
        ):
            # A photo sent across the age line is an image, whatever its caption says.
            signals.add(Signal.IMAGE)
        check.detection = detection
        check.signals = frozenset(signals)
        reasons = tuple(f"signal.{s.value}" for s in sorted(signals))
        refused = await self._age_claim(check, subject)
        if refused is None:
            refused = await self._examine(check)
        if refused is not None:
            check.refusal = refused
            return Signals(reasons=(*reasons, *refused.reasons), stop=True)
        return Signals(reasons=reasons)

    async def _age_claim(self, check: Check, subject: Subject) -> Verdict | None:
        """A chatter who writes a younger age is treated as that age before anything else."""
        assert check.detection is not None
        claim = check.detection.age_claim
        if claim is None:
            return None
        target = _target(subject)
        offender = offender_of(subject.author)
        rebanding = self.fence.rebanding(subject.author.band, claim)
        if rebanding is None:
            if claim.age < MIN_AGE:
                await self.fence.flag_claim(
                    offender, claim, subject.text, target=target, action="flagged"
                )
            return None
        await self.fence.rebanded(offender, rebanding, subject.text, target=target)
        check.rebanding = Rebanding(
            age=rebanding.age,
            band=rebanding.band,
            claim_age=claim.age,
            evidence=claim.evidence,
        )
        # From here on every stage reads the younger band.
        author = replace(subject.author, age=rebanding.age, band=rebanding.band)
        check.subject = subject = replace(subject, author=author)
        check.context = context_of(subject)
        room = subject.room
        if (
            subject.kind == ContentKind.ROOM_MESSAGE
            and room is not None
            and not Audience(room.audience).admits(rebanding.band)
        ):
            return _refusal(ErrorCode.ROOM_FORBIDDEN, Say.ADULTS_ONLY, "fence.rebanded", room.id)
        return None

    async def _examine(self, check: Check) -> Verdict | None:
        subject = check.subject
        assert subject is not None
        author = subject.author
        settings = self.fence.settings
        ruling: Ruling
        if subject.recipient is not None:
            recipient_band = AgeBand.of_age(subject.recipient.age)
            ruling = rule_private(
                author.band,
                recipient_band,
                check.signals,
                adult_factor=settings.adult_signal_factor,
            )
            key = ConversationKey.pair(author.key, subject.recipient.nickname_key)
            kind = "message" if author.band.same_side(recipient_band) else "private_attempt"
            history = History(sessions=(author.session_id, subject.recipient.id))
            room_id = None
        elif subject.room is not None:
            room_id = subject.room.id
            ruling = rule_room_message(
                author.band,
                subject.room.audience,
                check.signals,
                adult_factor=settings.adult_signal_factor,
            )
            key = ConversationKey.room(room_id, author.key)
            kind = "topic" if subject.kind == ContentKind.TOPIC else "message"
            history = History(room_id=room_id)
        else:
            return None
        try:
            await self.fence.examine(
                ruling,
                conversation_key=key,
                kind=kind,
                offender=offender_of(subject.author),
                target=_target(subject),
                text=subject.text,
                signals=check.signals,
                history=history,
                room_id=room_id,
            )
        except ChatError as refused:
            return _refusal(refused.code, refused.message, f"fence.{refused.code.value}")
        return None


class MinorsGuardStage:
    """Whatever the policy's tuning: what it labels sexual, or would only blur for adults, does
    not go where a minor reads."""

    name = "minors_guard"

    async def run(self, check: Check) -> Signals:
        subject, decision = check.subject, check.decision
        if subject is None or decision is None or not decision.delivers:
            return NOTHING
        if not _minor_reads(subject):
            return NOTHING
        labelled = {
            c
            for c, s in decision.scores.items()
            if c.minor_floor is not None and s >= c.minor_floor
        }
        if subject.author.band.is_minor and decision.scores.get(Category.CHILD_SAFETY, 0) < 0.95:
            # Grooming signals between minors (asking each other's age or school) are the
            # fence's to score over the conversation; sexual content stays out whoever writes.
            labelled.discard(Category.CHILD_SAFETY)
        if decision.action == Action.BLUR or labelled:
            reason = "minors.not_for_minors"
            check.decision = replace(
                decision, action=Action.BLOCK, reasons=(*decision.reasons, reason)
            )
            check.refusal = _refusal(ErrorCode.CONTENT_BLOCKED, Say.NOT_FOR_MINORS, reason)
            return Signals(reasons=(reason,), stop=True)
        return NOTHING


def _minor_reads(subject: Subject) -> bool:
    if subject.recipient is not None:
        return AgeBand.of_age(subject.recipient.age).is_minor
    if subject.room is not None:
        return Audience(subject.room.audience).minors_may_read
    return False


def _refusal(code: ErrorCode, message: str, reason: str, room: str | None = None) -> Verdict:
    return Verdict(
        deliver=False,
        action=Action.BLOCK,
        code=code,
        message=message,
        reasons=(reason,),
        detail={"room": room} if room else {},
    )


class Moderation:
    """The one decision path of a node. Every dependency is given: there is no default."""

    def __init__(
        self,
        *,
        fence: MinorsFence,
        policy: SafetyPipeline | None,
        directory: Directory,
        nickname_key: Callable[[str], str],
        clock: Callable[[], float],
    ) -> None:
        self.fence = fence
        self.policy = policy
        self.clock = clock
        fence_stage = FenceStage(fence, directory, nickname_key=nickname_key)
        stages: list[Stage] = []
        if policy is not None:
            stages += [SanctionsStage(policy), fence_stage, *policy.stages]
        else:
            log.warning("safety policy off: only the minors fence screens content")
            stages.append(fence_stage)
        stages.append(MinorsGuardStage())
        self.chain = Chain(stages)

    @property
    def minors(self) -> MinorsSettings:
        return self.fence.settings

    async def check(self, subject: Subject) -> Verdict:
        """Decide on ``subject`` before anyone receives it; the decision is recorded."""
        started = time.perf_counter()
        check = new_check(subject, None, self.clock())
        await self.chain.run(check)
        verdict = await self._conclude(check)
        metrics.screening_seconds.labels(subject.kind.value).observe(time.perf_counter() - started)
        metrics.decisions.labels(verdict.action.name.lower(), verdict.category or "none").inc()
        return replace(verdict, rebanding=check.rebanding)

    async def _conclude(self, check: Check) -> Verdict:
        if self.policy is not None and check.decision is not None:
            return await self.policy.conclude(check)
        if check.refusal is not None:
            return replace(check.refusal, stages=tuple(check.stages))
        return Verdict(stages=tuple(check.stages))


__all__ = ["Category", "Directory", "FenceStage", "MinorsGuardStage", "Moderation"]
