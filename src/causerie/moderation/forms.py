"""One reading of each text: every check of moderation reads the same :class:`Forms`.

People who want past a filter write "c0c@ïne", "s.n.a.p", "s n a p", "snaaaap", "🅢🅝🅐🅟", put a
zero-width space inside a word, a Cyrillic "о" for a Latin "o". The text is read once, at the start
of the moderation chain, into one :class:`Forms` value; the rule packs, the minors fence, the
conversation memory and the command-line check all read that value, so that a disguise one check
sees through is seen through by all. There is one table of substitutions
(:data:`SUBSTITUTIONS`, on top of :func:`causerie.text.fold`'s case, accents, width, look-alikes
and invisible characters, and the emoji letters below).

The views, all derived from ``light``:

``light``
    the folded text, emoji letters and regional indicators read as letters, controls as spaces,
    whitespace collapsed. Patterns that care about digits (prices, phone numbers) read it.
``words`` and ``keys``
    the rule packs' views: ``light`` cut into words, where leetspeak inside a word is read as
    letters ("sn4p" is "snap", but "15" stays "15"), punctuation splits words, a run of three or
    more single letters is joined back ("s n a p"); ``keys`` are ``words`` and its variants (glued
    "sn.ap", "1" read as "l"), each squeezed (runs of a repeated letter kept once, with their
    lengths) for the term automaton.
``folded``, ``numbers``, ``unleeted``, ``latin_words``, ``squashed``
    the minors fence's views: ``light`` with apostrophes as spaces; with ages written in words
    as digits; with leetspeak inside words undone but punctuation kept ("sn4p: jules_75"); Latin
    letters and digits only, spelt-out letters joined and letters repeated three times squeezed;
    that without spaces ("what sapp").

Every step is a single pass over the text: reading is linear in its length.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from causerie.text import LEET_LETTERS, fold

# The one table of characters that stand for letters inside a word ("sn4p", "c0c@ine", "$nap",
# "pu+e", "£ove").
SUBSTITUTIONS: dict[str, str] = {**LEET_LETTERS, "£": "l", "+": "t"}
_SPACES = re.compile(r"\s+")

# Emoji and enclosed letters that read as Latin letters and that NFKC leaves alone.
_EMOJI_LETTERS: dict[int, str] = {
    **{0x1F1E6 + i: chr(ord("a") + i) for i in range(26)},  # regional indicators 🇦..🇿
    **{0x1F150 + i: chr(ord("a") + i) for i in range(26)},  # negative circled 🅐..🅩
    **{0x1F170 + i: chr(ord("a") + i) for i in range(26)},  # negative squared 🅰..🆉
    **{0x1F130 + i: chr(ord("a") + i) for i in range(26)},  # squared 🄰..🅉
    ord("⭕"): "o",
    ord("⚪"): "o",
    ord("❌"): "x",
    ord("✖"): "x",
    ord("❎"): "x",
    ord("💲"): "s",
    ord("❗"): "i",
    ord("❕"): "i",
    ord("✝"): "t",
    ord("〰"): " ",
    # Variation selectors and the keycap mark ("0️⃣" is a zero).
    0xFE0E: "",
    0xFE0F: "",
    0x20E3: "",
}

_LEET = str.maketrans(SUBSTITUTIONS)
# The same, reading "1" as "l" ("ki11" is "kill" as much as "kiii").
_LEET_ONE_AND_REST = {**_LEET, ord("1"): "l"}
# Punctuation that ends or opens a word rather than standing for a letter ("snap!" is "snap").
_EDGE_PUNCTUATION = "!?.,;:…)]}\"'«»“”‘’([{¿¡*~-_"
_HAS_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD_ANY_SCRIPT = re.compile(r"[\W_]+")
_RUNS = re.compile(r"(.)\1*", re.DOTALL)
_REPEATED = re.compile(r"(.)\1+", re.DOTALL)


def _clean_char(code: int) -> str | None:
    """Controls, unpaired surrogates and private-use characters read as a space."""
    char = chr(code)
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn") and char not in "\t\n":
        return " "
    return None


class _Cleaner(dict[int, str | None]):
    """A lazy ``str.translate`` table: emoji letters, and controls or surrogates to spaces."""

    def __missing__(self, code: int) -> str | None:
        value = _EMOJI_LETTERS.get(code)
        if value is None:
            value = _clean_char(code) if code < 0x20 or code >= 0x7F else None
        # Caching a character as itself keeps later look-ups of it in C.
        self[code] = chr(code) if value is None else value
        return self[code]


_CLEANER = _Cleaner()


class Squeezed:
    """A normalised view with every run of a repeated character kept once.

    ``text`` is padded with spaces so that a word always has a space on each side; ``runs[i]`` is
    how many times ``text[i]`` was repeated in the view. Runs are counted only when a term with
    a doubled letter needs them: most texts and most terms have none.
    """

    __slots__ = ("_runs", "_view", "text")

    def __init__(self, view: str) -> None:
        self._view = f" {view} "
        self.text = _REPEATED.sub(r"\1", self._view)
        self._runs: tuple[int, ...] | None = None

    @property
    def runs(self) -> tuple[int, ...]:
        if self._runs is None:
            self._runs = tuple(m.end() - m.start() for m in _RUNS.finditer(self._view))
        return self._runs

    def __repr__(self) -> str:
        return f"Squeezed({self.text!r})"


def squeeze(view: str) -> Squeezed:
    return Squeezed(view)


def light_form(text: str) -> str:
    """The folded text with emoji letters read as letters and whitespace collapsed."""
    text = text.translate(_CLEANER)
    return _SPACES.sub(" ", fold(text)).strip()


_LEET_CHARS = frozenset("0134578 9@$€£!|+".replace(" ", ""))


def _join_single_letters(tokens: list[str]) -> list[str]:
    """Join runs of three or more one-character tokens: "s n a p" and "c 0 c @" are words.

    A lone leet character ("@", "0") is kept only to be joined; alone it is punctuation or a
    number and stays what it is.
    """
    out: list[str] = []
    run: list[str] = []

    def end_run() -> None:
        if len(run) >= 3 and any(_HAS_LETTER.match(c) for c in run):
            out.append("".join(run).translate(_LEET))
        else:
            out.extend(c for c in run if c.isalnum())
        run.clear()

    for token in tokens:
        # "tt" in "c u n tt" is one letter repeated, like the rest of the run.
        if len(token) == 1 or (len(token) <= 4 and token == token[0] * len(token)):
            run.append(token)
            continue
        end_run()
        out.append(token)
    end_run()
    return out


# Leading or trailing punctuation of a word; it separates, it does not stand for a letter.
_EDGE_CLASS = "[" + re.escape(_EDGE_PUNCTUATION) + "]"
# Each alternative starts only where a run of edge punctuation starts: linear on any input.
_EDGES = re.compile(f"(?:(?<=\\s)|^){_EDGE_CLASS}+|(?<!{_EDGE_CLASS}){_EDGE_CLASS}+(?=\\s|$)")
# A word holding a leet character; only these go through the leet table.
# Anchored at a word's start, with disjoint classes, so that a long word is scanned once.
_LEET_WORD = re.compile(r"(?<!\S)[^\s0-9@$€£!|+]*[0-9@$€£!|+]\S*")
# Three or more short tokens in a row (one character, or one character repeated): "s n a p".
_SHORT_RUN = re.compile(r"(?:(?<!\S)(\S)\1{0,3}(?!\S)\s+){2,}(?<!\S)(\S)\2{0,3}(?!\S)")
# Punctuation that separates; a leet character may still be a letter of a spelt-out word.
_SEPARATORS = re.compile(r"(?:[^\w\s@$€£!|+]|_)+")
# Punctuation between two letters or digits ("sn.ap"), apostrophes aside ("j'ai" stays two words).
_INNER = re.compile(r"(?<=[^\W_])(?:[^\w\s'’]|_)+(?=[^\W_])")


# A number with its unit is not leetspeak: "15h", "4e", "1er", "3mmc", "20min", "2k".
_QUANTITY = re.compile(
    r"\d+(?:[.,]\d+)?(?:h\d{0,2}|min|mn|e|eme|er|ere|nd|nde|st|th|rd|ans?|yo|k|km|kg|g|cm|mm"
    r"|ml|mmc|cmc|pm|am|x|eur|euros?|balles)"
)


def _leet_words(text: str, table: dict[int, str]) -> str:
    def read(match: re.Match[str]) -> str:
        word = match.group(0)
        if _QUANTITY.fullmatch(word.strip(_EDGE_PUNCTUATION)):
            return word
        if len(word) > 1 and _HAS_LETTER.search(word):
            return word.translate(table)
        return word

    return _LEET_WORD.sub(read, text)


def _words(text: str) -> str:
    """Words of a leet-read text: runs of short tokens joined, punctuation made spaces."""
    text = _SEPARATORS.sub(" ", text)
    if _SHORT_RUN.search(text):
        tokens: list[str] = []
        for chunk in text.split():
            if len(chunk) == 1 and chunk in _LEET_CHARS:
                tokens.append(chunk)
            else:
                tokens.extend(_NOT_WORD_ANY_SCRIPT.sub(" ", chunk).split())
        return " ".join(_join_single_letters(tokens))
    return " ".join(_NOT_WORD_ANY_SCRIPT.sub(" ", text).split())


def _word_views(light: str) -> tuple[str, str | None, str | None]:
    """``words``, the glued variant (or None) and the "1 as l" variant (or None)."""
    bare = _EDGES.sub(" ", light)
    leet = _leet_words(bare, _LEET)
    words = _words(leet)
    glued = _words(_INNER.sub("", leet)) if _INNER.search(leet) else None
    with_l = None
    if "1" in leet and leet != bare:
        with_l = _words(_leet_words(bare, _LEET_ONE_AND_REST))
    return words, glued, with_l


def words_of(phrase: str) -> str:
    """The ``words`` view of a listed phrase, normalised exactly like a message."""
    return _word_views(light_form(phrase))[0]


def term_key(term: str) -> Squeezed:
    """The form a listed term takes in the automaton: normalised exactly like a message."""
    return squeeze(_word_views(light_form(term))[0])


# -- the minors fence's views --

# Punctuation that is also leet counts only between two letters: "salut!" is not "saluti".
_PUNCTUATION_LEET = "!|+"
_LEET_CLASS = "[" + re.escape("".join(c for c in SUBSTITUTIONS if c not in _PUNCTUATION_LEET)) + "]"
# A leet character touching a letter on either side (and chains of them: "1337" inside a word).
# Runs are taken whole from their first character, so that a long run of digits costs one pass,
# not one per starting position.
_LEET_IN_WORD = re.compile(
    rf"(?<=[a-z]){_LEET_CLASS}++|(?<!{_LEET_CLASS}){_LEET_CLASS}++(?=[a-z])"
    rf"|(?<=[a-z])[{re.escape(_PUNCTUATION_LEET)}]++(?=[a-z])"
)
_SYMBOL_LETTERS = str.maketrans({c: SUBSTITUTIONS[c] for c in "@$€£"})
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_WORD_LATIN = re.compile(r"[^a-z0-9]+")
# Three or more one-character tokens in a row (a letter may be doubled: "r d vv"): a word spelt
# out to dodge filters.
_SPELT_OUT = re.compile(r"(?<![a-z0-9])(?:([a-z0-9])\1?+ ){2,}([a-z0-9])\2?+(?![a-z0-9])")
_REPEATED_3 = re.compile(r"([a-z])\1{2,}")

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


def _unleet(match: re.Match[str]) -> str:
    return "".join(SUBSTITUTIONS[c] for c in match.group(0))


# Any character that _LEET_IN_WORD reads as a letter: a token without one has nothing to undo,
# and most texts hold none, so they skip the token-by-token pass.
_MAY_BE_LEET = re.compile(f"{_LEET_CLASS}|[{re.escape(_PUNCTUATION_LEET)}]")


def _unleet_words(text: str) -> str:
    """Leetspeak inside words undone, numbers with their unit left alone."""
    if _MAY_BE_LEET.search(text) is None:
        return text
    return " ".join(
        token
        if _MAY_BE_LEET.search(token) is None or _QUANTITY.fullmatch(token.strip(_EDGE_PUNCTUATION))
        else _LEET_IN_WORD.sub(_unleet, token)
        for token in text.split(" ")
    )


def _join_spelt_out(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "")


def keyword(word: str) -> str:
    """A pattern for ``word`` in the ``words`` form that also takes doubled letters ("snaap")."""
    return (
        r"\b" + "".join(f"{re.escape(c)}+" if c.isalpha() else re.escape(c) for c in word) + r"\b"
    )


@dataclass(frozen=True, slots=True)
class Forms:
    """Every view of one text that a check reads (see the module docstring)."""

    original: str
    light: str
    words: str
    keys: tuple[Squeezed, ...]
    folded: str
    numbers: str
    unleeted: str
    latin_words: str
    squashed: str


# How many times :func:`read` ran: a message's path must read its text once (a test checks).
reads = 0


def read(text: str) -> Forms:
    """Every form of ``text`` any check reads; linear in ``len(text)``."""
    global reads
    reads += 1
    light = light_form(text)
    words, glued, with_l = _word_views(light)
    keys = [squeeze(words)]
    for view in (glued, with_l):
        if view is not None and view != words:
            keys.append(squeeze(view))
    folded = _SPACES.sub(" ", _APOSTROPHES.sub(" ", light)).strip()
    # Ages written in words, and symbols as spaces, so that "j'ai 14ans!" reads "j ai 14ans".
    numbers = folded
    if _NUMBER_HINT.search(folded):
        numbers = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], folded)
    numbers = _SPACES.sub(" ", _NOT_WORD_LATIN.sub(" ", numbers)).strip()
    unleeted = _unleet_words(folded)
    # Symbols that only ever stand for letters in words ("s.n.@.p"): this form keeps none.
    latin = unleeted.translate(_SYMBOL_LETTERS)
    latin = _SPACES.sub(" ", _NOT_WORD_LATIN.sub(" ", latin)).strip()
    latin = _SPELT_OUT.sub(_join_spelt_out, latin)
    # Spelt out, "s.n.4.p" had no letter beside its "4"; joined, it has.
    latin = _unleet_words(latin)
    latin = _REPEATED_3.sub(r"\1", latin)
    return Forms(
        original=text,
        light=light,
        words=words,
        keys=tuple(keys),
        folded=folded,
        numbers=numbers,
        unleeted=unleeted,
        latin_words=latin,
        squashed=latin.replace(" ", ""),
    )
