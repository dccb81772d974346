"""Every frame of the chat protocol, one msgspec struct each.

Frames are JSON objects with a ``type`` field. The client sends :data:`ClientFrame`; the server
sends :data:`ServerFrame`, either one object per WebSocket message or, when several are ready at
once, a JSON array of them. docs/protocol.md documents each struct here field by field, and the
Python client decodes with the same definitions.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from causerie.domain import AgeBand, Audience

Gender = Literal["woman", "man", "nonbinary", "other"]
GENDERS: tuple[str, ...] = ("woman", "man", "nonbinary", "other")
RoomKind = Literal["themed", "regional", "user"]
# A client's id for one message it sends, the same on every retry (docs/protocol.md, "Acks").
RequestId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class _ClientFrame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


# ---------------------------------------------------------------------------------------------
# Client to server


class Enter(_ClientFrame, tag="enter"):
    nickname: str
    age: int
    gender: str
    postal_code: str
    # A random token the browser keeps (localStorage): coming back from the same device under
    # another age keeps the younger one. Only a keyed, short-lived hash of it is stored.
    device: str | None = None
    # An age verification token proving "over 18" (see ``verify_age``).
    age_token: str | None = None


class ListRooms(_ClientFrame, tag="rooms"):
    pass


class Join(_ClientFrame, tag="join"):
    rooms: list[str]


class Leave(_ClientFrame, tag="leave"):
    rooms: list[str]


class Members(_ClientFrame, tag="members"):
    room: str
    # The ``next`` of the page before (``joined`` or ``member_list``); empty: the first page.
    after: Annotated[str, msgspec.Meta(max_length=64)] = ""


class Say(_ClientFrame, tag="say"):
    room: str
    text: str
    # Echoed in the ``ack`` or ``error`` that answers this frame.
    ref: str | None = None
    # The same on a retry: a request already acknowledged is answered with its first ack.
    request: RequestId | None = None


class SendPrivate(_ClientFrame, tag="private"):
    to: str
    text: str
    ref: str | None = None
    request: RequestId | None = None


class Typing(_ClientFrame, tag="typing"):
    room: str | None = None
    to: str | None = None


class Ignore(_ClientFrame, tag="ignore"):
    nickname: str


class Unignore(_ClientFrame, tag="unignore"):
    nickname: str


class People(_ClientFrame, tag="people"):
    age_band: AgeBand | None = None
    gender: str | None = None
    region: str | None = None


class CreateRoom(_ClientFrame, tag="create_room"):
    name: str
    topic: str = ""


class SetTopic(_ClientFrame, tag="set_topic"):
    room: str
    topic: str


class Ping(_ClientFrame, tag="ping"):
    ref: str | None = None


class VerifyAge(_ClientFrame, tag="verify_age"):
    """Hand over a third-party token that proves only "over 18" (answered by ``age_verified``)."""

    token: str
    ref: str | None = None


class Report(_ClientFrame, tag="report"):
    """Report an item (EU DSA Art. 16): answered by ``reported`` with the report's id.

    ``target`` names the item as ``kind:id``: ``message:42``, ``private:43``, ``person:<nickname>``,
    ``room:<room id>``, ``topic:<room id>``, ``photo:<photo id>``; ``reason`` is a policy category
    or ``other``.
    """

    target: str
    reason: str
    details: str = ""
    ref: str | None = None


class ListStatements(_ClientFrame, tag="statements"):
    """Ask for the statements of reasons that concern this chatter (answered by ``statements``)."""

    ref: str | None = None


class Appeal(_ClientFrame, tag="appeal"):
    """Appeal a statement of reasons (EU DSA Art. 20), within six months."""

    statement: str
    text: str
    ref: str | None = None


class Resume(_ClientFrame, tag="resume"):
    """Come back as the same chatter after a reload or a dropped connection (instead of
    ``enter``), with the ``resume_token`` of the last ``welcome``."""

    token: str
    device: str | None = None


class Logout(_ClientFrame, tag="logout"):
    """Leave the site on purpose: the resume token stops working and the server closes."""


class PrivateHistory(_ClientFrame, tag="private_history"):
    """What was said with ``nickname`` within the visible window (answered by
    ``private_history``)."""

    nickname: str


class PhotoUpload(_ClientFrame, tag="photo_upload"):
    """Ask to send a photo to a room or a person: answered by ``upload_granted``, after which the
    photo goes as one binary WebSocket message."""

    room: str | None = None
    to: str | None = None
    caption: str = ""
    ref: str | None = None


ClientFrame = (
    Enter
    | ListRooms
    | Join
    | Leave
    | Members
    | Say
    | SendPrivate
    | Typing
    | Ignore
    | Unignore
    | People
    | CreateRoom
    | SetTopic
    | Ping
    | VerifyAge
    | Report
    | ListStatements
    | Appeal
    | Resume
    | Logout
    | PrivateHistory
    | PhotoUpload
)


# ---------------------------------------------------------------------------------------------
# Server to client


class _ServerFrame(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class Person(msgspec.Struct):
    """A chatter as others see them: never an address, a postal code or a session secret."""

    nickname: str
    age: int
    gender: str
    region: str
    department: str
    # The nickname's key (two nicknames with one key are one person) and the side of the age
    # line ("minor" or "adult"), so that clients never derive either themselves.
    key: str = ""
    side: str = ""


class RoomInfo(msgspec.Struct):
    id: str
    name: str
    kind: RoomKind
    audience: Audience
    count: int
    topic: str = ""
    region: str = ""
    # English name and topic, where the operator gave them.
    name_en: str = ""
    topic_en: str = ""


class RoomMessage(_ServerFrame, tag="message"):
    id: int
    room: str
    sender: str
    text: str
    at: float
    # Shown masked until the reader chooses to reveal it (adults only; see docs/safety.md).
    blurred: bool = False
    # The sender's nickname key (ignore lists and grouping compare keys, never nicknames).
    sender_key: str = ""


class PrivateMessage(_ServerFrame, tag="private_message"):
    id: int
    sender: str
    recipient: str
    text: str
    at: float
    blurred: bool = False
    sender_key: str = ""


class Welcome(_ServerFrame, tag="welcome"):
    session: str
    me: Person
    age_band: AgeBand
    visible_hours: float
    max_message_chars: int
    # Why ``age_band`` is not the band of the declared age, in words for the chatter.
    age_notice: str | None = None
    # Send it in ``resume`` to come back as this chatter after a reload (short-lived).
    resume_token: str | None = None


class Ack(_ServerFrame, tag="ack"):
    ref: str | None
    id: int
    at: float


class RoomList(_ServerFrame, tag="room_list"):
    rooms: list[RoomInfo]


class Joined(_ServerFrame, tag="joined"):
    room: RoomInfo
    # The first page of the members this chatter may see (``chat.members_page_size``).
    members: list[Person]
    history: list[RoomMessage]
    # Where the next page starts (``members`` with it as ``after``); null: the page is all.
    members_next: str | None = None


class Left(_ServerFrame, tag="left"):
    room: str


class MemberList(_ServerFrame, tag="member_list"):
    room: str
    members: list[Person]
    # The request's ``after``: empty for a first page, which replaces a client's list.
    after: str = ""
    next: str | None = None


class MemberJoined(_ServerFrame, tag="member_joined"):
    room: str
    person: Person


class MemberLeft(_ServerFrame, tag="member_left"):
    room: str
    nickname: str


class TypingNotice(_ServerFrame, tag="typing"):
    sender: str
    room: str | None = None
    sender_key: str = ""


class Topic(_ServerFrame, tag="topic"):
    room: str
    topic: str
    by: str


class PeopleList(_ServerFrame, tag="people"):
    people: list[Person]


class Ignored(_ServerFrame, tag="ignored"):
    nicknames: list[str]


class Pong(_ServerFrame, tag="pong"):
    ref: str | None = None


class AgeVerified(_ServerFrame, tag="age_verified"):
    """The age verification token was accepted: adults-only rooms are open to this session."""

    ref: str | None = None


class BandChanged(_ServerFrame, tag="band_changed"):
    """The chatter is now treated as ``age_band`` (they wrote an age under 18)."""

    age_band: AgeBand
    age: int
    # In words for the chatter: what changed and why.
    message: str
    # Adults-only rooms the chatter was taken out of.
    left_rooms: list[str]


class PhotoMessage(_ServerFrame, tag="photo"):
    """A photo in a room (``room``) or a private conversation (``recipient``). The URLs answer
    only the photo's recipients; ``blurred`` photos are shown only after a click."""

    id: int
    sender: str
    width: int
    height: int
    url: str
    thumb_url: str
    at: float
    room: str | None = None
    recipient: str | None = None
    caption: str = ""
    blurred: bool = False
    sender_key: str = ""


