"""Text preparation and n-gram extraction shared by the training script and the shipped model.

Training and inference must see exactly the same features, so both import this module; changing
it means retraining (the weights file records ``FEATURES_VERSION`` and refuses a mismatch).
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from causerie.text import fold

FEATURES_VERSION = 2

# Chat messages are short; cutting long texts bounds the time a single message can cost.
MAX_CHARS = 1000
CHAR_NGRAM_SIZES = (2, 3, 4, 5)

# Word features live in the same vocabulary as character n-grams; this prefix cannot collide
# with a character n-gram because prepare() turns every control character into a space.
WORD_PREFIX = "\x01"

# Markers use a character that survives prepare() only where we put it ("§" is neither a
# letter nor a digit, and fold() leaves it alone).
EMAIL_MARKER = "§mail§"
URL_MARKER = "§url§"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|fr|net|org|io|ly|me|gg|xyz|co|be|ch)\b\S*"
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})
# A single leet character between letters (s3x, c0ke, $nap); runs of digits stay numbers.
_LEET_INSIDE = re.compile(
    r"(?<=[a-z])[013457$@](?=[a-z])|(?<![\w$@])[$](?=[a-z])|(?<=[a-z])[0134$](?![\w$@])"
)
# Letters spelt out one by one ("s n a p", "s.n.a.p") are joined back into a word.
_SPELLED = re.compile(r"(?<!\w)\w(?:[ .\-_*·]{1,3}\w(?!\w)){2,}")
_SEPARATORS = re.compile(r"[ .\-_*·]")
_DIGIT = re.compile(r"[0-9]")
_REPEATS = re.compile(r"(.)\1{2,}")
_SPACES = re.compile(r"\s+")


def _without_controls(text: str) -> str:
    # Control characters (newlines, tabs) separate words; format characters (zero-width joiners)
    # are slipped inside words to split them, so they vanish.
    if text.isprintable():
        return text
    out = []
    for char in text:
        kind = unicodedata.category(char)
        out.append(" " if kind == "Cc" else "" if kind == "Cf" else char)
    return "".join(out)


def _deleet(match: re.Match[str]) -> str:
    char = match.group(0)
    return "a" if char == "@" else char.translate(_LEET)


def prepare(text: str) -> str:
    """Fold, mark emails and links, undo common leetspeak, and reduce digits to their shape."""
    text = text[:MAX_CHARS]
    text = _without_controls(text)
    text = fold(text)
    text = _EMAIL.sub(f" {EMAIL_MARKER} ", text)
    text = _URL.sub(lambda m: f" {URL_MARKER} {m.group(0)} ", text)
    text = _SPELLED.sub(lambda m: _SEPARATORS.sub("", m.group(0)), text)
    text = _LEET_INSIDE.sub(_deleet, text)
    text = _REPEATS.sub(r"\1\1", text)
    # The exact digits of a phone number or a price tell the model nothing; their shape does.
    text = _DIGIT.sub("0", text)
    return _SPACES.sub(" ", text).strip()


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|§\w+§")


def extract(prepared: str) -> list[str]:
    """Character 2- to 5-grams over the padded text, plus word unigrams and bigrams."""
    padded = f" {prepared} "
    grams: list[str] = []
    for size in CHAR_NGRAM_SIZES:
        grams.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
    words = _WORD.findall(prepared)
    grams.extend(WORD_PREFIX + word for word in words)
    grams.extend(f"{WORD_PREFIX}{a} {b}" for a, b in itertools.pairwise(words))
    return grams


def features(text: str) -> list[str]:
    return extract(prepare(text))
