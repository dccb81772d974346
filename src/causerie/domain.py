"""The domain's values as types: who reads what, what was decided, what is reviewed.

This module imports nothing of causerie's: the protocol, the store, moderation and chat all speak
these types, so a rule written here (the age line, who a room admits) is written once.
Every enum is a ``StrEnum`` (or an ``IntEnum`` for ordered actions) whose values are the strings
stored in the database and sent on the wire, so that rows and frames map to them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

MIN_AGE = 13
MAX_AGE = 99
ADULT_AGE = 18


class DomainError(ValueError):
    """A value that is not one of the domain's (an unknown action or band name)."""


class AgeBand(StrEnum):
    """The three age bands; the age line runs between ``TEEN`` and ``ADULT``."""

    YOUNG_TEEN = "13-14"
    TEEN = "15-17"
    ADULT = "18+"

    @property
    def is_minor(self) -> bool:
        return self is not AgeBand.ADULT

    @property
    def ages(self) -> tuple[int, int]:
        """The lowest and highest age in the band."""
        return _BAND_AGES[self]

    @classmethod
    def of_age(cls, age: int) -> AgeBand:
        """The band of an age; below the minimum age it is the youngest band."""
        if age < 15:
            return cls.YOUNG_TEEN
        if age < ADULT_AGE:
            return cls.TEEN
        return cls.ADULT

    def same_side(self, other: AgeBand) -> bool:
        """Both minors or both adults: only then may two people see or write to each other."""
        return self.is_minor == other.is_minor

    def stricter(self, other: AgeBand) -> AgeBand:
        """The younger of two bands: the one with the stronger protections."""
        return self if _BAND_RANK[self] <= _BAND_RANK[other] else other

    @property
    def visible_ages(self) -> tuple[int, int]:
        """The ages a person in this band may see listed: minors minors, adults adults."""
        return (MIN_AGE, ADULT_AGE - 1) if self.is_minor else (ADULT_AGE, MAX_AGE)


_BAND_RANK = {AgeBand.YOUNG_TEEN: 0, AgeBand.TEEN: 1, AgeBand.ADULT: 2}
_BAND_AGES = {
    AgeBand.YOUNG_TEEN: (MIN_AGE, 14),
    AgeBand.TEEN: (15, ADULT_AGE - 1),
    AgeBand.ADULT: (ADULT_AGE, MAX_AGE),
}


class Side(StrEnum):
    """The side of the age line a person is on, as the web client receives it."""

    MINOR = "minor"
    ADULT = "adult"

    @classmethod
    def of(cls, band: AgeBand) -> Side:
        return cls.MINOR if band.is_minor else cls.ADULT


class Audience(StrEnum):
    """Who a room is for."""

    ALL = "all"
    TEENS = "teens"
    ADULTS = "adults"

    def admits(self, band: AgeBand) -> bool:
        """Whether a person of ``band`` may be in the room (age verification aside)."""
        if self is Audience.ADULTS:
            return not band.is_minor
        if self is Audience.TEENS:
            return band.is_minor
        return True

    @property
    def minors_may_read(self) -> bool:
        """An all-ages or a teen room: a minor can be there now or join and read its history."""
        return self is not Audience.ADULTS

    @property
    def one_side(self) -> bool:
        """A room that holds people of one side of the age line only."""
        return self is not Audience.ALL

    def shares_photos_from(self, band: AgeBand) -> bool:
        """Photos go only where every reader is on the sender's side of the age line: no
        adult's photo reaches a minor, and no minor's photo reaches an adult."""
        return self.one_side and self.admits(band)

    @classmethod
    def for_creator(cls, band: AgeBand) -> Audience:
        """Chatters' own rooms never mix the two sides: a minor's is a teen room."""
        return cls.TEENS if band.is_minor else cls.ADULTS


class Category(StrEnum):
    """The policy's harm categories: one name per category, for rules, models and reports."""

    # Child sexual exploitation and grooming signals.
    CHILD_SAFETY = "child_safety"
    SEXUAL = "sexual"
    # Prostitution and paid solicitation.
    SOLICITATION = "solicitation"
    DRUGS = "drugs"
    WEAPONS = "weapons"
    # Threats and violence.
    VIOLENCE = "violence"
    # Insults and bullying aimed at a person.
    HARASSMENT = "harassment"
    # Phone numbers, addresses, emails.
    PERSONAL_DATA = "personal_data"
    # Moves to another app (Snapchat, Telegram, WhatsApp handles and requests).
    OFF_PLATFORM = "off_platform"
    # Advertising, links, repeated text.
    SPAM = "spam"
    # Attacks on protected grounds: origin, religion, orientation, gender, disability; slurs and
    # dehumanisation.
    HATE = "hate"
    # Sexual acts without consent: drugging someone, intimate images shared without consent.
    NON_CONSENT = "non_consent"
    # Luring someone to a place to hurt or rob them (a fake date or sale, "come alone").
    AMBUSH = "ambush"
    # Fraud: fake sales and deposits, phishing, extortion, money asked by a stranger.
    SCAM = "scam"
    # Revealing where a third party can be found: school and class, workplace and shift, plate.
    DOXXING = "doxxing"

    @property
    def minor_floor(self) -> float | None:
        """The score from which content of this category never reaches a minor, whatever the
        policy's tuning. Sexual content stops at a low-severity rule's score; what puts young
        people at risk at the shipped all-ages bar, since a child's mention in a parent's or
        a teacher's line reads faintly of it."""
        return _MINOR_FLOORS.get(self)


