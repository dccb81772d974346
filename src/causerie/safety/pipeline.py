"""The policy engine: an ordered chain of timed checks between receipt and fan-out.

:class:`SafetyPipeline` is the chat service's :class:`~causerie.chat.hooks.Screen`. For every
subject (room message, private message, nickname, room name, topic) it runs

1. ``sanctions``: a muted or banned author is refused before anything else;
2. ``normalise``: the forms of the text the rules read (:mod:`causerie.safety.normalise`);
3. ``rules``: the rule packs, a score per category from the rules that fired;
4. ``model``: the machine-learned stage, when installed (a probability per category);
5. ``conversation``: the author's recent scores in the same conversation, and repeated text;
6. ``decide``: the policy's action for those scores in this context, then the strike ladder,

each timed and each returning a :class:`StageResult` with its reasons. Every decision is
recorded (:mod:`causerie.store.safety`) with its scores, rules, action, policy version and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast

from causerie.domain import ContentKind, ConversationKey
from causerie.moderation import language
from causerie.moderation.chain import NOTHING, Chain, Check, Signals, Stage
from causerie.moderation.forms import Forms, read
from causerie.moderation.stance import warns
from causerie.moderation.verdict import StageResult, Subject, Verdict
from causerie.safety import wording
from causerie.safety.categories import Category
from causerie.safety.memory import ConversationMemory, Sanction, SanctionBook, StrikeBook
from causerie.safety.packs import Hit, PackError, RuleBook, fingerprint, load_rulebook
from causerie.safety.policy import NAME_KINDS, Action, Policy, PolicyError, load_policy
from causerie.settings import SafetySettings
from causerie.store.review import Source, priority_of
from causerie.store.safety import DecisionRecord, Escalation, SafetyStore, SanctionRow
from causerie.unique import UniqueValues

log = logging.getLogger(__name__)

# Kinds of subject that earn strikes: a refused nickname belongs to nobody yet.
STRIKING_KINDS = frozenset({"message", "private", "room_name", "topic"})
# Unflushed "allow" decisions kept at most; past this they are written at once.
MAX_BUFFERED = 512


class TextModel(Protocol):
    """A model that scores texts: the interface of :mod:`causerie.safety.model`."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]: ...


class Scorer(Protocol):
    """The model stage as the pipeline calls it: one text, awaited (micro-batched or not)."""

    async def score(self, text: str) -> dict[Category, float]: ...


class InlineScorer:
    """Scores one text at a time in the event loop: for models fast enough not to need batching."""

    def __init__(self, model: TextModel) -> None:
        self.model = model

    async def score(self, text: str) -> dict[Category, float]:
        return self.model.score_batch([text])[0]


@dataclass(frozen=True, slots=True)
class LoadedModel:
    scorer: Scorer
    name: str
    # A micro-batcher's task is started with the node and stopped with it.
    start: Callable[[], Awaitable[None]] | None = None
    close: Callable[[], Awaitable[None]] | None = None
    # The semantic model alone (None without it): for a text's unobfuscated form, and for
    # several messages read together.
    semantic: Scorer | None = None
    # The other models without the semantic one, for what the encoder cannot read (a bare
    # nickname); None when there are none, or when there is no semantic model (``scorer`` is).
    others: Scorer | None = None


class Ensemble:
    """Several models as one: each category's probability is the highest any model gives."""

    def __init__(self, models: Sequence[TextModel]) -> None:
        self.models = tuple(models)

    @property
    def name(self) -> str:
        return "+".join(model.name for model in self.models)

    @property
    def version(self) -> str:
        return "+".join(model.version for model in self.models)

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        batches = [model.score_batch(texts) for model in self.models]
        return [_highest(readings) for readings in zip(*batches, strict=True)]


def _highest(readings: Sequence[dict[Category, float]]) -> dict[Category, float]:
    """Several readings of one text combined: each category's highest probability counts."""
    combined: dict[Category, float] = {}
    for scores in readings:
        for category, probability in scores.items():
            if probability > combined.get(category, 0.0):
                combined[category] = probability
    return combined


def _load_models(settings: SafetySettings) -> list[TextModel]:
    models: list[TextModel] = []
    try:
        from causerie.safety import model as model_package
    except ImportError:
        log.info("no safety model installed: deciding on rules alone")
        return models
    if settings.model:
        try:
            models.append(model_package.load_default_model())
        except Exception as exc:
            log.error("the n-gram model failed to load, going on without it: %s", exc)
    if settings.semantic:
        try:
            models.append(cast(TextModel, model_package.load_semantic(settings.exemplar_dir)))
        except Exception as exc:
            log.error("the semantic model failed to load, going on without it: %s", exc)
    return models


