"""Text folding shared by nickname uniqueness and the safety pipeline.

``fold`` maps text that a person would read as the same to the same string: case, accents,
compatibility forms (full-width letters, ligatures), invisible characters and look-alike letters
from other scripts (a Cyrillic "а" for a Latin "a").
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

# Characters that render as nothing and are used to split words past filters.
INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
    "\u3164\ufeff\uffa0"
)


@lru_cache(maxsize=1)
def _lookalikes() -> dict[int, str]:
    """Map every character that Unicode lists as confusable with an ASCII letter to that letter."""
    table: dict[int, str] = {}
    for char, targets in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        letters = [t["c"] for t in targets if len(t["c"]) == 1 and t["c"].isascii()]
        alpha = [c for c in letters if c.isalpha()]
        chosen = (alpha or letters or [None])[0]
        if chosen is not None:
            table[ord(char)] = chosen.lower()
    for char in INVISIBLE:
        table[ord(char)] = ""
    return table


# Characters that stand for letters inside a word ("sn4p", "c0c@ine", "$nap"), shared by the
# safety pipeline and the minors fence so that both read a disguised word the same way.
LEET_LETTERS: dict[str, str] = {
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
    "!": "i",
    "|": "l",
}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case-, accent-, width- and look-alike-insensitive form of ``text``.

    Folding a folded text changes nothing: uniqueness keys and filters rely on it.
    """
    # Case first, then accents, then look-alikes: a capital Greek letter with a diacritic is
    # confusable with a Latin letter only once lowered and stripped ("Ἀ" is "ἀ" is "α" is "a").
    text = unicodedata.normalize("NFKC", text).casefold()
    return strip_accents(text).translate(_lookalikes())
