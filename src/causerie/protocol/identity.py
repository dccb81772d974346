"""Who a chatter says they are: nickname, age, gender and postal code, checked without I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from confusable_homoglyphs import categories

from causerie.domain import MAX_AGE, MIN_AGE, AgeBand
from causerie.errors import ChatError, ErrorCode
from causerie.protocol.frames import GENDERS
from causerie.protocol.geo import Place, place_of
from causerie.text import fold

age_band = AgeBand.of_age
NICKNAME_MIN = 3
NICKNAME_MAX = 20
# Letters of any script, digits, and three joiners; it must start with a letter.
_NICKNAME = re.compile(r"[^\W\d_][\w.\-]*")
# Digits that stand in for letters in nicknames ("R0se" is "Rose").
_DIGIT_LOOKALIKES = str.maketrans({"0": "o", "1": "l"})
_JOINERS = str.maketrans("", "", "._-")
# Scripts that one language writes together: Japanese mixes kanji, hiragana and katakana, Korean
# may mix hangul and hanja. Only mixes of scripts that no language writes together are refused.
_SCRIPT_FAMILY = {"HIRAGANA": "HAN", "KATAKANA": "HAN", "HANGUL": "HAN"}
# Letters shared by several scripts (the Japanese long-vowel mark) say nothing about the script.
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})


def nickname_key(nickname: str) -> str:
    """The form under which two nicknames are the same person to a reader."""
    return fold(nickname).translate(_DIGIT_LOOKALIKES).translate(_JOINERS)


@dataclass(frozen=True, slots=True)
class Identity:
    nickname: str
    key: str
    age: int
    band: AgeBand
    gender: str
    place: Place


def _scripts(nickname: str) -> set[str]:
    aliases = {categories.alias(c) for c in nickname if c.isalpha()}
    return {_SCRIPT_FAMILY.get(alias, alias) for alias in aliases - _ANY_SCRIPT}


def check_nickname(nickname: str) -> str:
    # NFC: a keyboard that sends "e" + combining accent means the same "é" as one that sends it
    # precomposed, and only the precomposed form is a word character to the pattern below.
    nickname = unicodedata.normalize("NFC", nickname.strip())
    if not NICKNAME_MIN <= len(nickname) <= NICKNAME_MAX:
        raise ChatError(
            ErrorCode.NICKNAME_INVALID,
            f"a nickname has {NICKNAME_MIN} to {NICKNAME_MAX} characters",
            field="nickname",
        )
    if not _NICKNAME.fullmatch(nickname):
        raise ChatError(
            ErrorCode.NICKNAME_INVALID,
            "a nickname starts with a letter and has only letters, digits, '.', '-' and '_'",
            field="nickname",
        )
    if len(_scripts(nickname)) > 1:
        raise ChatError(
            ErrorCode.NICKNAME_INVALID,
            "a nickname uses letters of one alphabet only",
            field="nickname",
        )
    if len(nickname_key(nickname)) < NICKNAME_MIN:
        raise ChatError(
            ErrorCode.NICKNAME_INVALID,
            f"a nickname has at least {NICKNAME_MIN} letters or digits",
            field="nickname",
        )
    return nickname


def check_identity(nickname: str, age: int, gender: str, postal_code: str) -> Identity:
    """Validate an ``enter`` frame's fields; raise :class:`ChatError` on the first bad one."""
    nickname = check_nickname(nickname)
    if age < MIN_AGE and age >= 0:
        raise ChatError(
            ErrorCode.AGE_TOO_YOUNG,
            f"causerie is open from {MIN_AGE} years old",
            field="age",
        )
    if not MIN_AGE <= age <= MAX_AGE:
        raise ChatError(
            ErrorCode.AGE_INVALID, f"age must be between {MIN_AGE} and {MAX_AGE}", field="age"
        )
    if gender not in GENDERS:
        raise ChatError(
            ErrorCode.GENDER_INVALID,
            f"gender is one of: {', '.join(GENDERS)}",
            field="gender",
        )
    place = place_of(postal_code)
    if place is None:
        raise ChatError(
            ErrorCode.POSTAL_CODE_INVALID,
            "a French postal code has five digits, for example 75011",
            field="postal_code",
        )
    return Identity(
        nickname=nickname,
        key=nickname_key(nickname),
        age=age,
        band=age_band(age),
        gender=gender,
        place=place,
    )
