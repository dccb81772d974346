"""The moderation chain: ordered stages, each timed by the chain, all filling one :class:`Check`.

A stage is a small object with a ``name`` and an async ``run(check)`` that reads the check (the
subject, its :class:`~causerie.moderation.forms.Forms`, what earlier stages found) and returns
its :class:`Signals`: scores per category and reasons, and whether the chain stops there (a
refusal). The chain times every stage, so timings are never written by hand.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from causerie.domain import Category
from causerie.moderation.forms import Forms
from causerie.moderation.verdict import Rebanding, StageResult, Subject, Verdict

if TYPE_CHECKING:
    from causerie.safety.packs import Hit
    from causerie.safety.pipeline import Context, Decision
    from causerie.trust.signals import Detection, Signal


@dataclass(frozen=True, slots=True)
class Signals:
    """What one stage found."""

    scores: Mapping[Category, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    # The stage refused the subject: no later stage runs.
    stop: bool = False


NOTHING = Signals()


@dataclass(slots=True)
class Check:
    """One subject on its way through the chain: what each stage reads and adds to."""

    forms: Forms
    context: Context
    now: float
    started: float
    subject: Subject | None = None
    # Rules and models.
    hits: tuple[Hit, ...] = ()
    scores: dict[Category, float] = field(default_factory=dict)
    own_scores: dict[Category, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    # The semantic reading of the author's recent messages together: a category for a moderator
    # to look at, even when this message alone is delivered.
    conversation_flag: Category | None = None
    # The minors fence.
    detection: Detection | None = None
    signals: frozenset[Signal] = frozenset()
    rebanding: Rebanding | None = None
    # The policy's decision, once the decide stage ran.
    decision: Decision | None = None
    # A stage's refusal: the verdict the author gets.
    refusal: Verdict | None = None
    stages: list[StageResult] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.forms.original


class Stage(Protocol):
    @property
    def name(self) -> str: ...

    async def run(self, check: Check) -> Signals:
        """Read the check, add to it, and say what was found."""


class Chain:
    """Stages in order; :meth:`run` times each and stops at the first that refuses."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    async def run(self, check: Check) -> Check:
        for stage in self.stages:
            mark = time.perf_counter()
            found = await stage.run(check)
            check.stages.append(
                StageResult(
                    stage.name,
                    (time.perf_counter() - mark) * 1000,
                    {c.value: s for c, s in found.scores.items()},
                    found.reasons,
                )
            )
            if found.stop:
                break
        return check