_MINOR_FLOORS = {Category.SEXUAL: 0.35, Category.CHILD_SAFETY: 0.5}


class Action(IntEnum):
    """Decisions, from the mildest to the most severe: the most severe one reached wins."""

    ALLOW = 0
    # Delivered masked; adults may reveal it.
    BLUR = 1
    # Not delivered; the author is warned that more of it leads to a mute.
    WARN = 2
    # Not delivered now; kept for a moderator who may release it.
    HOLD = 3
    # Not delivered; the author is told which category.
    BLOCK = 4
    MUTE = 5
    KICK = 6
    BAN = 7

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def delivers(self) -> bool:
        return self in (Action.ALLOW, Action.BLUR)

    @classmethod
    def named(cls, name: str) -> Action:
        try:
            return cls[name.upper()]
        except KeyError:
            choices = ", ".join(a.label for a in cls)
            raise DomainError(f"unknown action {name!r}; choose among {choices}") from None


class ContentKind(StrEnum):
    """What a piece of content is; the subject kinds of moderation."""

    ROOM_MESSAGE = "message"
    PRIVATE_MESSAGE = "private"
    NICKNAME = "nickname"
    ROOM_NAME = "room_name"
    TOPIC = "topic"
    PHOTO = "photo"

    @property
    def is_name(self) -> bool:
        """Names are refused, never struck or sanctioned like messages."""
        return self in (ContentKind.NICKNAME, ContentKind.ROOM_NAME, ContentKind.TOPIC)


_CONTENT_PREFIX = {ContentKind.ROOM_MESSAGE: "m", ContentKind.PRIVATE_MESSAGE: "m"}


@dataclass(frozen=True, slots=True)
class ContentRef:
    """A stored piece of content: its kind and its id in that kind's store.

    ``str()`` gives the content id other stores keep ("m42" for message 42, which is the same for
    room and private messages because they share one table).
    """

    kind: ContentKind
    id: str

    def __str__(self) -> str:
        return f"{_CONTENT_PREFIX.get(self.kind, self.kind.value + ':')}{self.id}"

    @classmethod
    def message(cls, message_id: int, *, private: bool = False) -> ContentRef:
        kind = ContentKind.PRIVATE_MESSAGE if private else ContentKind.ROOM_MESSAGE
        return cls(kind, str(message_id))

    @property
    def message_id(self) -> int | None:
        """The message table's id, for a room or private message."""
        if self.kind in (ContentKind.ROOM_MESSAGE, ContentKind.PRIVATE_MESSAGE):
            return int(self.id)
        return None


class ConversationKey(str):
    """Where a conversation's risk is kept: one author in a room, a pair, or one person.

    A ``str`` subclass so that it is stored as it is; build it only with the constructors.
    """

    __slots__ = ()

    @classmethod
    def room(cls, room_id: str, author_key: str) -> ConversationKey:
        """A chatter's conversation in a room: what they say there, to whoever reads it."""
        return cls(f"room:{room_id}:{author_key}")

    @classmethod
    def pair(cls, first_key: str, second_key: str) -> ConversationKey:
        """A private conversation, the same whichever of the two writes."""
        low, high = sorted((first_key, second_key))
        return cls(f"pair:{low}:{high}")

    @classmethod
    def person(cls, key: str) -> ConversationKey:
        """Flags about a chatter rather than a conversation (an age claim)."""
        return cls(f"person:{key}")

    @property
    def kind(self) -> str:
        return self.split(":", 1)[0]


class TargetKind(StrEnum):
    """What a report or a sanction is aimed at."""

    MESSAGE = "message"
    PRIVATE_MESSAGE = "private"
    PERSON = "person"
    ROOM = "room"
    TOPIC = "topic"
    PHOTO = "photo"


@dataclass(frozen=True, slots=True)
class Target:
    """The item a report, a review job or a sanction is about: a message id, a nickname key,
    a room id."""

    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, value: str) -> Target:
        kind, sep, ident = value.partition(":")
        if not sep or not ident:
            raise DomainError(f"a target is written kind:id, not {value!r}")
        try:
            return cls(TargetKind(kind), ident)
        except ValueError:
            choices = ", ".join(k.value for k in TargetKind)
            raise DomainError(f"unknown target kind {kind!r}; choose among {choices}") from None


class ReviewQueue(StrEnum):
    """The queues of the one review queue; child safety is seen by its own moderators only."""

    CHILD_SAFETY = "child_safety"
    VIOLENCE = "violence"
    GENERAL = "general"
    APPEALS = "appeals"


class JobStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"
