"""Which language packs read a text: a French line is not matched against English insults.

"il est en retard" is French; the English pack's "retard" must not fire on it. Chat lines are
short and mix languages ("slt, hmu on snap"), so the reading is cautious: a pack is left out
only when the detector is confident the text is in the other language; otherwise every pack
reads it. lingua-language-detector, built for French and English only, decides in tens of
microseconds with its models preloaded (about 0.3 s, once per process).
"""

from __future__ import annotations

from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# The languages the shipped packs are written in, by pack language code.
_LANGUAGES: dict[str, Language] = {"fr": Language.FRENCH, "en": Language.ENGLISH}
# Below this confidence in one language, a text is read by every pack.
CONFIDENT = 0.65
# Shorter texts carry too little to tell ("mdr", "ok", "snap").
MIN_LETTERS = 8


@cache
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(*_LANGUAGES.values())
        .with_preloaded_language_models()
        .build()
    )


def warm() -> None:
    """Load the detector now (a node's start), not on the first message."""
    _detector()


def languages_of(text: str) -> frozenset[str]:
    """The pack languages that read ``text``: one when the detector is confident, else all."""
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return frozenset(_LANGUAGES)
    for value in _detector().compute_language_confidence_values(text):
        if value.value >= CONFIDENT:
            return frozenset(code for code, lang in _LANGUAGES.items() if lang == value.language)
        break
    return frozenset(_LANGUAGES)
