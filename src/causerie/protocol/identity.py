"""Who a chatter says they are: nickname, age, gender and postal code, checked without I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

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


# Before folding: a ligature that reads as two letters it does not decompose to ("ﬂ" is "fl" to
# Unicode, but "Camiﬂe" reads as "Camille").
_LIGATURE_LOOKALIKES = str.maketrans({"\ufb02": "ll"})
# After folding, letters that Unicode's confusables do not map to ASCII but a reader takes for
# one: "ł", small capital "ʟ", Cyrillic "м". And "i" and "l" are one letter: a capital "I" is a
# lowercase "l" in most fonts, so the key cannot tell them apart without breaking case folding
# ("CAMILLE" must stay "Camille"); both sides of every comparison go through the same merge.
_NICKNAME_LOOKALIKES = str.maketrans({"\u0142": "l", "\u029f": "l", "\u043c": "m", "i": "l"})
# Letter pairs that read as one letter: "rn" is "m" ("Carnille"). Replaced in the key on both
# sides alike, so "Bernard" and "Bemard" are one nickname; the replacement cannot create a new
# pair, so the key stays idempotent.
_PAIR_LOOKALIKES = (("rn", "m"),)


def nickname_spelling(nickname: str) -> str:
    """A nickname as spelt, whatever its case, accents, width, joiners and digit stand-ins.

    The legal store indexes retained records under this form: an authority's scope names a
    nickname as written, not every look-alike of it, and records indexed before look-alike
    merging stay searchable.
    """
    return fold(nickname).translate(_DIGIT_LOOKALIKES).translate(_JOINERS)


def nickname_key(nickname: str) -> str:
    """The form under which two nicknames are the same person to a reader.

    Unique among the people online, so that nobody can pass for someone else with a look-alike:
    "CamiIle", "Carnille", "Camiʟʟe", "Camiłle", "Camiﬂe" and a Cyrillic "Самііе" are "Camille".
    """
    key = nickname_spelling(nickname.translate(_LIGATURE_LOOKALIKES))
    key = key.translate(_NICKNAME_LOOKALIKES)
    for pair, letter in _PAIR_LOOKALIKES:
        key = key.replace(pair, letter)
    return key


# -- reserved names ------------------------------------------------------------------------------

SHIPPED_RESERVED_NAMES = Path(str(resources.files("causerie.data").joinpath("reserved_names.txt")))
# A reserved form shorter than this would refuse half the nicknames that start or end with it.
_RESERVED_MIN = 3


class ReservedNamesError(ValueError):
    """A reserved-names file that cannot be read, with the file and line to fix."""


@dataclass(frozen=True, slots=True)
class ReservedNames:
    """Nicknames nobody may take: staff and authority names, and their look-alikes.

    A nickname is reserved when its key is, starts with or ends with a reserved name's key
    ("Admin75", "ModoBob", "LaPolice"), unless it is listed as an exception (``!name``: a first
    name that happens to start with one, such as "Modou").
    """

    keys: tuple[str, ...]
    exceptions: frozenset[str]

    def match(self, nickname: str) -> str | None:
        """The reserved key that ``nickname`` uses, or None."""
        key = nickname_key(nickname)
        for reserved in self.keys:
            # An exception covers the reserved name it contains: "Modou75" is Modou, not modo.
            if key.startswith(reserved) and not any(
                key.startswith(e) for e in self.exceptions if e.startswith(reserved)
            ):
                return reserved
            if key.endswith(reserved) and not any(
                key.endswith(e) for e in self.exceptions if e.endswith(reserved)
            ):
                return reserved
        return None


def parse_reserved_names(text: str, origin: str = "<reserved names>") -> ReservedNames:
    """One name per line, ``#`` comments, ``!name`` for an exception; errors name the line."""
    keys: list[str] = []
    exceptions: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        exception = line.startswith("!")
        name = line.removeprefix("!").strip()
        key = nickname_key(name)
        if len(key) < _RESERVED_MIN:
            raise ReservedNamesError(
                f"{origin}:{number}: {name!r} is too short to reserve "
                f"(at least {_RESERVED_MIN} letters or digits)"
            )
        if exception:
            exceptions.add(key)
        elif key not in keys:
            keys.append(key)
    return ReservedNames(keys=tuple(keys), exceptions=frozenset(exceptions))


@lru_cache(maxsize=8)
def _load_reserved_names(path: Path) -> ReservedNames:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReservedNamesError(f"reserved names file {path} is unreadable: {exc}") from None
    return parse_reserved_names(text, str(path))


def load_reserved_names(path: Path | None = None) -> ReservedNames:
    """The reserved names in ``path`` (default: the shipped list), read once per path.

    Call it at start-up with ``chat.reserved_names_file`` so that a bad file stops the node.
    """
    return _load_reserved_names(Path(path) if path is not None else SHIPPED_RESERVED_NAMES)


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


def check_nickname(nickname: str, *, reserved_names_file: Path | None = None) -> str:
    """The nickname, composed and stripped; :class:`ChatError` if it is malformed or reserved.

    ``reserved_names_file`` is ``chat.reserved_names_file``; None: the shipped list.
    """
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
    # The spelling, not the key: "rn" counts as two letters here ("Arn" is a name).
    if len(nickname_spelling(nickname)) < NICKNAME_MIN:
        raise ChatError(
            ErrorCode.NICKNAME_INVALID,
            f"a nickname has at least {NICKNAME_MIN} letters or digits",
            field="nickname",
        )
    if load_reserved_names(reserved_names_file).match(nickname) is not None:
        raise ChatError(
            ErrorCode.NICKNAME_RESERVED,
            "this nickname is reserved (staff and authority names); choose another",
            field="nickname",
        )
    return nickname


def check_identity(
    nickname: str,
    age: int,
    gender: str,
    postal_code: str,
    *,
    reserved_names_file: Path | None = None,
) -> Identity:
    """Validate an ``enter`` frame's fields; raise :class:`ChatError` on the first bad one.

    ``reserved_names_file`` is ``chat.reserved_names_file``; None: the shipped list.
    """
    nickname = check_nickname(nickname, reserved_names_file=reserved_names_file)
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
