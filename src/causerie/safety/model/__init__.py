"""The machine-learned stage of the safety pipeline: a score per category for each text.

The default model ships inside the package (``weights.npz``) and runs offline on the CPU; it is
trained by ``scripts/train_safety_model.py`` and measured by ``scripts/evaluate_safety_model.py``
(see docs/safety-model.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from causerie.safety.categories import Category
from causerie.safety.model.linear import LinearNgramModel, WeightsError

if TYPE_CHECKING:
    from causerie.safety.model.semantic import SemanticModel

__all__ = ["WEIGHTS_FILE", "LinearNgramModel", "TextModel", "WeightsError", "load_default_model"]

WEIGHTS_FILE = "weights.npz"


@runtime_checkable
class TextModel(Protocol):
    """What the policy engine needs from a model: synchronous, CPU, one dict per text."""

    # Read-only properties, so that frozen dataclasses and plain attributes both satisfy it.
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        """A probability in [0, 1] for every ``Category``, for each text, in order."""
        ...


@cache
def load_default_model() -> LinearNgramModel:
    """The model shipped in this package; loaded once per process, never downloaded."""
    weights = resources.files(__name__).joinpath(WEIGHTS_FILE)
    with weights.open("rb") as stream:
        return LinearNgramModel.load(stream.read())


@cache
def load_semantic(exemplar_dir: Path | None = None) -> SemanticModel:
    """The semantic stage's model (sentence encoder, heads, exemplar banks), once per process
    and per exemplar directory; see :mod:`causerie.safety.model.semantic`. Nothing downloads."""
    # Imported here so that the n-gram model alone never pays for the encoder's import.
    from causerie.safety.model.semantic import load_semantic_model

    return load_semantic_model(exemplar_dir)
