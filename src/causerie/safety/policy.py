"""The policy: what each score leads to, per category and audience, and the strike ladder.

``causerie/data/policy.toml`` is the default; an operator points ``safety.policy_file`` at their
own. Everything here is pure: given scores and a context, :meth:`Policy.decide` says what to do.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from causerie.domain import Action, Category, DomainError

__all__ = ["Action", "Category", "Policy", "PolicyError", "load_policy", "parse_policy"]
from causerie.safety.packs import AUDIENCES


class PolicyError(ValueError):
    pass


# The key in a threshold table that adds an escalation to whatever action is chosen.
ESCALATE = "escalate"
# The table that applies to nicknames, room names and topics, whatever the audience.
NAMES = "names"
NAME_KINDS = frozenset({"nickname", "room_name", "topic"})
# Situations narrower than an audience, each falling back to its audience's table when a
# category has none: a private conversation between two adults, one between two minors, and a
# minor writing in a teen room (teens asking each other's age or swapping contacts for homework
# are not predators; the minors fence still scores every such message).
SITUATIONS = ("private_adults", "private_teens", "teens_room")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """For one category in one context: the lowest score at which each action applies."""

    actions: tuple[tuple[float, Action], ...]
    escalate_at: float | None = None

    def action_for(self, score: float) -> Action:
        chosen = Action.ALLOW
        for at, action in self.actions:
            if score >= at and action > chosen:
                chosen = action
        return chosen

    def escalates(self, score: float) -> bool:
        return self.escalate_at is not None and score >= self.escalate_at


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    by_context: dict[str, Thresholds]
    mute_minutes: float
    ban_hours: float


@dataclass(frozen=True, slots=True)
class Rung:
    at: float
    action: Action
    minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class StrikePolicy:
    half_life_hours: float
    points: dict[Action, float]
    ladder: tuple[Rung, ...]

    def rung_for(self, total: float) -> Rung | None:
        chosen: Rung | None = None
        for rung in self.ladder:
            if total >= rung.at and (chosen is None or rung.at > chosen.at):
                chosen = rung
        return chosen


@dataclass(frozen=True, slots=True)
class ConversationPolicy:
    # Past messages of the same author in the same conversation add up, fading with this.
    half_life_minutes: float
    weight: float
    max_messages: int
    categories: frozenset[Category]
    # Below this a message carries no signal of its own (a model's faint probabilities): the
    # conversation neither raises it nor remembers it.
    min_signal: float
    # The past raises a message's own score by at most this: it makes a medium signal a refusal,
    # never a faint one (the same faint model reading over twenty lines is one piece of evidence,
    # not twenty independent ones).
    max_raise: float
    repeat_count: int
    repeat_window_seconds: float
    # The semantic model reads the author's last ``semantic_window`` messages in a conversation
    # together, from the ``semantic_from``-th on; a probability from ``semantic_threshold`` in one
    # of ``semantic_categories`` sends the conversation to a moderator (the message still goes).
    semantic_categories: frozenset[Category] = frozenset()
    semantic_from: int = 3
    semantic_window: int = 6
    # Read together after every ``semantic_every``-th text only: each reading costs the encoder
    # about five lines' worth.
    semantic_every: int = 2
    semantic_threshold: float = 0.5
    # Read together only when one of the trail's texts (this one included) carries a signal of
    # its own (min_signal) in one of the semantic categories.
    semantic_needs_signal: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the policy decided for one subject, before strikes."""

    action: Action
    category: Category | None
    escalate: bool
    mute_minutes: float = 0.0
    ban_hours: float = 0.0
    # The score at which the chosen action starts, for the category that chose it.
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    version: str
    categories: dict[Category, CategoryPolicy]
    strikes: StrikePolicy
    conversation: ConversationPolicy
    model_weight: float
    # A text that warns against a harm or reports on one (moderation/stance.py) has its scores
    # in these categories multiplied by this: rules and model read the topic, not the stance.
    warning_factor: float = 1.0
    warning_categories: frozenset[Category] = frozenset()
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def thresholds(
        self, category: Category, audience: str, kind: str, situation: str | None = None
    ) -> Thresholds | None:
        tables = self.categories[category].by_context
        if kind in NAME_KINDS and NAMES in tables:
            return tables[NAMES]
        if situation is not None and situation in tables:
            return tables[situation]
        return tables.get(audience)

    def decide(
        self,
        scores: dict[Category, float],
        audience: str,
        kind: str,
        situation: str | None = None,
    ) -> Outcome:
        """The most severe action any category reaches, and whether to escalate."""
        action = Action.ALLOW
        worst: Category | None = None
        worst_score = 0.0
        escalate = False
        for category, score in scores.items():
            table = self.thresholds(category, audience, kind, situation)
            if table is None or score <= 0:
                continue
            reached = table.action_for(score)
            escalate = escalate or table.escalates(score)
            if reached > action or (reached == action != Action.ALLOW and score > worst_score):
                action, worst, worst_score = reached, category, score
        if worst is None and escalate:
            worst = max(scores, key=lambda c: scores[c])
        if kind in NAME_KINDS and action > Action.ALLOW:
            # A name is shown to everyone for as long as it exists: anything but "allow" refuses it.
            action = Action.BLOCK
        policy = self.categories[worst] if worst is not None else None
        thresholds: dict[str, float] = {}
        table = self.thresholds(worst, audience, kind, situation) if worst is not None else None
        if worst is not None and table is not None:
            starts = [at for at, reached in table.actions if reached == action]
            if starts:
                thresholds[worst.value] = min(starts)
        return Outcome(
            action=action,
            category=worst,
            escalate=escalate,
            thresholds=thresholds,
            mute_minutes=policy.mute_minutes if policy else 0.0,
            ban_hours=policy.ban_hours if policy else 0.0,
        )


