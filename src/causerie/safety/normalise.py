"""Normalisation: the forms of a text that the rule packs are matched against.

People who want past a filter write "c0c@ïne", "s.n.a.p", "s n a p", "snaaaap", put a zero-width
space inside a word, a Cyrillic "о" for a Latin "o" or "🅰" for "a". Every such variant must meet
the rules in the same form as the plain word, and a plain word must never turn into a listed one
("Scunthorpe", "assassin" and "bosser" stay themselves). So:

* ``light`` is the folded text (case, accents, width, look-alike letters and invisible characters,
  see :func:`causerie.text.fold`) with emoji letters read as letters and whitespace collapsed.
  Patterns that care about digits (phone numbers, ages, prices) read this one.
* ``words`` is ``light`` cut into words, where leetspeak inside a word is read as letters ("sn4p"
  is "snap", but "15" stays "15"), punctuation splits words, and a run of three or more single
  letters is joined back ("s n a p", "s.n.a.p"). Word patterns read this one.
* ``keys`` are the forms the term automaton reads: ``words`` and, where they differ, the same
  with punctuation inside a word removed ("sn.ap") or with "1" read as "l" instead of "i", each
  squeezed (every run of a repeated letter kept once) with the length of each run alongside, so
  that "snaaap" meets "snap" while "as" does not meet "ass".

Every step is a single pass over the text: normalisation is linear in its length.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from causerie.text import LEET_LETTERS, fold

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

# Characters read as letters inside a word that has at least one letter.
_LEET = str.maketrans({**LEET_LETTERS, "£": "l", "+": "t"})
# The same, reading "1" as "l" ("ki11" is "kill" as much as "kiii").
_LEET_ONE_AND_REST = {**_LEET, ord("1"): "l"}
# Punctuation that ends or opens a word rather than standing for a letter ("snap!" is "snap").
_EDGE_PUNCTUATION = "!?.,;:…)]}\"'«»“”‘’([{¿¡*~-_"
_HAS_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD = re.compile(r"[\W_]+")
_RUNS = re.compile(r"(.)\1*", re.DOTALL)
_REPEATED = re.compile(r"(.)\1+", re.DOTALL)
_SPACES = re.compile(r"\s+")


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


@dataclass(frozen=True, slots=True)
class Normalised:
    original: str
    light: str
    words: str
    keys: tuple[Squeezed, ...]


def squeeze(view: str) -> Squeezed:
    return Squeezed(view)


def light_form(text: str) -> str:
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


def _leet_words(text: str, table: dict[int, str]) -> str:
    def read(match: re.Match[str]) -> str:
        word = match.group(0)
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
                tokens.extend(_NOT_WORD.sub(" ", chunk).split())
        return " ".join(_join_single_letters(tokens))
    return " ".join(_NOT_WORD.sub(" ", text).split())


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


def normalise(text: str) -> Normalised:
    """Every form of ``text`` the rules read; linear in ``len(text)``."""
    light = light_form(text)
    words, glued, with_l = _word_views(light)
    keys = [squeeze(words)]
    for view in (glued, with_l):
        if view is not None and view != words:
            keys.append(squeeze(view))
    return Normalised(original=text, light=light, words=words, keys=tuple(keys))


def term_key(term: str) -> Squeezed:
    """The form a listed term takes in the automaton: normalised exactly like a message."""
    return squeeze(_word_views(light_form(term))[0])
