"""The shipped heads are an average of members: its score is the mean of theirs, at no cost."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import numpy as np

from causerie.safety.categories import Category
from causerie.safety.model.semantic import EMBEDDING_DIM, ExemplarBank, Heads, exemplar_scores

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "average_semantic_heads.py"
CATEGORIES = (Category.SCAM, Category.AMBUSH)


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("average_semantic_heads", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, EMBEDDING_DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _member(rng: np.random.Generator, bank: ExemplarBank, tag: str) -> Heads:
    return Heads(
        version=f"1.0+{tag}",
        categories=CATEGORIES,
        coef=rng.normal(size=(2, EMBEDDING_DIM)).astype(np.float32),
        intercept=rng.normal(size=2).astype(np.float32),
        combine=np.abs(rng.normal(size=(2, 3))).astype(np.float32),
        k=2,
        bank=bank,
    )


def _logits(heads: Heads, x: np.ndarray) -> np.ndarray:
    c = heads.combine
    head = x @ heads.coef.T + heads.intercept
    return (
        c[:, 0] * head
        + c[:, 1] * exemplar_scores(x, heads.bank, heads.categories, heads.k)
        + c[:, 2]
    )


def test_the_average_scores_the_mean_of_its_members_logits() -> None:
    rng = np.random.default_rng(7)
    labels = ("scam", "scam", "ambush", "ambush", "harmless", "harmless")
    bank = ExemplarBank(tuple(f"t{i}" for i in range(6)), labels, _unit(rng, 6))
    first, second = _member(rng, bank, "aaaa1111"), _member(rng, bank, "bbbb2222")
    averaged = _script().average([first, second])
    x = _unit(rng, 5)
    expected = (_logits(first, x) + _logits(second, x)) / 2
    assert np.allclose(_logits(averaged, x), expected, atol=1e-4)
    assert averaged.version == "1.0+aaaa1111+bbbb2222"
    # It saves and loads as any heads file does.
    buffer = io.BytesIO()
    averaged.save(buffer)
    assert Heads.load(buffer.getvalue()).version == averaged.version
