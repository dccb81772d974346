"""What moderation is asked about (a :class:`Subject`) and its one answer (a :class:`Verdict`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from causerie.domain import Action, AgeBand, ContentKind
from causerie.errors import ErrorCode
from causerie.store.presence import OnlineSession
from causerie.store.rooms import RoomRow


@dataclass(frozen=True, slots=True)
class Author:
    session_id: str
    nickname: str
    key: str
    age: int
    band: AgeBand


@dataclass(frozen=True, slots=True)
class Subject:
    """A piece of content someone wants others to see, with what is known of its context."""

    kind: ContentKind
    text: str
    author: Author
    room: RoomRow | None = None
    recipient: OnlineSession | None = None


@dataclass(frozen=True, slots=True)
class StageResult:
    """One stage's outcome: its scores (when it has any), its reasons and its time."""

    name: str
    elapsed_ms: float
    scores: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rebanding:
    """An age claim moves its author to a younger band; chat applies it to the session."""

    age: int
    band: AgeBand
    claim_age: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The one decision on a subject. ``deliver`` False means nobody else receives it."""

    deliver: bool = True
    action: Action = Action.ALLOW
    # The text to deliver, which a policy may have masked.
    text: str | None = None
    code: ErrorCode | None = None
    message: str = ""
    # Close the author's connection after answering (kick, ban).
    disconnect: bool = False
    labels: tuple[str, ...] = ()
    # The policy category the decision is about, so that clients can name it in their own words.
    category: str | None = None
    # Deliver masked: recipients see it only if they choose to (adults only).
    blurred: bool = False
    reasons: tuple[str, ...] = ()
    # The threshold that chose the action, per category ("drugs": 0.7), where a policy chose it.
    thresholds: dict[str, float] = field(default_factory=dict)
    policy_version: str = ""
    stages: tuple[StageResult, ...] = ()
    # The author claimed a younger age: chat re-bands the session before anything else.
    rebanding: Rebanding | None = None
    # The recorded decision, and what to call once the content is stored with its id
    # ("m<message id>"), so that the decision record points at the content it was about.
    decision_id: str | None = None
    stored: Callable[[str], Awaitable[None]] | None = None
    # What the refusal names besides its code (the room it is about).
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def timings(self) -> dict[str, float]:
        return {stage.name: stage.elapsed_ms for stage in self.stages}
