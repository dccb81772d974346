"""The labelled data: well formed, every category covered, evaluation kept out of training."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.safety.categories import Category
from causerie.safety.model import load_default_model
from causerie.safety.model.dataset import LANGUAGES, Example, load, overlap_key

DATA = Path(__file__).resolve().parents[2] / "data" / "safety"
TRAINING_FILES = ("train_generated.jsonl", "train_handwritten.jsonl")


@pytest.fixture(scope="module")
def training() -> list[Example]:
    return [example for name in TRAINING_FILES for example in load(DATA / name)]


@pytest.fixture(scope="module")
def evaluation() -> list[Example]:
    return load(DATA / "eval.jsonl")


@pytest.fixture(scope="module")
def scored() -> tuple[Category, ...]:
    """The categories the shipped n-gram model was trained on (the semantic heads cover more)."""
    return tuple(load_default_model().categories)


def test_no_evaluation_text_appears_in_training(
    training: list[Example], evaluation: list[Example]
) -> None:
    seen = {overlap_key(example.text) for example in training}
    leaked = [example.text for example in evaluation if overlap_key(example.text) in seen]
    assert leaked == []


def test_overlap_key_ignores_case_accents_punctuation_and_spacing() -> None:
    assert overlap_key("  Ça VA ?!  très   bien 😂") == overlap_key("ca va tres bien")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_evaluation_covers_every_category_and_benign_text(
    evaluation: list[Example], scored: tuple[Category, ...], lang: str
) -> None:
    examples = [e for e in evaluation if e.lang == lang]
    for category in scored:
        assert sum(category in e.labels for e in examples) >= 15, category
    assert sum(not e.labels for e in examples) >= 100


@pytest.mark.parametrize("lang", LANGUAGES)
def test_training_covers_every_category_in_both_languages(
    training: list[Example], scored: tuple[Category, ...], lang: str
) -> None:
    examples = [e for e in training if e.lang == lang]
    for category in scored:
        assert sum(category in e.labels for e in examples) >= 200, category


def test_evaluation_texts_are_unique(evaluation: list[Example]) -> None:
    keys = [overlap_key(e.text) for e in evaluation]
    assert len(keys) == len(set(keys))


def test_grooming_signals_are_never_labelled_sexual(
    training: list[Example], evaluation: list[Example]
) -> None:
    # The test data rule: nothing sexual involving minors, so the two labels never meet.
    for example in training + evaluation:
        assert not {Category.CHILD_SAFETY, Category.SEXUAL} <= example.labels, example.text
        assert not {Category.CHILD_SAFETY, Category.SOLICITATION} <= example.labels, example.text
