"""What the author of refused content is told: politely, and which category it fell in.

The error code is what clients switch on and translate; the text is the English fallback.
"""

from __future__ import annotations

from causerie.errors import ErrorCode
from causerie.safety.categories import Category
from causerie.safety.policy import Action

LOOKS_LIKE: dict[Category, str] = {
    Category.CHILD_SAFETY: "something that puts young people at risk",
    Category.SEXUAL: "sexual content, which is not allowed here",
    Category.SOLICITATION: "an offer or request of paid sexual services",
    Category.DRUGS: "buying or selling drugs",
    Category.WEAPONS: "buying or selling weapons",
    Category.VIOLENCE: "a threat or violence",
    Category.HARASSMENT: "harassment",
    Category.PERSONAL_DATA: "personal details (a phone number, an address or an email)",
    Category.OFF_PLATFORM: "an invitation to move to another app",
    Category.SPAM: "spam (advertising, links, repeated text)",
    Category.HATE: "hate against people for who they are",
    Category.NON_CONSENT: "sexual acts or images without consent",
    Category.AMBUSH: "luring someone to a place to hurt or rob them",
    Category.SCAM: "a scam or an attempt at fraud",
    Category.DOXXING: "details that let someone else be found",
}

NAME_CODES: dict[str, ErrorCode] = {
    "nickname": ErrorCode.NICKNAME_REFUSED,
    "room_name": ErrorCode.ROOM_NAME_REFUSED,
    "topic": ErrorCode.CONTENT_BLOCKED,
}

ACTION_CODES: dict[Action, ErrorCode] = {
    Action.WARN: ErrorCode.WARNED,
    Action.HOLD: ErrorCode.HELD_FOR_REVIEW,
    Action.BLOCK: ErrorCode.CONTENT_BLOCKED,
    Action.MUTE: ErrorCode.MUTED,
    Action.KICK: ErrorCode.KICKED,
    Action.BAN: ErrorCode.BANNED,
}


def _why(category: Category | None) -> str:
    return LOOKS_LIKE[category] if category is not None else "something this site does not allow"


def _duration(minutes: float) -> str:
    if minutes >= 120:
        hours = round(minutes / 60)
        return f"{hours} hours"
    whole = max(1, round(minutes))
    return f"{whole} minute{'s' if whole != 1 else ''}"


def refusal(
    action: Action,
    category: Category | None,
    *,
    kind: str,
    minutes: float = 0.0,
    warned: bool = False,
) -> tuple[ErrorCode, str]:
    """The code and the sentence for the author of content the policy did not deliver."""
    why = _why(category)
    if kind in NAME_CODES:
        what = {"nickname": "This nickname", "room_name": "This room name", "topic": "This topic"}
        return NAME_CODES[kind], f"{what[kind]} is not allowed here: it looks like {why}."
    if action == Action.WARN:
        text = (
            f"Your message was not delivered: it looks like {why}. Please keep to the rules: "
            "more messages like this will get you muted."
        )
    elif action == Action.HOLD:
        text = f"Your message is waiting for a moderator: it looks like {why}."
    elif action == Action.MUTE:
        text = f"Your message was not delivered and you are muted for {_duration(minutes)}: {why}."
    elif action == Action.KICK:
        text = f"You have been disconnected: your message looked like {why}."
    elif action == Action.BAN:
        text = f"You are banned from this site for {_duration(minutes)}: {why}."
    else:
        text = f"Your message was not delivered: it looks like {why}."
        if warned:
            text += " More messages like this will get you muted."
    return ACTION_CODES.get(action, ErrorCode.CONTENT_BLOCKED), text


def still_muted(minutes_left: float) -> tuple[ErrorCode, str]:
    return ErrorCode.MUTED, f"You are muted for another {_duration(minutes_left)}."


def banned(minutes_left: float | None) -> tuple[ErrorCode, str]:
    if minutes_left is None:
        return ErrorCode.BANNED, "This nickname is banned from this site."
    return ErrorCode.BANNED, f"This nickname is banned for another {_duration(minutes_left)}."


def too_long(limit: int) -> tuple[ErrorCode, str]:
    return ErrorCode.MESSAGE_TOO_LONG, f"This text is longer than {limit} characters."
