"""The rules of the protection of minors, as pure functions: who may enter, see, write to whom.

Nothing here does I/O; :class:`causerie.trust.fence.MinorsFence` applies these rulings and the
chat service calls the fence on every path. Every refusal carries a sentence a 13-year-old can
understand: the web client shows it as it is, or its own translation of the error code.

The model in one table (docs/safety.md has the long version):

=====================  ===============  ===============  =================================
                       13-14, 15-17     18+ unverified   18+ verified
=====================  ===============  ===============  =================================
all-ages rooms         yes              yes, strictest   yes, strictest
teen rooms             yes              no               no
adults-only rooms      no               no               yes
private with minors    yes              no               no
private with adults    no               yes              yes
people list shows      minors only      adults only      adults only
=====================  ===============  ===============  =================================
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import Enum, auto

from causerie.domain import AgeBand, Audience
from causerie.errors import ErrorCode
from causerie.trust.signals import Signal

# -- rooms ---------------------------------------------------------------------------------------


class RoomAccess(Enum):
    ALLOWED = auto()
    ADULTS_ONLY = auto()
    TEENS_ONLY = auto()
    VERIFICATION_REQUIRED = auto()


def room_access(
    band: AgeBand, audience: Audience, *, verified: bool, verification_required: bool
) -> RoomAccess:
    if not audience.admits(band):
        return RoomAccess.ADULTS_ONLY if band.is_minor else RoomAccess.TEENS_ONLY
    if audience is Audience.ADULTS and verification_required and not verified:
        return RoomAccess.VERIFICATION_REQUIRED
    return RoomAccess.ALLOWED


# -- what a message may carry -------------------------------------------------------------------

# How much each signal adds to a conversation's risk score when a minor's message carries it; an
# adult's count ``adult_signal_factor`` times as much (MinorsSettings).
WEIGHTS: dict[Signal, float] = {
    Signal.ASK_AGE: 1.5,
    Signal.ASK_LOCATION: 2.0,
    Signal.ASK_SCHOOL: 2.0,
    Signal.ASK_PHOTO: 5.0,
    Signal.SECRECY: 6.0,
    Signal.MEETING: 4.0,
    Signal.OFF_PLATFORM: 4.0,
    Signal.APP_MENTION: 1.0,
    Signal.CONTACT_HANDLE: 4.0,
    Signal.LINK: 1.0,
    Signal.IMAGE: 3.0,
    Signal.GIFTS_MONEY: 5.0,
}
# An adult writing privately to a minor, or trying a teen room: refused, and it counts.
PRIVATE_ATTEMPT_WEIGHT = 3.0
TEEN_ROOM_ATTEMPT_WEIGHT = 5.0

# Never from an adult where a minor can read it, in any space.
ADULT_NEVER_TO_MINOR = frozenset(
    {
        Signal.LINK,
        Signal.IMAGE,
        Signal.CONTACT_HANDLE,
        Signal.OFF_PLATFORM,
        Signal.MEETING,
        Signal.ASK_PHOTO,
        Signal.SECRECY,
        Signal.GIFTS_MONEY,
    }
)
# From an adult where a minor can read it, these are escalated at once, whatever the score.
ADULT_ESCALATE_AT_ONCE = ADULT_NEVER_TO_MINOR - {Signal.LINK}
# A minor's own contact details or meeting plans stay out of rooms adults can read.
MINOR_DETAILS = frozenset({Signal.CONTACT_HANDLE, Signal.OFF_PLATFORM, Signal.MEETING})


class Say:
    """The sentences chatters read, plain enough for a 13-year-old."""

    ADULTS_ONLY = "This room is for adults only."
    TEENS_ONLY = "This room is only for 13 to 17 year olds."
    VERIFICATION_REQUIRED = (
        "This is for adults who have proved they are over 18. Verify your age to use it."
    )
    VERIFICATION_FAILED = "We could not check your age with this proof. Try again with a new one."
    STAYS_MINOR = "You told us you are under 18, so that stays: adults-only rooms remain closed."
    NO_VERIFIER = (
        "Age verification is not set up on this site yet, so adults-only rooms are closed."
    )
    PRIVATE_MINOR_TO_ADULT = (
        "Private chats between under-18s and adults are not possible here. This keeps you safe."
    )
    PRIVATE_ADULT_TO_MINOR = "You cannot write privately to this person."
    FROZEN = "This conversation is paused while our team checks it."
    MINORS_PROTECTED = (
        "Links, photos, contact details, other apps and invitations to meet are not allowed"
        " where under-18s can read them."
    )
    CONTACT_DETAILS = (
        "To keep you safe, don't share your contact details or other apps, or plan to meet,"
        " here: not everyone in this room is your age."
    )
    NOT_FOR_MINORS = "This message can't be sent where under-18s can read it."
    REBANDED = (
        "You wrote that you are under 18, so causerie now treats you as under 18:"
        " adults-only rooms and private chats with adults are closed to you."
    )
    REMEMBERED = (
        "This device told us a younger age a short while ago, so causerie keeps the protections"
        " for under-18s on it for now."
    )
    TOO_YOUNG = "causerie is open from 13 years old."

    @staticmethod
    def too_young_remembered(until: float) -> str:
        """Why a device is refused after an under-13 age, and until when."""
        when = time.strftime("%d/%m at %H:%M UTC", time.gmtime(until))
        return (
            "causerie is open from 13 years old, and this device told us an age under 13 a"
            f" short while ago. It can enter again from {when}. If the age was a typing"
            " mistake, that wait is the price: it stops children from simply trying again"
            " with an older age."
        )


@dataclass(frozen=True, slots=True)
class Ruling:
    """What the fence does with one message, before the safety pipeline sees it."""

    refuse: ErrorCode | None = None
    message: str = ""
    # Added to the conversation's risk score.
    weight: float = 0.0
    # Escalate now, whatever the score.
    escalate: bool = False
    # False when no minor is involved: nothing is scored or recorded.
    involves_minor: bool = False


NOTHING = Ruling()


def _weight(signals: frozenset[Signal], factor: float) -> float:
    return factor * sum(WEIGHTS[s] for s in signals)


def rule_room_message(
    author: AgeBand, audience: str, signals: frozenset[Signal], *, adult_factor: float
) -> Ruling:
    if not Audience(audience).minors_may_read:
        return NOTHING
    if not author.is_minor:
        weight = _weight(signals, adult_factor)
        if signals & ADULT_NEVER_TO_MINOR:
            return Ruling(
                refuse=ErrorCode.MINORS_PROTECTED,
                message=Say.MINORS_PROTECTED,
                weight=weight,
                escalate=bool(signals & ADULT_ESCALATE_AT_ONCE),
                involves_minor=True,
            )
        return Ruling(weight=weight, involves_minor=True)
    weight = _weight(signals, 1.0)
    if audience == "all" and signals & MINOR_DETAILS:
        return Ruling(
            refuse=ErrorCode.CONTACT_DETAILS_REFUSED,
            message=Say.CONTACT_DETAILS,
            weight=weight,
            involves_minor=True,
        )
    return Ruling(weight=weight, involves_minor=True)


def rule_private(
    author: AgeBand, recipient: AgeBand, signals: frozenset[Signal], *, adult_factor: float
) -> Ruling:
    if not author.same_side(recipient):
        if author.is_minor:
            # A minor is never escalated for trying; the refusal is the protection.
            return Ruling(
                refuse=ErrorCode.CONVERSATION_FORBIDDEN,
                message=Say.PRIVATE_MINOR_TO_ADULT,
                involves_minor=True,
            )
        return Ruling(
            refuse=ErrorCode.CONVERSATION_FORBIDDEN,
            message=Say.PRIVATE_ADULT_TO_MINOR,
            weight=adult_factor * PRIVATE_ATTEMPT_WEIGHT + _weight(signals, adult_factor),
            escalate=bool(signals & ADULT_ESCALATE_AT_ONCE),
            involves_minor=True,
        )
    if not author.is_minor:
        return NOTHING
    return Ruling(weight=_weight(signals, 1.0), involves_minor=True)


def teen_room_attempt(*, adult_factor: float) -> Ruling:
    return Ruling(
        refuse=ErrorCode.ROOM_FORBIDDEN,
        message=Say.TEENS_ONLY,
        weight=adult_factor * TEEN_ROOM_ATTEMPT_WEIGHT,
        involves_minor=True,
    )


# -- conversation risk over time ----------------------------------------------------------------


def decayed(score: float, elapsed: float, half_life: float) -> float:
    """A risk score ``elapsed`` seconds later: it halves every ``half_life`` seconds."""
    if score <= 0 or elapsed <= 0:
        return max(score, 0.0)
    return score * math.pow(0.5, elapsed / half_life)
