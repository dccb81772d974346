"""Stable error codes shared by the server, the Python client, the web client and docs/protocol.md.

A code, once published, keeps its meaning: clients switch on it and translate it.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # Frame level: the connection survives all of these except ``frame_too_large`` floods.
    MALFORMED_FRAME = "malformed_frame"
    UNKNOWN_FRAME = "unknown_frame"
    INVALID_FIELD = "invalid_field"
    FRAME_TOO_LARGE = "frame_too_large"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    # Session state.
    NOT_ENTERED = "not_entered"
    ALREADY_ENTERED = "already_entered"
    # Entry.
    NICKNAME_INVALID = "nickname_invalid"
    NICKNAME_TAKEN = "nickname_taken"
    NICKNAME_REFUSED = "nickname_refused"
    AGE_TOO_YOUNG = "age_too_young"
    AGE_INVALID = "age_invalid"
    GENDER_INVALID = "gender_invalid"
    POSTAL_CODE_INVALID = "postal_code_invalid"
    # Rooms.
    ROOM_NOT_FOUND = "room_not_found"
    NOT_IN_ROOM = "not_in_room"
    ROOM_NAME_INVALID = "room_name_invalid"
    ROOM_NAME_REFUSED = "room_name_refused"
    ROOM_EXISTS = "room_exists"
    ROOM_FORBIDDEN = "room_forbidden"
    NOT_ROOM_HOST = "not_room_host"
    TOO_MANY_ROOMS = "too_many_rooms"
    # Private conversations.
    RECIPIENT_NOT_FOUND = "recipient_not_found"
    CANNOT_MESSAGE_SELF = "cannot_message_self"
    CONVERSATION_FORBIDDEN = "conversation_forbidden"
    # Paused by the protection of minors while moderators look at it.
    CONVERSATION_FROZEN = "conversation_frozen"
    # Protection of minors.
    AGE_VERIFICATION_REQUIRED = "age_verification_required"
    AGE_VERIFICATION_FAILED = "age_verification_failed"
    # An adult's link, photo, contact detail or invitation where minors can read it.
    MINORS_PROTECTED = "minors_protected"
    # A minor's own contact details or meeting plans where adults can read them.
    CONTACT_DETAILS_REFUSED = "contact_details_refused"
    # Messages.
    MESSAGE_EMPTY = "message_empty"
    MESSAGE_TOO_LONG = "message_too_long"
    CONTENT_BLOCKED = "content_blocked"
    MUTED = "muted"
    # Safety decisions beyond a plain block (the message says which category).
    WARNED = "warned"
    HELD_FOR_REVIEW = "held_for_review"
    KICKED = "kicked"
    BANNED = "banned"
    # Flood control.
    RATE_LIMITED_MESSAGES = "rate_limited_messages"
    RATE_LIMITED_JOINS = "rate_limited_joins"
    RATE_LIMITED_CONVERSATIONS = "rate_limited_conversations"
    RATE_LIMITED_FRAMES = "rate_limited_frames"
    # The client left more undelivered than its outbox holds (frames or bytes): disconnected.
    SLOW_CONSUMER = "slow_consumer"
    # Server side.
    INTERNAL_ERROR = "internal_error"
    SHUTTING_DOWN = "shutting_down"
    # Connection bounds (issue 12): each refusal names the bound it hit.
    # Only refused frames, ``limits.max_consecutive_errors`` in a row: the connection is closed.
    TOO_MANY_ERRORS = "too_many_errors"
    # The WebSocket's ``Origin`` is not the site's own nor one of ``server.allowed_origins``.
    ORIGIN_REFUSED = "origin_refused"
    # Over ``limits.max_connections_per_address`` connections from one address.
    TOO_MANY_CONNECTIONS = "too_many_connections"
    # No ``enter`` within ``limits.enter_timeout_seconds`` of the connection opening.
    ENTER_TIMEOUT = "enter_timeout"
    # ``limits.max_ignored`` people ignored already.
    IGNORE_LIST_FULL = "ignore_list_full"
    # Too many list frames (``people``, ``members``, ``rooms``) from a connection or an address.
    RATE_LIMITED_LISTS = "rate_limited_lists"
    # The nickname is, or looks like, one the operator reserved (staff, authorities).
    NICKNAME_RESERVED = "nickname_reserved"
    # Photos (docs/photos.md): the file, then where it may go.
    PHOTO_TOO_LARGE = "photo_too_large"
    PHOTO_EMPTY = "photo_empty"
    PHOTO_FORMAT_UNSUPPORTED = "photo_format_unsupported"
    PHOTO_CORRUPT = "photo_corrupt"
    PHOTO_POLYGLOT = "photo_polyglot"
    PHOTO_DIMENSIONS = "photo_dimensions"
    PHOTO_BOMB = "photo_bomb"
    # Where some readers are on the other side of the age line (an all-ages room).
    PHOTO_NOT_HERE = "photo_not_here"
    # Not delivered, without saying why (a known illegal image, or explicit where minors read).
    PHOTO_REFUSED = "photo_refused"
    # A binary message with no ``photo_upload`` before it, or after its time ran out.
    PHOTO_NOT_EXPECTED = "photo_not_expected"
    PHOTOS_DISABLED = "photos_disabled"
    # The resume token is unknown, used, expired or from another device: enter again.
    RESUME_REFUSED = "resume_refused"
    # This connection's session was resumed on a newer connection (sent before closing it).
    SESSION_RESUMED = "session_resumed"
    # Reports, statements of reasons and appeals (EU DSA Art. 16, 17, 20).
    # The reported item does not exist, or is not one you could see.
    REPORT_TARGET_NOT_FOUND = "report_target_not_found"
    # Too many reports from one chatter; ``retry_after`` says when to report again.
    RATE_LIMITED_REPORTS = "rate_limited_reports"
    # No statement with this id concerns you.
    STATEMENT_NOT_FOUND = "statement_not_found"
    # More than six months after the decision.
    APPEAL_CLOSED = "appeal_closed"
    ALREADY_APPEALED = "already_appealed"
    # An appeal's outcome is final here (out-of-court settlement is the next step).
    NOT_APPEALABLE = "not_appealable"


class ChatError(Exception):
    """A refusal that goes back to the client as an ``error`` frame."""

    def __init__(self, code: ErrorCode, message: str, **detail: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
