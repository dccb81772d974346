"""One reading: every check sees through the same disguises.

Each plain phrase below is disguised in many ways; the minors fence's signals and the rule packs'
categories must be the same for every disguise as for the plain phrase.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from causerie.moderation import forms
from causerie.moderation.forms import read
from causerie.safety.packs import load_rulebook
from causerie.trust.signals import Signal, detect

BOOK = load_rulebook()

_CYRILLIC = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х"})
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(ord("a"), ord("z") + 1)}


def _letters(base: int) -> Callable[[str], str]:
    return lambda word: "".join(
        chr(base + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in word
    )


DISGUISES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "leet": lambda w: w.replace("a", "4").replace("e", "3").replace("o", "0"),
    "at_sign": lambda w: w.replace("a", "@"),
    "dollar": lambda w: w.replace("s", "$"),
    "spaced": lambda w: " ".join(w),
    "dotted": lambda w: ".".join(w),
    "stretched": lambda w: "".join(c * 3 if c in "aeiou" else c for c in w),
    "zero_width": lambda w: "\u200b".join(w),
    "soft_hyphen": lambda w: w[: len(w) // 2] + "\u00ad" + w[len(w) // 2 :],
    "cyrillic": lambda w: w.translate(_CYRILLIC),
    "fullwidth": lambda w: "".join(_FULLWIDTH.get(c, c) for c in w),
    "circled": _letters(0x24D0),
    "negative_circled": _letters(0x1F150),
    "negative_squared": _letters(0x1F170),
    "squared": _letters(0x1F130),
    "regional_indicators": _letters(0x1F1E6),
    "accents": lambda w: w.replace("a", "à").replace("e", "é").replace("o", "ô"),
}

# A phrase, and the word in it that people disguise.
PHRASES = [
    ("viens sur {} ce soir", "snapchat"),
    ("ajoute moi sur {}", "whatsapp"),
    ("passe sur {} on sera mieux", "telegram"),
]


def _corpus() -> list[tuple[str, str, str]]:
    cases = []
    for template, word in PHRASES:
        for name, disguise in DISGUISES.items():
            cases.append((f"{word}/{name}", template.format(word), template.format(disguise(word))))
    return cases


CORPUS = _corpus()


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50


def _categories(text: str) -> set[str]:
    return {hit.category.value for hit in BOOK.match(read(text), "all", "message")}


@pytest.mark.parametrize(("name", "plain", "disguised"), CORPUS, ids=[c[0] for c in CORPUS])
def test_every_check_reads_a_disguise_as_the_plain_word(
    name: str, plain: str, disguised: str
) -> None:
    plain_signals = detect(read(plain)).signals
    assert Signal.OFF_PLATFORM in plain_signals
    assert detect(read(disguised)).signals == plain_signals
    plain_categories = _categories(plain)
    assert "off_platform" in plain_categories
    assert _categories(disguised) == plain_categories


def test_the_regional_indicator_example_is_seen_by_the_fence_and_the_rules() -> None:
    text = "viens sur 🅢🅝🅐🅟🅒🅗🅐🅣"
    assert Signal.OFF_PLATFORM in detect(read(text)).signals
    assert "off_platform" in _categories(text)


def test_plain_words_stay_themselves() -> None:
    for text in ("Scunthorpe est une ville", "un as du volant", "je vais bosser demain"):
        assert not detect(read(text)).signals
        assert not _categories(text)


def test_reading_counts_calls() -> None:
    before = forms.reads
    read("bonjour")
    assert forms.reads == before + 1