def load_model_stage(settings: SafetySettings, *, batched: bool = True) -> LoadedModel | None:
    """The shipped models (micro-batched for a server), or None when off or not installed."""
    models = _load_models(settings)
    if not models:
        return None
    model: TextModel = models[0] if len(models) == 1 else Ensemble(models)
    semantic = next((m for m in models if hasattr(m, "score_conversation")), None)
    rest = [m for m in models if m is not semantic]
    others: TextModel | None = None
    if semantic is not None and rest:
        others = rest[0] if len(rest) == 1 else Ensemble(rest)
    name = f"{model.name}@{model.version}"
    batcher_class: Any = None
    if batched:
        try:
            from causerie.safety.model.batcher import MicroBatcher

            batcher_class = MicroBatcher
        except ImportError:
            pass
    if batcher_class is None:
        return LoadedModel(
            scorer=InlineScorer(model),
            name=name,
            semantic=InlineScorer(semantic) if semantic is not None else None,
            others=InlineScorer(others) if others is not None else None,
        )

    # cast: the model package's Protocol declares name and version settable, its model has them
    # read-only; both are read-only in use.
    def batched_model(m: TextModel | None) -> Any:
        if m is None:
            return None
        return batcher_class(
            cast(Any, m), max_batch=settings.model_max_batch, max_wait_ms=settings.model_max_wait_ms
        )

    scorer, others_scorer = batched_model(model), batched_model(others)
    # With the semantic model alone, the lines and the conversations read together share one
    # batcher: the encoder's cost per call (about 3 ms here for one short text, 0.6 ms a text in
    # a batch of 32) is then paid once per cycle, not twice.
    semantic_scorer = scorer if semantic is model else batched_model(semantic)
    batchers = [b for b in (scorer, others_scorer) if b is not None]
    if semantic_scorer is not None and semantic_scorer is not scorer:
        batchers.append(semantic_scorer)

    async def start() -> None:
        for batcher in batchers:
            await batcher.start()

    async def close() -> None:
        for batcher in batchers:
            await batcher.close()

    return LoadedModel(
        scorer=scorer,
        name=name,
        start=start,
        close=close,
        semantic=semantic_scorer,
        others=others_scorer,
    )


@dataclass(frozen=True, slots=True)
class Context:
    """What the decision needs to know about a subject besides its text."""

    kind: str
    audience: str
    author_key: str
    author_band: str = "18+"
    conversation: str | None = None
    # A narrower situation than the audience (policy.SITUATIONS), or None.
    situation: str | None = None


def context_of(subject: Subject) -> Context:
    """The audience a subject reaches: where sexual talk may be allowed and where never.

    The conversation is the same :class:`~causerie.domain.ConversationKey` the minors fence keeps
    its risk under. A photo's caption is read as a message of its room or conversation.
    """
    author = subject.author
    author_minor = author.band.is_minor
    kind = subject.kind
    if kind == ContentKind.PHOTO:
        kind = ContentKind.PRIVATE_MESSAGE if subject.recipient else ContentKind.ROOM_MESSAGE
    conversation: str | None = None
    if kind == ContentKind.ROOM_MESSAGE:
        audience = subject.room.audience if subject.room is not None else "all"
        if subject.room is not None:
            conversation = ConversationKey.room(subject.room.id, author.key)
    elif kind == ContentKind.PRIVATE_MESSAGE:
        recipient_minor = subject.recipient is not None and subject.recipient.age < 18
        audience = "teens" if author_minor or recipient_minor else "adults"
        if subject.recipient is not None:
            conversation = ConversationKey.pair(author.key, subject.recipient.nickname_key)
    elif kind == ContentKind.TOPIC and subject.room is not None:
        audience = subject.room.audience
    elif kind in (ContentKind.ROOM_NAME, ContentKind.TOPIC):
        # The chat service opens a minor's room to teens and an adult's to adults only.
        audience = "teens" if author_minor else "adults"
    else:
        audience = "teens" if author_minor else "all"
    if audience not in ("all", "teens", "adults"):
        audience = "all"
    situation = None
    if kind == ContentKind.PRIVATE_MESSAGE and subject.recipient is not None:
        recipient_minor = subject.recipient.age < 18
        if author_minor and recipient_minor:
            situation = "private_teens"
        elif not author_minor and not recipient_minor:
            situation = "private_adults"
    elif kind == ContentKind.ROOM_MESSAGE and author_minor and audience == "teens":
        situation = "teens_room"
    return Context(
        kind=kind,
        audience=audience,
        author_key=author.key,
        author_band=author.band,
        conversation=conversation,
        situation=situation,
    )