class UploadGranted(_ServerFrame, tag="upload_granted"):
    """Send the photo's bytes now, as the next (binary) WebSocket message, at most ``max_bytes``
    and before ``expires_at``; the answer is the ``ack`` (or an ``error``) with the same ``ref``."""

    max_bytes: int
    expires_at: float
    ref: str | None = None


class Removed(_ServerFrame, tag="removed"):
    """A moderator removed message ``id``: clients take it off the screen."""

    id: int
    room: str | None = None


class Reported(_ServerFrame, tag="reported"):
    """A report was received; its outcome reaches the reporter as a ``statement``."""

    report: str
    ref: str | None = None


class StatementOfReasons(_ServerFrame, tag="statement"):
    """Why something of this chatter's was restricted (EU DSA Art. 17), or the outcome of their
    report or appeal, in plain words."""

    id: str
    # What was decided: "removed", "warned", "muted", "kicked", "suspended", "banned",
    # "blocked", "report_outcome", "appeal_outcome".
    decision: str
    category: str
    # The rule or law it rests on, in words.
    ground: str
    automated: bool
    message: str
    at: float
    # The content it is about, when it was a message ("message:42").
    content: str | None = None
    # Until when it can be appealed (None: not appealable, e.g. a report's outcome).
    appeal_until: float | None = None
    appeal_status: str = "none"


