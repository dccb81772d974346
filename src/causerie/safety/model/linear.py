"""A one-vs-rest logistic model over character and word n-grams, in plain numpy.

The weights file is an ``.npz`` read with ``allow_pickle=False``: arrays of numbers and UTF-8
bytes only, so loading a weights file can never run code.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from causerie.safety.categories import Category
from causerie.safety.model.features import FEATURES_VERSION, features

FORMAT_VERSION = 1

FloatArray = npt.NDArray[np.float32]


class WeightsError(ValueError):
    """The weights file is malformed or was written for other features or categories."""


@dataclass(frozen=True, eq=False)
class LinearNgramModel:
    """Scores texts with ``sigmoid(x · coef + intercept)``, where ``x`` is the L2-normalised
    idf-weighted set of n-grams of the text that appear in the vocabulary."""

    name: str
    version: str
    categories: tuple[Category, ...]
    vocabulary: Mapping[str, int]
    idf: FloatArray
    coef: FloatArray
    intercept: FloatArray
    # The operating point the evaluation reports; the policy file decides what to do with scores.
    thresholds: Mapping[Category, float] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_features, n_categories = len(self.vocabulary), len(self.categories)
        if self.idf.shape != (n_features,) or self.coef.shape != (n_features, n_categories):
            raise WeightsError("weights do not match the vocabulary and categories")
        if self.intercept.shape != (n_categories,):
            raise WeightsError("intercept does not match the categories")

    def _indices(self, text: str) -> set[int]:
        vocabulary = self.vocabulary
        # Presence, not counts: repeating a word should not make a message more of anything.
        return {vocabulary[g] for g in features(text) if g in vocabulary}

    def logits(self, texts: Sequence[str]) -> FloatArray:
        index_sets = [self._indices(text) for text in texts]
        lengths = np.fromiter((len(s) for s in index_sets), dtype=np.int64, count=len(index_sets))
        out: FloatArray = np.tile(self.intercept, (len(texts), 1))
        nonempty = lengths > 0
        if not nonempty.any():
            return out
        flat = np.fromiter(
            itertools.chain.from_iterable(index_sets), dtype=np.int64, count=int(lengths.sum())
        )
        weights = self.idf[flat]
        # Rows with no known n-gram take no room in ``flat``, so the starts of the other rows
        # delimit their segments exactly.
        starts = (np.cumsum(lengths) - lengths)[nonempty]
        norms = np.sqrt(np.add.reduceat(weights * weights, starts))
        sums = np.add.reduceat(self.coef[flat] * weights[:, None], starts, axis=0)
        out[nonempty] += sums / norms[:, None]
        return out

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        """A probability in [0, 1] for each of the model's categories, for each text, in order."""
        if not texts:
            return []
        probabilities = 1.0 / (1.0 + np.exp(-self.logits(texts)))
        return [
            dict(zip(self.categories, map(float, row), strict=True))
            for row in probabilities.tolist()
        ]

    def save(self, target: BinaryIO) -> None:
        ordered = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        metadata = {
            **self.metadata,
            "name": self.name,
            "version": self.version,
            "format_version": FORMAT_VERSION,
            "features_version": FEATURES_VERSION,
            "categories": [c.value for c in self.categories],
            "thresholds": {c.value: t for c, t in self.thresholds.items()},
        }
        np.savez_compressed(
            target,
            vocabulary=np.frombuffer("\n".join(ordered).encode(), dtype=np.uint8),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            metadata=np.frombuffer(json.dumps(metadata, sort_keys=True).encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, source: BinaryIO | bytes) -> LinearNgramModel:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        try:
            with np.load(source, allow_pickle=False) as arrays:
                metadata = json.loads(arrays["metadata"].tobytes().decode())
                words = arrays["vocabulary"].tobytes().decode().split("\n")
                idf = arrays["idf"].astype(np.float32)
                coef = arrays["coef"].astype(np.float32)
                intercept = arrays["intercept"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise WeightsError(f"cannot read weights: {exc}") from exc
        if metadata.get("format_version") != FORMAT_VERSION:
            raise WeightsError(f"unsupported weights format {metadata.get('format_version')!r}")
        if metadata.get("features_version") != FEATURES_VERSION:
            raise WeightsError("weights were trained with other features; retrain the model")
        try:
            categories = tuple(Category(c) for c in metadata["categories"])
            thresholds = {Category(c): float(t) for c, t in metadata["thresholds"].items()}
        except ValueError as exc:
            raise WeightsError(f"unknown category in weights: {exc}") from exc
        # A model scores the categories it was trained on; the rules and the other model cover
        # categories added to the policy since.
        if not categories or len(set(categories)) != len(categories):
            raise WeightsError("weights must score each of their categories once")
        return cls(
            name=str(metadata["name"]),
            version=str(metadata["version"]),
            categories=categories,
            vocabulary={word: i for i, word in enumerate(words)},
            idf=idf,
            coef=coef,
            intercept=intercept,
            thresholds=thresholds,
            metadata=metadata,
        )