def _number(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}: {key} must be a number")
    return float(value)


def _flag(table: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise PolicyError(f"{where}: {key} must be true or false")
    return value


def _thresholds(raw: object, where: str) -> Thresholds:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be a table such as {{ block = 0.6, escalate = 0.9 }}")
    actions: list[tuple[float, Action]] = []
    escalate_at: float | None = None
    for name in raw:
        at = _number(raw, name, where)
        if not 0 < at <= 1:
            raise PolicyError(f"{where}: {name} must be a score in (0, 1]")
        if name == ESCALATE:
            escalate_at = at
        else:
            actions.append((at, _action(name)))
    return Thresholds(tuple(sorted(actions)), escalate_at)


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise PolicyError(f"{source}: needs a version string (recorded with every decision)")
    raw_categories = data.get("category", {})
    if not isinstance(raw_categories, dict):
        raise PolicyError(f"{source}: [category.<name>] tables expected")
    categories: dict[Category, CategoryPolicy] = {}
    for name, table in raw_categories.items():
        where = f"{source}: category.{name}"
        try:
            category = Category(name)
        except ValueError:
            raise PolicyError(f"{where}: unknown category") from None
        if not isinstance(table, dict):
            raise PolicyError(f"{where}: must be a table")
        contexts: dict[str, Thresholds] = {}
        for key, value in table.items():
            if key in (*AUDIENCES, NAMES, *SITUATIONS):
                contexts[key] = _thresholds(value, f"{where}.{key}")
            elif key not in ("mute_minutes", "ban_hours"):
                raise PolicyError(f"{where}: unknown key {key!r}")
        categories[category] = CategoryPolicy(
            by_context=contexts,
            mute_minutes=_number(table, "mute_minutes", where, 15),
            ban_hours=_number(table, "ban_hours", where, 24),
        )
    missing = set(Category) - set(categories)
    if missing:
        raise PolicyError(f"{source}: no thresholds for {sorted(c.value for c in missing)}")

    strikes_raw = data.get("strikes", {})
    where = f"{source}: strikes"
    points: dict[Action, float] = {}
    for name in strikes_raw.get("points", {}):
        points[_action(name)] = _number(strikes_raw["points"], name, f"{where}.points")
    ladder: list[Rung] = []
    for index, rung in enumerate(strikes_raw.get("ladder", [])):
        rung_where = f"{where}.ladder[{index}]"
        action = _action(str(rung.get("action", "")))
        if action not in (Action.WARN, Action.MUTE, Action.KICK, Action.BAN):
            raise PolicyError(f"{rung_where}: a rung warns, mutes, kicks or bans")
        ladder.append(
            Rung(
                at=_number(rung, "at", rung_where),
                action=action,
                minutes=_number(rung, "minutes", rung_where, 0),
            )
        )
    strikes = StrikePolicy(
        half_life_hours=_number(strikes_raw, "half_life_hours", where, 24),
        points=points,
        ladder=tuple(ladder),
    )
    if strikes.half_life_hours <= 0:
        raise PolicyError(f"{where}: half_life_hours must be positive")

    conv = data.get("conversation", {})
    where = f"{source}: conversation"
    try:
        conv_categories = frozenset(Category(c) for c in conv.get("categories", []))
        semantic_categories = frozenset(Category(c) for c in conv.get("semantic_categories", []))
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    semantic_from = int(_number(conv, "semantic_from", where, 3))
    semantic_window = int(_number(conv, "semantic_window", where, 6))
    semantic_every = int(_number(conv, "semantic_every", where, 2))
    if semantic_from < 1 or semantic_window < 1 or semantic_every < 1:
        raise PolicyError(
            f"{where}: semantic_from, semantic_window and semantic_every must be at least 1"
        )
    conversation = ConversationPolicy(
        half_life_minutes=_number(conv, "half_life_minutes", where, 30),
        weight=_number(conv, "weight", where, 0.6),
        max_messages=int(_number(conv, "max_messages", where, 20)),
        categories=conv_categories,
        min_signal=_number(conv, "min_signal", where, 0.2),
        max_raise=_number(conv, "max_raise", where, 0.25),
        repeat_count=int(_number(conv, "repeat_count", where, 3)),
        repeat_window_seconds=_number(conv, "repeat_window_seconds", where, 120),
        semantic_categories=semantic_categories,
        semantic_from=semantic_from,
        semantic_window=semantic_window,
        semantic_every=semantic_every,
        semantic_threshold=_number(conv, "semantic_threshold", where, 0.5),
        semantic_needs_signal=_flag(conv, "semantic_needs_signal", where, False),
    )
    model = data.get("model", {})
    stance = data.get("stance", {})
    try:
        warning_categories = frozenset(Category(c) for c in stance.get("categories", []))
    except ValueError as exc:
        raise PolicyError(f"{source}: stance: {exc}") from None
    warning_factor = _number(stance, "warning_factor", f"{source}: stance", 1.0)
    if not 0 <= warning_factor <= 1:
        raise PolicyError(f"{source}: stance: warning_factor must be between 0 and 1")
    return Policy(
        version=version,
        categories=categories,
        strikes=strikes,
        conversation=conversation,
        model_weight=_number(model, "weight", f"{source}: model", 0.8),
        warning_factor=warning_factor,
        warning_categories=warning_categories,
        source=source,
        raw=data,
    )


def load_policy(path: Path | None = None) -> Policy:
    """The operator's policy file, or the one that ships with causerie."""
    if path is None:
        source = "causerie/data/policy.toml"
        text = resources.files("causerie.data").joinpath("policy.toml").read_text("utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{source}: cannot read the policy file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    return parse_policy(data, source)


def _action(name: str) -> Action:
    try:
        return Action.named(name)
    except DomainError as error:
        raise PolicyError(str(error)) from None
