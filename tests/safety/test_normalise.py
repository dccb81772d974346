"""Normalisation: obfuscated variants of listed terms are still caught; benign text stays benign."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causerie.moderation.forms import read as normalise
from causerie.safety.packs import RuleBook, load_rulebook
from causerie.safety.pipeline import Context, SafetyPipeline
from causerie.safety.policy import Action

BOOK: RuleBook = load_rulebook()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("C0C@ÏNE", "cocaine"),
        ("s.n.a.p", "snap"),
        ("s n a p", "snap"),
        ("s-n-a-p", "snap"),
        ("c 0 c @ i n e", "cocaine"),
        ("snaaaaap", "snaaaaap"),
        ("sn\u200bap", "snap"),
        ("Ѕnар", "snap"),  # Cyrillic S, a and p
        ("🅰dd me", "add me"),
        ("🇸🇳🇦🇵", "snap"),
        ("ＳＮＡＰ", "snap"),  # full width
        ("snap!!", "snap"),
        ("j'ai 15 ans", "j ai 15 ans"),
        ("rdv 06 12", "rdv 06 12"),
    ],
)
def test_views_undo_each_trick(text: str, words: str) -> None:
    assert normalise(text).words == words


def test_repeated_letters_meet_the_term_but_fewer_letters_do_not() -> None:
    assert BOOK.match(normalise("je vends de la cocaaaaaine"), "all", "message")
    insult = {h.rule for h in BOOK.match(normalise("kiss my aaaass"), "all", "message")}
    assert "en.harassment.insult" in insult
    # "as" is a French word (an ace) and must not meet the listed "ass".
    assert not BOOK.match(normalise("c'est un as du volant"), "all", "message")


def test_punctuation_inside_a_word_is_undone() -> None:
    hits = BOOK.match(normalise("ajoute moi sur sn.ap"), "all", "message")
    assert "fr.off_platform.request" in {h.rule for h in hits}


# -- property-based ------------------------------------------------------------------------------

LEET = {"o": "0", "e": "3", "a": "@4", "s": "$5", "i": "1", "t": "7", "l": "|"}
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}
ACCENTS = {"a": "àâ", "e": "éèê", "i": "ïî", "o": "ôö", "u": "ùü", "c": "ç"}
SEPARATORS = ["", ".", " ", "-", "_", "\u200b", "\u200d", "*"]


def _listed_words() -> list[tuple[str, str]]:
    """(term, rule id) of every one-word term that applies to room messages everywhere."""
    found: list[tuple[str, str]] = []
    for rule in BOOK.rules:
        if not rule.applies("all", "message"):
            continue
        for term in rule.terms:
            if term.isalpha() and term.isascii() and len(term) >= 4:
                found.append((term, rule.id))
    return found


LISTED = _listed_words()


@st.composite
def obfuscated(draw: st.DrawFn) -> tuple[str, str, str]:
    term, rule = draw(st.sampled_from(LISTED))
    letters: list[str] = []
    for letter in term:
        tricks = ["same", "upper", "repeat"]
        if letter in LEET:
            tricks.append("leet")
        if letter in HOMOGLYPHS:
            tricks.append("homoglyph")
        if letter in ACCENTS:
            tricks.append("accent")
        trick = draw(st.sampled_from(tricks))
        if trick == "upper":
            letter = letter.upper()
        elif trick == "repeat":
            letter = letter * draw(st.integers(2, 4))
        elif trick == "leet":
            letter = draw(st.sampled_from(LEET[letter]))
        elif trick == "homoglyph":
            letter = HOMOGLYPHS[letter]
        elif trick == "accent":
            letter = draw(st.sampled_from(ACCENTS[letter]))
        letters.append(letter)
    separator = draw(st.sampled_from(SEPARATORS))
    word = separator.join(letters)
    before = draw(st.sampled_from(["", "bon alors ", "hey ", "Franchement, "]))
    after = draw(st.sampled_from(["", " voilà", " ok?", " !"]))
    return f"{before}{word}{after}", term, rule


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obfuscated())
def test_an_obfuscated_listed_term_is_still_caught(case: tuple[str, str, str]) -> None:
    text, term, rule = case
    fired = {hit.rule for hit in BOOK.match(normalise(text), "all", "message")}
    assert rule in fired, f"{text!r} (from {term!r}) did not fire {rule}"


BENIGN_WORDS = [
    # Words that contain listed words or look like them, and plain chat.
    "Scunthorpe",
    "assassin",
    "assassinat",
    "bosser",
    "classe",
    "passer",
    "analyse",
    "cocktail",
    "Essex",
    "Middlesex",
    "thérapeute",
    "cockpit",
    "shiitake",
    "Penistone",
    "arsenal",
    "cumulus",
    "document",
    "pussycat",
    "salopette",
    "connaissance",
    "dispute",
    "réputation",
    "computer",
    "pédopsychiatre",
    "escorter",
    "snapshot",
    "télégramme",
    "instant",
    "instable",
    "méthode",
    "crackers",
    "glockenspiel",
    "weedkiller",
    "Dickens",
    "bassiste",
    "cocorico",
    "coca",
    "connecter",
    "Sussex",
    "grape",
    "passion",
    "assez",
    "basse",
    "tuer le temps",
    "bonjour",
    "salut",
    "merci",
    "demain",
    "cinéma",
    "film",
    "musique",
    "concert",
    "match",
    "vacances",
    "Lyon",
    "Marseille",
    "week-end",
    "pizza",
    "chat",
    "chien",
    "travail",
    "école",
    "hello",
    "movie",
    "great",
    "weather",
    "football",
    "coffee",
    "book",
    "train",
    "music",
    "the",
    "le",
    "la",
    "un",
    "une",
    "et",
    "de",
    "is",
    "and",
    "très",
    "bien",
    "super",
    "cool",
    "j'adore",
    "c'est",
    "vraiment",
    "génial",
    "Class",
    "bass",
    "as",
    "the assassin was good",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(BENIGN_WORDS), min_size=1, max_size=12),
    st.sampled_from([" ", ", ", " ! ", "... ", " - "]),
)
def test_benign_text_stays_benign(words: list[str], glue: str) -> None:
    text = glue.join(words)
    hits = BOOK.match(normalise(text), "all", "message")
    assert not hits, f"{text!r} fired {[h.rule for h in hits]}"


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United a gagné hier",
        "The assassin in that film was brilliant, best movie of the year",
        "L'assassin du film est le majordome",
        "je dois bosser demain matin",
        "j'ai mis ma salopette pour peindre",
        "grape juice and cocktails at the Middlesex arms",
        "le pédopsychiatre de mon frère est top",
        "il est 06h12, bonne nuit",
        "en 2024 et 2025 on ira à Lyon",
        "mon score: 1234 5678",
    ],
)
async def test_benign_sentences_are_allowed(rules_only: SafetyPipeline, text: str) -> None:
    decision = await rules_only.evaluate(text, Context("message", "all", "k"))
    assert decision.action == Action.ALLOW, (decision.rules, decision.scores)


# -- bad input ---------------------------------------------------------------------------------


def test_invalid_and_mixed_unicode_has_a_clear_outcome() -> None:
    # An unpaired surrogate, controls, a private-use character, mixed scripts, combining marks.
    text = "he\ud800llo \x00\x07 \ue000 Ѕnар ĉ̸̡ó̶k̵e 中文 العربية"
    result = normalise(text)
    assert "\ud800" not in result.light and "\x00" not in result.light
    result.light.encode("utf-8")
    assert "snap" in result.words


def test_normalisation_is_linear_in_the_text() -> None:
    started = time.perf_counter()
    normalise("a.b " * 5_000)
    normalise("s " * 10_000)
    normalise("é" * 20_000)
    assert time.perf_counter() - started < 2.0