class StatementList(_ServerFrame, tag="statements"):
    statements: list[StatementOfReasons]
    ref: str | None = None


class AppealReceived(_ServerFrame, tag="appeal_received"):
    statement: str
    ref: str | None = None


class LoggedOut(_ServerFrame, tag="logged_out"):
    """The answer to ``logout``, just before the server closes the connection."""


class PrivateHistoryList(_ServerFrame, tag="private_history"):
    nickname: str
    messages: list[PrivateMessage]


class Error(_ServerFrame, tag="error"):
    code: str
    message: str
    ref: str | None = None
    # The frame type that caused it, when known.
    frame: str | None = None
    # Seconds to wait before retrying, for rate limits.
    retry_after: float | None = None
    # Which field was wrong, for validation errors.
    field: str | None = None
    # The safety policy category a refusal is about (docs/safety.md), for moderation decisions.
    category: str | None = None


ServerFrame = (
    RoomMessage
    | PrivateMessage
    | Welcome
    | Ack
    | RoomList
    | Joined
    | Left
    | MemberList
    | MemberJoined
    | MemberLeft
    | TypingNotice
    | Topic
    | PeopleList
    | Ignored
    | Pong
    | AgeVerified
    | BandChanged
    | PhotoMessage
    | UploadGranted
    | Removed
    | Reported
    | StatementOfReasons
    | StatementList
    | AppealReceived
    | PrivateHistoryList
    | LoggedOut
    | Error
)
