"""The forms of a text that the minors fence reads, robust to the usual disguises.

A chatter who wants to slip "snapchat" or "rendez-vous" past a filter writes "Sn@pch4t",
"s.n.a.p", "ѕnар" (Cyrillic letters), "snaaap" or hides a zero-width space inside. Each form
below undoes some of that; the detector runs each pattern on the form that suits it:

``folded``
    :func:`causerie.text.fold` (case, accents, width, look-alike letters, invisible characters)
    with apostrophes as spaces. Digits stay digits: ages, phone numbers and links are read here.
``words``
    ``folded`` with leetspeak inside words undone ("sn4p" → "snap", but "14 ans" stays), every
    other symbol a single space, letters spelt out one by one joined again ("r d v" → "rdv",
    "s.n.a.p" → "snap") and letters repeated three times or more squeezed to one.
``unleeted``
    ``folded`` with leetspeak inside words undone and punctuation kept ("sn4p: jules_75").
``squashed``
    ``words`` without spaces, for long app names split anywhere ("what sapp").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from causerie.text import LEET_LETTERS, fold

# Characters that stand for letters when they sit inside a word.
_LEET = LEET_LETTERS
# Punctuation that is also leet counts only between two letters: "salut!" is not "saluti".
_PUNCTUATION_LEET = "!|"
_LEET_CLASS = "[" + re.escape("".join(c for c in _LEET if c not in _PUNCTUATION_LEET)) + "]"
# A leet character touching a letter on either side (and chains of them: "1337" inside a word).
# Runs are taken whole from their first character, so that a long run of digits costs one pass,
# not one per starting position.
_LEET_IN_WORD = re.compile(
    rf"(?<=[a-z]){_LEET_CLASS}++|(?<!{_LEET_CLASS}){_LEET_CLASS}++(?=[a-z])"
    rf"|(?<=[a-z])[{re.escape(_PUNCTUATION_LEET)}]++(?=[a-z])"
)
_SYMBOL_LETTERS = str.maketrans({"@": "a", "$": "s", "€": "e"})
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# Three or more one-character tokens in a row (a letter may be doubled: "r d vv"): a word spelt
# out to dodge filters.
_SPELT_OUT = re.compile(r"(?<![a-z0-9])(?:([a-z0-9])\1?+ ){2,}([a-z0-9])\2?+(?![a-z0-9])")
_REPEATED = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")

# Spelt-out numbers that matter for ages, so that "j'ai quatorze ans" reads as "j ai 14 ans".
_NUMBER_WORDS = {
    "dix sept": "17",
    "dix-sept": "17",
    "dixsept": "17",
    "seize": "16",
    "quinze": "15",
    "quatorze": "14",
    "treize": "13",
    "douze": "12",
    "onze": "11",
    "seventeen": "17",
    "sixteen": "16",
    "fifteen": "15",
    "fourteen": "14",
    "thirteen": "13",
    "twelve": "12",
    "eleven": "11",
}
_NUMBER_WORD = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + r")\b"
)

# Every number word above contains one of these: most messages skip the substitution.
_NUMBER_HINT = re.compile(r"ze|teen|twelve|eleven|dix")


@dataclass(frozen=True, slots=True)
class Forms:
    folded: str
    numbers: str
    unleeted: str
    words: str
    squashed: str


def _unleet(match: re.Match[str]) -> str:
    return "".join(_LEET[c] for c in match.group(0))


def _join_spelt_out(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "")


def forms(text: str) -> Forms:
    """Every form of ``text`` the detector reads."""
    folded = _SPACES.sub(" ", _APOSTROPHES.sub(" ", fold(text))).strip()
    # Ages written in words, and symbols as spaces, so that "j'ai 14ans!" reads "j ai 14ans".
    numbers = folded
    if _NUMBER_HINT.search(folded):
        numbers = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], folded)
    numbers = _SPACES.sub(" ", _NOT_WORD.sub(" ", numbers)).strip()
    unleeted = _LEET_IN_WORD.sub(_unleet, folded)
    # Symbols that only ever stand for letters in words ("s.n.@.p"): the words form keeps none.
    words = unleeted.translate(_SYMBOL_LETTERS)
    words = _SPACES.sub(" ", _NOT_WORD.sub(" ", words)).strip()
    words = _SPELT_OUT.sub(_join_spelt_out, words)
    # Spelt out, "s.n.4.p" had no letter beside its "4"; joined, it has.
    words = _LEET_IN_WORD.sub(_unleet, words)
    words = _REPEATED.sub(r"\1", words)
    return Forms(
        folded=folded,
        numbers=numbers,
        unleeted=unleeted,
        words=words,
        squashed=words.replace(" ", ""),
    )


def keyword(word: str) -> str:
    """A pattern for ``word`` in the ``words`` form that also takes doubled letters ("snaap")."""
    return (
        r"\b" + "".join(f"{re.escape(c)}+" if c.isalpha() else re.escape(c) for c in word) + r"\b"
    )
