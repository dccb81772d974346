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

from causerie.text import fold

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
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "€": "e",
        "£": "l",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)
_LEET_ONE_AS_L = str.maketrans({"1": "l"})
# Punctuation that ends or opens a word rather than standing for a letter ("snap!" is "snap").
_EDGE_PUNCTUATION = "!?.,;:…)]}\"'«»“”‘’([{¿¡*~-_"
_HAS_LETTER = re.compile(r"[^\W\d_]")
_NOT_WORD = re.compile(r"[\W_]+")
_RUNS = re.compile(r"(.)\1*", re.DOTALL)
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


@dataclass(frozen=True, slots=True)
class Squeezed:
    """A normalised view with every run of a repeated character kept once.

    ``text`` is padded with spaces so that a word always has a space on each side; ``runs[i]`` is
    how many times ``text[i]`` was repeated in the view.
    """

    text: str
    runs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Normalised:
    original: str
    light: str
    words: str
    keys: tuple[Squeezed, ...]


def squeeze(view: str) -> Squeezed:
    padded = f" {view} "
    letters: list[str] = []
    runs: list[int] = []
    for match in _RUNS.finditer(padded):
        letters.append(match.group(1))
        runs.append(match.end() - match.start())
    return Squeezed("".join(letters), tuple(runs))


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


def _pieces(chunk: str) -> list[str]:
    if len(chunk) == 1 and chunk in _LEET_CHARS:
        return [chunk]
    return _NOT_WORD.sub(" ", chunk).split()


def _word_views(light: str) -> tuple[str, str | None, str | None]:
    """``words``, the glued variant (or None if the same) and the "1 as l" variant (or None)."""
    spaced: list[str] = []
    glued: list[str] = []
    with_l: list[str] = []
    differs_glued = False
    has_one = False
    for chunk in light.split(" "):
        chunk = chunk.strip(_EDGE_PUNCTUATION)
        if not chunk:
            continue
        with_l_chunk: str | None = None
        if len(chunk) > 1 and _HAS_LETTER.search(chunk):
            if "1" in chunk:
                has_one = True
                with_l_chunk = chunk.translate(_LEET_ONE_AS_L).translate(_LEET)
            chunk = chunk.translate(_LEET)
        pieces = _pieces(chunk)
        spaced.extend(pieces)
        if len(pieces) > 1:
            differs_glued = True
        glued.append("".join(pieces))
        with_l.extend(_pieces(with_l_chunk) if with_l_chunk is not None else pieces)
    words = " ".join(_join_single_letters(spaced))
    glued_view = " ".join(_join_single_letters(glued)) if differs_glued else None
    with_l_view = " ".join(_join_single_letters(with_l)) if has_one else None
    return words, glued_view, with_l_view


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