@dataclass(frozen=True)
class Decision:
    id: str
    at: float
    context: Context
    normalised: str
    hits: tuple[Hit, ...]
    # Scores with the conversation's weight, and those of the text alone (what is remembered).
    scores: dict[Category, float]
    own_scores: dict[Category, float]
    action: Action
    category: Category | None
    escalate: bool
    stages: tuple[StageResult, ...]
    elapsed_ms: float
    policy_version: str
    # Set by the ladder: minutes of a mute or ban (math.inf for ever), whether the author is
    # warned that the next step is a mute, and the strike points this decision adds.
    sanction_minutes: float = 0.0
    warned: bool = False
    strike_points: float = 0.0
    reasons: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    # Taken without reading the text (a sanction in force, a text too long to read).
    fixed: bool = False

    @property
    def rules(self) -> list[str]:
        return [hit.rule for hit in self.hits]

    @property
    def delivers(self) -> bool:
        return self.action in (Action.ALLOW, Action.BLUR)


def _noisy_or(hits: Sequence[Hit]) -> dict[Category, float]:
    """Distinct signals of a category add up: two medium signals weigh more than one. The same
    words listed in two packs (French and English share many) count once."""
    strongest: dict[tuple[Category, str], float] = {}
    for hit in hits:
        key = (hit.category, hit.matched.strip())
        strongest[key] = max(strongest.get(key, 0.0), hit.score)
    keep: dict[Category, float] = {}
    for (category, _), score in strongest.items():
        keep[category] = keep.get(category, 1.0) * (1.0 - score)
    return {category: round(1.0 - k, 4) for category, k in keep.items()}


def _source_of(decision: Decision) -> Source:
    """Which stage put the decision in the review queue."""
    if decision.action == Action.HOLD:
        return Source.HOLD
    if decision.hits:
        return Source.RULES
    if any(reason.startswith(("model.", "conversation.semantic.")) for reason in decision.reasons):
        return Source.MODEL
    return Source.RULES


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


# A decision id is no secret; it must not repeat (causerie.unique: no system call an id).
_DECISION_SUFFIXES = UniqueValues(prefix_bytes=3, counter_bytes=3)


def new_decision_id(now: float) -> str:
    # Time first, so that ids sort by creation; a random prefix a process and a count after, so
    # that neither two decisions of one process nor two nodes collide.
    return f"{int(now * 1000):012x}{_DECISION_SUFFIXES.next().hex()}"


