"""The shipped model: loads from the package, scores its categories, separates clear cases."""

from __future__ import annotations

import io
import json
import time
from importlib import resources

import numpy as np
import pytest

from causerie.safety.categories import Category
from causerie.safety.model import (
    WEIGHTS_FILE,
    LinearNgramModel,
    TextModel,
    WeightsError,
    load_default_model,
)
from causerie.safety.model.features import MAX_CHARS, prepare

# Synthetic, non-graphic examples; the grooming ones are signals (age, secrecy), nothing sexual.
CLEAR_POSITIVES = [
    (Category.DRUGS, "vends de la beuh, livraison sur Paris"),
    (Category.DRUGS, "selling weed and coke, dm me"),
    (Category.OFF_PLATFORM, "ajoute moi sur snap"),
    (Category.OFF_PLATFORM, "add me on s.n.a.p"),
    (Category.PERSONAL_DATA, "mon numéro c'est le 06 11 22 33 44"),
    (Category.PERSONAL_DATA, "email me at someone@example.com"),
    (Category.CHILD_SAFETY, "t'as quel âge ? ne dis rien à tes parents"),
    (Category.CHILD_SAFETY, "how old are you? don't tell your parents, it's our secret"),
    (Category.WEAPONS, "je vends un glock sans papiers"),
    (Category.WEAPONS, "selling a pistol, no paperwork"),
    (Category.VIOLENCE, "je vais te tuer"),
    (Category.VIOLENCE, "i know where you live, watch yourself"),
    (Category.HARASSMENT, "ferme ta gueule connard"),
    (Category.HARASSMENT, "shut up you idiot"),
    (Category.SPAM, "gagnez 500€ par jour http://gain.example.fr"),
    (Category.SPAM, "click here to claim your free iphone http://win.example.com"),
    (Category.SEXUAL, "envoie des nudes"),
    (Category.SEXUAL, "send nudes"),
    (Category.SOLICITATION, "escort disponible ce soir, tarifs en privé"),
    (Category.SOLICITATION, "escort available tonight, rates in dm"),
]

BENIGN = [
    "salut ça va ?",
    "the assassin in that film was great",
    "I grew up in Scunthorpe",
    "je bosse demain matin",
    "on se retrouve au bar avec les potes ce soir",
    "meeting my mates at the pub",
    "quel beau but de Mbappé",
]


@pytest.fixture(scope="module")
def model() -> LinearNgramModel:
    return load_default_model()


def test_weights_ship_inside_the_package() -> None:
    weights = resources.files("causerie.safety.model").joinpath(WEIGHTS_FILE)
    assert weights.is_file()
    # A few MB at most: the file is committed and installed with the package.
    assert len(weights.read_bytes()) < 3_000_000


def test_default_model_is_a_text_model(model: LinearNgramModel) -> None:
    assert isinstance(model, TextModel)
    assert model.name and model.version
    assert load_default_model() is model
    assert set(model.thresholds) == set(model.categories)


def test_every_text_gets_a_probability_for_each_of_its_categories(model: LinearNgramModel) -> None:
    texts = ["bonjour", "hello", ""]
    results = model.score_batch(texts)
    assert len(results) == len(texts)
    for scores in results:
        assert set(scores) == set(model.categories)
        assert all(0.0 <= p <= 1.0 for p in scores.values())
    assert model.score_batch([]) == []


@pytest.mark.parametrize(("category", "text"), CLEAR_POSITIVES)
def test_clear_positive_scores_above_threshold(
    model: LinearNgramModel, category: Category, text: str
) -> None:
    [scores] = model.score_batch([text])
    assert scores[category] >= model.thresholds[category]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_scores_below_every_threshold(model: LinearNgramModel, text: str) -> None:
    [scores] = model.score_batch([text])
    assert all(scores[c] < model.thresholds[c] for c in model.categories), scores


def test_batch_scores_match_single_scores(model: LinearNgramModel) -> None:
    texts = [text for _, text in CLEAR_POSITIVES] + BENIGN + ["", "   "]
    batched = model.score_batch(texts)
    for text, scores in zip(texts, batched, strict=True):
        [alone] = model.score_batch([text])
        assert scores == pytest.approx(alone, abs=1e-6)


@pytest.mark.parametrize(
    ("obfuscated", "plain"),
    [
        ("S\u200bN\u200bA\u200bP", "snap"),
        ("ѕnар", "snap"),  # Cyrillic look-alikes
        ("c0c4ine", "cocaine"),
        ("$nap", "snap"),
        ("s . n . a . p", "snap"),
        ("cooooool", "cool"),
    ],
)
def test_preparation_undoes_common_obfuscation(obfuscated: str, plain: str) -> None:
    assert prepare(obfuscated) == plain


def test_phone_numbers_keep_their_shape_not_their_digits() -> None:
    assert prepare("06 12 34 56 78") == prepare("07 98 76 54 32") == "00 00 00 00 00"


def test_hostile_input_is_scored_in_bounded_time(model: LinearNgramModel) -> None:
    texts = [
        "a" * 1_000_000,
        "s n a p " * 100_000,
        "\x00\x01\ud800 mixed ѕcript 😂" * 10_000,
        "\u200b" * 100_000,
        "(" * 100_000 + "x",
    ]
    started = time.perf_counter()
    results = model.score_batch(texts)
    assert time.perf_counter() - started < 2.0
    assert all(set(scores) == set(model.categories) for scores in results)
    assert len(prepare("a" * 1_000_000)) <= MAX_CHARS


def test_garbage_weights_are_refused() -> None:
    with pytest.raises(WeightsError):
        LinearNgramModel.load(b"not a weights file")


def test_weights_for_other_features_are_refused(model: LinearNgramModel) -> None:
    buffer = io.BytesIO()
    model.save(buffer)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as arrays:
        contents = {name: arrays[name] for name in arrays.files}
    metadata = json.loads(contents["metadata"].tobytes())
    metadata["features_version"] = -1
    contents["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    tampered = io.BytesIO()
    np.savez(tampered, **contents)
    with pytest.raises(WeightsError, match="other features"):
        LinearNgramModel.load(tampered.getvalue())


def test_saved_model_loads_back_with_the_same_scores(model: LinearNgramModel) -> None:
    buffer = io.BytesIO()
    model.save(buffer)
    reloaded = LinearNgramModel.load(buffer.getvalue())
    texts = [text for _, text in CLEAR_POSITIVES]
    for a, b in zip(model.score_batch(texts), reloaded.score_batch(texts), strict=True):
        assert a == pytest.approx(b, abs=1e-6)
