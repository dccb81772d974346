"""The semantic stage: loads offline, separates harms from look-alikes, banks extend it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from causerie.safety.categories import Category
from causerie.safety.model import TextModel
from causerie.safety.model.semantic import (
    CACHE_FILE,
    EMBEDDING_DIM,
    ExemplarBank,
    ExemplarError,
    SemanticModel,
    exemplar_scores,
    load_semantic_model,
    read_exemplar_files,
)

ROOT = Path(__file__).resolve().parents[2]
EXEMPLARS = ROOT / "data" / "safety" / "semantic" / "exemplars"

# Synthetic, non-graphic; grooming lines are approach signals only, slurs are placeholders.
# Each harmful line is paired with harmless lines that share its words.
PAIRS: list[tuple[Category, str, list[str]]] = [
    (
        Category.CHILD_SAFETY,
        "t'es en 5ème ? supprime nos messages, tes parents doivent rien savoir",
        ["je suis prof au collège, j'ai deux classes de 5ème", "ma fille est en 5ème"],
    ),
    (
        Category.SEXUAL,
        "envoie moi une photo de toi toute nue",
        ["envoie moi une photo de ton chat", "au musée on a vu des statues grecques toutes nues"],
    ),
    (
        Category.SOLICITATION,
        "je reçois ces messieurs, 120 la demi-heure",
        ["je donne des cours de piano, 20 la demi-heure", "le babysitting c'est 10 de l'heure"],
    ),
    (
        Category.DRUGS,
        "❄️ et 🍃 dispo ce soir, le plug livre",
        ["il neige ❄️ ce soir, restez au chaud", "la prise 🔌 de ma lampe est grillée"],
    ),
    (
        Category.WEAPONS,
        "je revends un pistolet non déclaré, paiement cash",
        ["il a shooté au basket, trois points", "mon perso a un pistolet laser dans le jeu"],
    ),
    (
        Category.AMBUSH,
        "viens tout seul derrière le gymnase avec ton portable, on t'attend",
        ["rendez-vous au gymnase pour le match de hand", "j'ai tué le boss du niveau 3"],
    ),
    (
        Category.HARASSMENT,
        "t'es qu'une merde, personne veut de toi, va crever",
        ["mdr t'es nul à Mario Kart", "je suis mort de fatigue ce soir"],
    ),
    (
        Category.DOXXING,
        "voici son adresse, 14 rue des Acacias, et elle sort du boulot à 18h",
        ["la boulangerie de la rue des Acacias fait du bon pain", "je sors du boulot à 18h"],
    ),
    (
        Category.OFF_PLATFORM,
        "ajoute moi sur snap, on sera plus tranquilles là-bas",
        ["mon chien s'appelle Snap", "je poste mes dessins sur Instagram"],
    ),
    (
        Category.SCAM,
        "gagne 3000€ par mois sans rien faire, clique sur ce lien",
        ["attention aux faux liens de livraison, ne cliquez pas", "j'ai gagné le match 3-0"],
    ),
]


@pytest.fixture(scope="module")
def model() -> SemanticModel:
    return load_semantic_model()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the semantic model tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


def test_is_a_text_model(model: SemanticModel) -> None:
    assert isinstance(model, TextModel)
    assert model.name == "semantic-use3"
    assert model.version
    scores = model.score_batch(["bonjour"])[0]
    assert set(scores) == set(Category)
    assert all(0.0 <= p <= 1.0 for p in scores.values())
    assert model.score_batch([]) == []


def test_loads_without_the_network(offline: None) -> None:
    fresh = load_semantic_model()
    assert fresh.score_batch(["salut"])[0].keys() == set(Category)


@pytest.mark.parametrize(("category", "harmful", "lookalikes"), PAIRS)
def test_harm_scores_above_its_lookalikes(
    model: SemanticModel, category: Category, harmful: str, lookalikes: list[str]
) -> None:
    scores = model.score_batch([harmful, *lookalikes])
    assert scores[0][category] >= 0.5, (harmful, scores[0][category])
    for text, score in zip(lookalikes, scores[1:], strict=True):
        assert score[category] < scores[0][category], text
        assert score[category] < 0.5, (text, score[category])


def test_batch_and_single_agree(model: SemanticModel) -> None:
    texts = [harmful for _, harmful, _ in PAIRS] + ["slt ça va", ""]
    batched = model.score_batch(texts)
    for text, row in zip(texts, batched, strict=True):
        single = model.score_batch([text])[0]
        for category in model.categories:
            assert single[category] == pytest.approx(row[category], abs=1e-4)


def test_shipped_banks_match_the_exemplar_files(model: SemanticModel) -> None:
    entries = read_exemplar_files(EXEMPLARS)
    assert list(zip(model.heads.bank.labels, model.heads.bank.texts, strict=True)) == entries, (
        "the exemplar files changed: rerun scripts/train_semantic_model.py"
    )


def test_extending_a_bank_changes_scores_without_retraining(
    model: SemanticModel, tmp_path: Path
) -> None:
    # A made-up code phrase that reads as harmless until an operator teaches it.
    text = "les lunettes bleues sont arrivées au garage, passe ce soir"
    before = model.score_batch([text])[0][Category.DRUGS]
    (tmp_path / "drugs.txt").write_text(
        "# new street name for a drug\nles lunettes bleues sont arrivées au garage\n"
        "qui veut des lunettes bleues ? passe au garage\nlunettes bleues dispo ce soir\n",
        encoding="utf-8",
    )
    extended = load_semantic_model(tmp_path)
    after = extended.score_batch([text])[0][Category.DRUGS]
    assert after > before + 0.1
    assert extended.version != model.version
    assert (tmp_path / CACHE_FILE).exists()
    # A second load reads the cache and scores the same.
    again = load_semantic_model(tmp_path).score_batch([text])[0][Category.DRUGS]
    assert again == pytest.approx(after, abs=1e-6)

    # A harmless exemplar pulls a look-alike down.
    lookalike = "mon chien s'appelle Snap, ajoute le à la photo de famille"
    before_off = extended.score_batch([lookalike])[0][Category.OFF_PLATFORM]
    (tmp_path / "harmless.txt").write_text(
        "mon chien s'appelle Snap\najoute mon chien Snap sur la photo de famille\n"
        "Snap mon chien est sur la photo\n",
        encoding="utf-8",
    )
    cleared = load_semantic_model(tmp_path).score_batch([lookalike])[0][Category.OFF_PLATFORM]
    assert cleared < before_off


def test_unknown_bank_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "drug.txt").write_text("x\n", encoding="utf-8")
    with pytest.raises(ExemplarError, match="unknown bank"):
        load_semantic_model(tmp_path)


def test_embed_gives_unit_vectors(model: SemanticModel) -> None:
    vectors = model.embed(["bonjour", "hello", "x" * 5000])
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_conversation_reads_lines_together(model: SemanticModel) -> None:
    # Each line is mild on its own; together they are an approach to a minor.
    grooming = [
        "t'as quel âge ?",
        "cool, t'es dans quel collège ?",
        "tes parents rentrent tard ce soir ?",
        "garde ça entre nous",
    ]
    chat = [
        "t'as quel âge ?",
        "moi 15, je suis en seconde",
        "tu fais quoi ce week-end ?",
        "je vais au foot avec mon frère",
    ]
    together = model.score_conversation(grooming)
    harmless = model.score_conversation(chat)
    assert together[Category.CHILD_SAFETY] >= 0.5
    assert harmless[Category.CHILD_SAFETY] < 0.5
    assert together[Category.CHILD_SAFETY] > max(
        s[Category.CHILD_SAFETY] for s in model.score_batch(grooming[:1])
    )
    assert model.score_conversation([]) == dict.fromkeys(Category, 0.0)


def test_package_loader_caches_the_model() -> None:
    from causerie.safety.model import load_semantic

    assert load_semantic() is load_semantic()
    assert load_semantic().name == "semantic-use3"


def test_exemplar_scores_of_banks_shorter_than_k_average_what_they_have() -> None:
    # Pure arithmetic on hand-made unit vectors: a category with one exemplar averages that
    # one, a category with none scores 0, each less the mean of the k nearest harmless ones.
    dims = np.eye(EMBEDDING_DIM, dtype=np.float32)
    text = (dims[0] * 0.6 + dims[1] * 0.8).reshape(1, -1)
    harmless = [dims[0], dims[2], dims[3], dims[4] * -1.0]
    bank = ExemplarBank(
        ("one drug", "h1", "h2", "h3", "h4", "s1", "s2", "s3", "s4"),
        ("drugs", "harmless", "harmless", "harmless", "harmless", *["sexual"] * 4),
        np.stack([dims[1], *harmless, dims[1], dims[0], dims[5], dims[6]]),
    )
    scores = exemplar_scores(text, bank, (Category.DRUGS, Category.SEXUAL, Category.HATE), k=3)
    nearest_harmless = (0.6 + 0.0 + 0.0) / 3
    expected = [0.8 - nearest_harmless, (0.8 + 0.6 + 0.0) / 3 - nearest_harmless, -nearest_harmless]
    np.testing.assert_allclose(scores[0], expected, atol=1e-6)