class SafetyPipeline:
    """The :class:`~causerie.chat.hooks.Screen` of a node (see the module docstring)."""

    def __init__(
        self,
        policy: Policy,
        rules: RuleBook,
        *,
        settings: SafetySettings | None = None,
        store: SafetyStore | None = None,
        model: LoadedModel | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or SafetySettings()
        self.policy = policy
        self.rules = rules
        self.store = store
        self.model = model
        self.clock = clock
        self.strikes = StrikeBook(policy.strikes.half_life_hours * 3600)
        self.sanctions = SanctionBook()
        self.memory = ConversationMemory(policy.conversation)
        self._buffer: dict[str, DecisionRecord] = {}
        self._links: list[tuple[str, str]] = []
        self._fingerprint = self._current_fingerprint()

    @classmethod
    def from_settings(
        cls,
        settings: SafetySettings,
        *,
        store: SafetyStore | None = None,
        clock: Callable[[], float] = time.time,
        with_model: bool = True,
        batched: bool = True,
    ) -> SafetyPipeline:
        """Load the policy, the packs and the model; raises on an invalid policy or pack.

        A batched model stage needs :meth:`start` (the node calls it); ``batched=False`` scores
        inline, for one-off use such as ``causerie policy check``.
        """
        policy = load_policy(settings.policy_file)
        rules = load_rulebook(settings.pack_dirs)
        model = load_model_stage(settings, batched=batched) if with_model else None
        return cls(policy, rules, settings=settings, store=store, model=model, clock=clock)

    @property
    def policy_version(self) -> str:
        version = f"{self.policy.version}/{self.rules.version}"
        return f"{version}/{self.model.name}" if self.model is not None else version

    # -- the screen ----------------------------------------------------------------------------

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The policy's stages, in the order the chain runs them after the minors fence."""
        stages: list[Stage] = [LengthStage(self), RulesStage(self)]
        if self.model is not None:
            stages.append(ModelStage(self))
        stages += [StanceStage(self), ConversationStage(self), DecideStage(self)]
        return tuple(stages)

    async def screen(self, subject: Subject, forms: Forms | None = None) -> Verdict:
        """Decide on a subject with the policy alone (no minors fence): sanctions, then the
        policy's stages, then the decision acted on and recorded."""
        check = new_check(subject, forms, self.clock())
        await Chain([SanctionsStage(self), *self.stages]).run(check)
        return await self.conclude(check)

    async def evaluate(
        self,
        text: str,
        context: Context,
        *,
        forms: Forms | None = None,
        now: float | None = None,
    ) -> Decision:
        """Run the policy's stages on ``text`` and decide, changing nothing.

        Only the note of recently repeated text is kept; strikes, sanctions, conversation memory
        and records change in :meth:`conclude`, once the decision is acted on.
        """
        check = Check(
            forms=forms if forms is not None else read(text),
            context=context,
            now=self.clock() if now is None else now,
            started=time.perf_counter(),
        )
        await Chain(self.stages).run(check)
        return self.decision_of(check)

    def decision_of(self, check: Check) -> Decision:
        if check.decision is None:
            raise RuntimeError("the chain ended before the policy decided")
        return replace(check.decision, stages=tuple(check.stages), elapsed_ms=_ms(check.started))

    async def conclude(self, check: Check) -> Verdict:
        """Act on the chain's outcome: record the decision, count strikes, sanction; the verdict."""
        subject = check.subject
        if subject is None:
            raise RuntimeError("a subject is needed to act on a decision")
        if check.decision is None:
            if check.refusal is not None:
                return replace(check.refusal, stages=tuple(check.stages))
            raise RuntimeError("the chain ended before the policy decided")
        decision = self.decision_of(check)
        if decision.fixed:
            self._buffer_record(decision, subject)
        else:
            await self._apply(decision, subject)
        if check.refusal is not None:
            return replace(check.refusal, stages=decision.stages, decision_id=decision.id)
        return self._verdict(decision)

    # -- sanctions -----------------------------------------------------------------------------

    def _sanctioned(self, subject: Subject, check: Check) -> tuple[str, ...] | None:
        """A ban or mute in force: the check gets its fixed decision and refusal."""
        context, now = check.context, check.now
        ban = self.sanctions.active(context.author_key, "ban", now)
        if ban is not None:
            left = None if math.isinf(ban.until) else (ban.until - now) / 60
            code, message = wording.banned(left)
            check.decision = self._fixed_decision(check, Action.BAN, "sanction.banned")
            check.refusal = Verdict(
                deliver=False,
                action=Action.BAN,
                code=code,
                message=message,
                disconnect=subject.kind != "nickname",
                reasons=("sanction.banned",),
            )
            return check.refusal.reasons
        if subject.kind == "nickname":
            return None
        mute = self.sanctions.active(context.author_key, "mute", now)
        if mute is not None:
            code, message = wording.still_muted((mute.until - now) / 60)
            check.decision = self._fixed_decision(check, Action.MUTE, "sanction.muted")
            check.refusal = Verdict(
                deliver=False,
                action=Action.MUTE,
                code=code,
                message=message,
                reasons=("sanction.muted",),
            )
            return check.refusal.reasons
        return None

    def _fixed_decision(
        self, check: Check, action: Action, reason: str, *, fixed: bool = True
    ) -> Decision:
        return Decision(
            id=new_decision_id(check.now),
            at=check.now,
            context=check.context,
            normalised="",
            hits=(),
            scores={},
            own_scores={},
            action=action,
            category=None,
            escalate=False,
            stages=(),
            elapsed_ms=0.0,
            policy_version=self.policy_version,
            reasons=(reason,),
            fixed=fixed,
        )

    async def _load_author(self, author: str, now: float) -> None:
        """At entry, take the author's bans and strikes from the store: they may come from any
        node, and from before this process started."""
        if self.store is None:
            return
        for row in await self.store.active_sanctions(now, author):
            self.sanctions.put(author, Sanction(row.kind, row.ends_at, row.reason))
        horizon = now - 10 * self.strikes.half_life
        self.strikes.replace(author, await self.store.strikes_since(author, horizon))

    # -- acting on a decision ------------------------------------------------------------------

    async def _apply(self, decision: Decision, subject: Subject) -> None:
        context = decision.context
        now = decision.at
        if context.conversation is not None:
            self.memory.remember(context.author_key, context.conversation, decision.own_scores, now)
        sanction: SanctionRow | None = None
        if decision.action in (Action.MUTE, Action.BAN):
            kind = decision.action.label
            until = now + decision.sanction_minutes * 60 if decision.sanction_minutes else math.inf
            reason = f"{decision.category or 'strikes'}: {decision.id}"
            self.sanctions.put(context.author_key, Sanction(kind, until, reason))
            sanction = SanctionRow(context.author_key, kind, now, until, reason)
        if decision.strike_points:
            self.strikes.add(context.author_key, decision.strike_points, now)
        await self._record(decision, subject)
        if self.store is not None:
            if decision.strike_points:
                await self.store.add_strike(
                    context.author_key,
                    decision.strike_points,
                    decision.category.value if decision.category else None,
                    decision.id,
                    now,
                )
            if sanction is not None:
                await self.store.add_sanction(sanction, decision.id)

    def _verdict(self, decision: Decision) -> Verdict:
        labels = tuple(c.value for c, s in decision.scores.items() if s >= 0.35)
        common: dict[str, Any] = {
            "action": decision.action,
            "labels": labels,
            "reasons": decision.rules + list(decision.reasons),
            "thresholds": decision.thresholds,
            "policy_version": decision.policy_version,
            "stages": decision.stages,
            "decision_id": decision.id,
        }
        common["reasons"] = tuple(common["reasons"])
        if decision.delivers:
            return Verdict(
                deliver=True,
                blurred=decision.action == Action.BLUR,
                stored=self._stored_callback(decision.id),
                **common,
            )
        code, message = wording.refusal(
            decision.action,
            decision.category,
            kind=decision.context.kind,
            minutes=decision.sanction_minutes,
            warned=decision.warned,
        )
        return Verdict(
            deliver=False,
            code=code,
            message=message,
            disconnect=decision.action in (Action.KICK, Action.BAN),
            category=str(decision.category) if decision.category is not None else None,
            **common,
        )

    def _stored_callback(self, decision_id: str) -> Callable[[str], Awaitable[None]] | None:
        if self.store is None:
            return None

        async def stored(content_id: str) -> None:
            self.link(decision_id, content_id)

        return stored

    def link(self, decision_id: str, content_id: str) -> None:
        """Point a decision at the content stored after it (written with the next flush)."""
        pending = self._buffer.get(decision_id)
        if pending is not None:
            self._buffer[decision_id] = replace(pending, content_id=content_id)
        else:
            self._links.append((decision_id, content_id))

    # -- recording -----------------------------------------------------------------------------

    def _record_of(self, decision: Decision, subject: Subject) -> DecisionRecord:
        context = decision.context
        stages = {s.name: round(s.elapsed_ms, 4) for s in decision.stages}
        rules = decision.rules + list(decision.reasons)
        return DecisionRecord(
            id=decision.id,
            created_at=decision.at,
            subject_kind=context.kind,
            subject_hash=hashlib.sha256(subject.text.encode("utf-8", "replace")).hexdigest(),
            author_key=context.author_key,
            audience=context.audience,
            action=decision.action.label,
            category=decision.category.value if decision.category else None,
            escalated=decision.escalate,
            scores={c.value: s for c, s in decision.scores.items()},
            rules=rules,
            stages=stages,
            policy_version=decision.policy_version,
            elapsed_ms=round(decision.elapsed_ms, 4),
            room_id=subject.room.id if subject.room is not None else None,
            recipient_key=subject.recipient.nickname_key if subject.recipient else None,
        )

    def _buffer_record(self, decision: Decision, subject: Subject) -> None:
        if self.store is not None:
            self._buffer[decision.id] = self._record_of(decision, subject)

    async def _record(self, decision: Decision, subject: Subject) -> None:
        """Decisions to deliver are batched; refusals and escalations are written before the
        author hears of them, so that a moderator can always find what was refused and why."""
        if self.store is None:
            return
        record = self._record_of(decision, subject)
        if decision.delivers and not decision.escalate:
            self._buffer[record.id] = record
            if len(self._buffer) >= MAX_BUFFERED:
                await self.flush()
            return
        escalations: list[Escalation] = []
        if decision.escalate or decision.action == Action.HOLD:
            category = decision.category
            escalations.append(
                Escalation(
                    decision_id=decision.id,
                    created_at=decision.at,
                    reason="hold" if decision.action == Action.HOLD else "escalate",
                    category=category.value if category else None,
                    priority=priority_of(category),
                    source=_source_of(decision),
                    subject_kind=decision.context.kind,
                    author_key=decision.context.author_key,
                    author_nickname=subject.author.nickname,
                    text=subject.text,
                    room_id=record.room_id,
                    recipient_key=record.recipient_key,
                )
            )
        await self.store.add_decisions([record], escalations)

    async def flush(self) -> None:
        """Write the batched decisions and content links."""
        if self.store is None:
            return
        records = list(self._buffer.values())
        links = self._links
        self._buffer = {}
        self._links = []
        await self.store.add_decisions(records)
        await self.store.link_content(links)

    # -- reloading -----------------------------------------------------------------------------

    def _current_fingerprint(self) -> tuple[object, ...]:
        marks: list[object] = []
        with contextlib.suppress(OSError, PackError):
            marks.extend(fingerprint(self.settings.pack_dirs))
        path = self.settings.policy_file
        if path is not None:
            with contextlib.suppress(OSError):
                stat = Path(path).stat()
                marks.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(marks)

    def reload_if_changed(self) -> bool:
        """Reload packs and policy when their files changed; keep the old ones if invalid."""
        current = self._current_fingerprint()
        if current == self._fingerprint:
            return False
        self._fingerprint = current
        return self.reload()

    def reload(self) -> bool:
        try:
            policy = load_policy(self.settings.policy_file)
            rules = load_rulebook(self.settings.pack_dirs)
        except (PackError, PolicyError, OSError) as exc:
            log.error("safety packs or policy not reloaded, keeping the previous ones: %s", exc)
            return False
        self.policy, self.rules = policy, rules
        self.memory.policy = policy.conversation
        self.strikes.half_life = policy.strikes.half_life_hours * 3600
        log.info("safety policy %s reloaded", self.policy_version)
        return True

    async def refresh_sanctions(self) -> None:
        if self.store is None:
            return
        rows = await self.store.active_sanctions(self.clock())
        self.sanctions.replace_all(
            [(row.author_key, Sanction(row.kind, row.ends_at, row.reason)) for row in rows]
        )

    async def start(self) -> None:
        """Take the mutes and bans in force, and start the model's micro-batcher."""
        await self.refresh_sanctions()
        if self.model is not None and self.model.start is not None:
            await self.model.start()

    async def run(self) -> None:
        """Background work for the node's lifetime: flush records, reload, refresh sanctions."""
        flush_every = self.settings.record_flush_seconds
        reload_every = self.settings.reload_interval_seconds
        next_reload = time.monotonic() + reload_every
        try:
            while True:
                await asyncio.sleep(flush_every)
                try:
                    await self.flush()
                    if time.monotonic() >= next_reload:
                        next_reload = time.monotonic() + reload_every
                        self.reload_if_changed()
                        await self.refresh_sanctions()
                except Exception:
                    log.exception("safety background work failed")
        finally:
            # Shutdown: the last batch of decisions is written before the engine is closed.
            with contextlib.suppress(Exception):
                await self.flush()
            if self.model is not None and self.model.close is not None:
                with contextlib.suppress(Exception):
                    await self.model.close()


# -- the policy's stages ---------------------------------------------------------------------------


def new_check(subject: Subject, forms: Forms | None, now: float) -> Check:
    """A check for ``subject``, its text read once (here, unless the caller read it already)."""
    started = time.perf_counter()
    check = Check(
        forms=forms if forms is not None else read(subject.text),
        context=context_of(subject),
        now=now,
        started=started,
        subject=subject,
    )
    check.stages.append(StageResult("normalise", (time.perf_counter() - started) * 1000))
    return check


class SanctionsStage:
    """A muted or banned author is refused before anything else reads the text."""

    name = "sanctions"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        subject = check.subject
        if subject is None:
            return NOTHING
        pipeline = self.pipeline
        if subject.kind == "nickname":
            await pipeline._load_author(check.context.author_key, check.now)
        refused = pipeline._sanctioned(subject, check)
        if refused is None:
            return NOTHING
        return Signals(reasons=refused, stop=True)


class LengthStage:
    """Longer than the policy reads: refused without reading further."""

    name = "length"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        limit = self.pipeline.settings.max_chars
        if len(check.text) <= limit:
            return NOTHING
        code, message = wording.too_long(limit)
        # Recorded like any refusal, at once: a moderator can find what was refused and why.
        check.decision = self.pipeline._fixed_decision(check, Action.BLOCK, "too_long", fixed=False)
        check.refusal = Verdict(
            deliver=False, action=Action.BLOCK, code=code, message=message, reasons=("too_long",)
        )
        return Signals(reasons=("too_long",), stop=True)


class RulesStage:
    """The rule packs: a score per category from the rules that fired."""

    name = "rules"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline
        language.warm()

    async def run(self, check: Check) -> Signals:
        context = check.context
        # Names are read by every pack: a nickname carries no sentence to tell its language by.
        languages = None
        if context.kind not in NAME_KINDS:
            languages = partial(language.languages_of, check.text)
        hits = self.pipeline.rules.match(check.forms, context.audience, context.kind, languages)
        check.hits = tuple(hits)
        check.scores = _noisy_or(hits)
        return Signals(dict(check.scores), tuple(h.rule for h in hits))


# Leetspeak inside a word ("m0rt", "x4nax"), or a word spelt out letter by letter ("b a i s e r").
# Digits at a word's end are a name's or a quantity's ("Lea92", "15h"), not leetspeak: read as
# letters they make gibberish the encoder takes for a handle.
_OBFUSCATED = re.compile(r"[a-z][0-9@$!|€]+[a-z]|(?:\b[a-z0-9]\b ){3,}")


def _encoder_reads(check: Check) -> bool:
    """Whether the sentence encoder can read this text. A nickname is one token, and on one
    token the encoder's reading is noise: it took 141 of 1,819 ordinary nicknames ("Sarah92",
    "Marc_du_13") for handles or abuse. Nicknames, and room names or topics of fewer than two
    words, are left to the rules (and the n-gram model where it is on)."""
    kind = check.context.kind
    if kind == ContentKind.NICKNAME:
        return False
    if kind in NAME_KINDS:
        return len(_LETTER_WORDS.findall(check.forms.numbers)) >= 2
    return True


_LETTER_WORDS = re.compile(r"[a-z]{2,}")


def _unobfuscated(forms: Forms) -> str | None:
    """The text with its obfuscation undone, or None when it has none to undo."""
    if forms.latin_words and _OBFUSCATED.search(forms.numbers + " "):
        return forms.latin_words
    return None


class ModelStage:
    """The machine-learned stage: a probability per category, weighted, never slower than its
    timeout."""

    name = "model"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        pipeline = self.pipeline
        assert pipeline.model is not None
        timeout = pipeline.settings.model_timeout_ms / 1000
        semantic = pipeline.model.semantic
        scorer: Scorer | None = pipeline.model.scorer
        if semantic is not None and not _encoder_reads(check):
            scorer = pipeline.model.others
        if scorer is None:
            return Signals(reasons=("model.not_for_names",))
        scoring = [scorer.score(check.text)]
        # The encoder reads words, not "m0rt" or "b a i s e r": where undoing the obfuscation
        # changed the text, the semantic model also reads the undone form (the n-gram model
        # already reads it in its own features).
        if semantic is not None and check.context.kind in ("message", "private"):
            unobfuscated = _unobfuscated(check.forms)
            if unobfuscated is not None:
                scoring.append(semantic.score(unobfuscated))
        try:
            # One text is the usual case: awaited in place, not wrapped in two more tasks.
            async with asyncio.timeout(timeout):
                scored = [await scoring[0]] if len(scoring) == 1 else await asyncio.gather(*scoring)
        except TimeoutError:
            return Signals(reasons=("model.timeout",))
        except Exception:
            log.exception("the safety model failed on one text")
            return Signals(reasons=("model.error",))
        probabilities = _highest(scored)
        weight = pipeline.policy.model_weight
        # Below 0.01 a probability is noise: it is neither a score nor worth recording.
        weighted = {c: round(p * weight, 4) for c, p in probabilities.items() if p * weight >= 0.01}
        reasons = []
        for category, score in weighted.items():
            if score > check.scores.get(category, 0.0):
                check.scores[category] = score
                if score >= 0.35:
                    reasons.append(f"model.{category.value}")
        check.reasons.extend(reasons)
        return Signals(weighted, tuple(reasons))


# The encoder reads a text's first 300 characters (semantic.MAX_CHARS); of a conversation read
# together, the latest messages are the ones that matter.
_TOGETHER_CHARS = 300


class StanceStage:
    """A text that warns against a harm or reports on one names it: "its a scam, report it",
    "au journal ils parlaient d'un guet-apens", a stolen car's plate with "prévenez la police".
    Rules and model read the harm's words, not the stance: in such a text (moderation/stance.py)
    the policy's warning categories count for its warning factor. A critical rule (a category
    marker) is never softened."""

    name = "stance"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        policy = self.pipeline.policy
        softened = policy.warning_categories & check.scores.keys()
        if not softened or not warns(check.forms):
            return NOTHING
        for category in softened:
            if check.scores[category] < 1.0:
                check.scores[category] = round(check.scores[category] * policy.warning_factor, 4)
        return Signals(reasons=("stance.warning",))


class ConversationStage:
    """The author's recent scores in the same conversation, and repeated text."""

    name = "conversation"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        pipeline = self.pipeline
        context = check.context
        check.own_scores = dict(check.scores)
        reasons: list[str] = []
        if context.conversation is not None:
            risk = pipeline.memory.risk(
                context.author_key, context.conversation, check.scores, check.now
            )
            for category, score in risk.items():
                # The past raises a signal the message carries; it does not make a harmless
                # message harmful (an author blocked earlier may still say "pardon").
                own = check.own_scores.get(category, 0.0)
                if own < pipeline.policy.conversation.min_signal:
                    continue
                score = min(score, own + pipeline.policy.conversation.max_raise)
                if score > check.scores.get(category, 0.0) + 1e-9:
                    check.scores[category] = round(score, 4)
                    reasons.append(f"conversation.{category.value}")
        if context.conversation is not None and context.kind in ("message", "private"):
            flag = await self._read_together(check, context.conversation)
            if flag is not None:
                check.conversation_flag = flag
                reasons.append(f"conversation.semantic.{flag.value}")
        # Short replies ("ok", "mdr") are repeated innocently; spam is longer.
        key = check.forms.keys[0].text
        if context.kind in ("message", "private") and len(key) >= 12:
            repeats = pipeline.memory.repeats(context.author_key, key, check.now)
            if repeats >= pipeline.policy.conversation.repeat_count:
                check.scores[Category.SPAM] = max(check.scores.get(Category.SPAM, 0.0), 0.85)
                reasons.append(f"spam.repeated_{repeats}")
        check.reasons.extend(reasons)
        return Signals(reasons=tuple(reasons))

    async def _read_together(self, check: Check, conversation: str) -> Category | None:
        """The category the author's recent messages in this conversation reach when the
        semantic model reads them as one text, from the policy's ``semantic_from``-th message;
        None below the threshold, without the model, or when already sent to a moderator."""
        pipeline = self.pipeline
        policy = pipeline.policy.conversation
        scorer = pipeline.model.semantic if pipeline.model is not None else None
        if scorer is None or not policy.semantic_categories:
            return None
        context = check.context
        memory = pipeline.memory
        texts = memory.trail(context.author_key, conversation, check.text, check.now)
        if len(texts) < policy.semantic_from or not memory.reading_due(
            context.author_key, conversation, check.now
        ):
            return None
        if policy.semantic_needs_signal and not (
            any(
                check.own_scores.get(c, 0.0) >= policy.min_signal
                for c in policy.semantic_categories
            )
            or memory.carries_signal(
                context.author_key, conversation, policy.semantic_categories, check.now
            )
        ):
            # Nothing in the trail reads even faintly of a set-up: reading it together would
            # cost the encoder five lines' worth for nothing.
            return None
        wanted = set(policy.semantic_categories)
        # Grooming is an adult's approach to a minor: not among adults, nor among teens.
        if context.audience == "adults" or context.author_band != "18+":
            wanted.discard(Category.CHILD_SAFETY)
        timeout = pipeline.settings.model_timeout_ms / 1000
        try:
            joined = " . ".join(texts)[-_TOGETHER_CHARS:]
            probabilities = await asyncio.wait_for(scorer.score(joined), timeout)
        except TimeoutError:
            return None
        except Exception:
            log.exception("the semantic model failed on a conversation")
            return None
        threshold = policy.semantic_threshold
        reached = [(p, c) for c, p in probabilities.items() if c in wanted and p >= threshold]
        if not reached:
            return None
        if not pipeline.memory.flag(context.author_key, conversation, check.now):
            return None
        return max(reached)[1]


class DecideStage:
    """The policy's action for the scores in this context, then the strike ladder."""

    name = "decide"

    def __init__(self, pipeline: SafetyPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, check: Check) -> Signals:
        pipeline = self.pipeline
        context = check.context
        now = check.now
        outcome = pipeline.policy.decide(
            check.scores, context.audience, context.kind, context.situation
        )
        action = outcome.action
        minutes = 0.0
        if action == Action.MUTE:
            minutes = outcome.mute_minutes
        elif action == Action.BAN:
            minutes = outcome.ban_hours * 60
        warned = False
        points = 0.0
        ladder_reason: tuple[str, ...] = ()
        if context.kind in STRIKING_KINDS and action != Action.ALLOW:
            points = pipeline.policy.strikes.points.get(action, 0.0)
            total = pipeline.strikes.total(context.author_key, now) + points
            rung = pipeline.policy.strikes.rung_for(total) if points else None
            if rung is not None:
                ladder_reason = (f"strikes.{total:.1f}>={rung.at:g}:{rung.action.label}",)
                if rung.action == Action.WARN:
                    warned = True
                elif rung.action > action and context.kind not in NAME_KINDS:
                    action = rung.action
                    if rung.action == Action.MUTE:
                        minutes = rung.minutes or outcome.mute_minutes
                    elif rung.action == Action.BAN:
                        minutes = rung.minutes or outcome.ban_hours * 60
        category, escalate = outcome.category, outcome.escalate
        if check.conversation_flag is not None and not escalate:
            # The conversation goes to a moderator; the message is judged on its own.
            escalate = True
            category = category or check.conversation_flag
        check.decision = Decision(
            id=new_decision_id(now),
            at=now,
            context=context,
            normalised=check.forms.words,
            hits=check.hits,
            scores=check.scores,
            own_scores=check.own_scores or dict(check.scores),
            action=action,
            category=category,
            escalate=escalate,
            stages=(),
            elapsed_ms=0.0,
            policy_version=pipeline.policy_version,
            sanction_minutes=minutes,
            warned=warned,
            strike_points=points,
            reasons=tuple(check.reasons) + ladder_reason,
            thresholds=outcome.thresholds,
        )
        return Signals(reasons=(f"action.{action.label}", *ladder_reason))
