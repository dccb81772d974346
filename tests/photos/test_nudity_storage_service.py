"""The nudity model on benign generated images, disk storage, and the whole pipeline."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from causerie.photos.errors import PhotoError, PhotoErrorCode
from causerie.photos.hashbank import BankEntry, HashBank, HashKind
from causerie.photos.hashing import pdq_hash
from causerie.photos.nudity import NudityClassifier, bundled_model_path, shared_classifier
from causerie.photos.sanitise import sanitise
from causerie.photos.service import PhotoPipeline
from causerie.photos.storage import DiskStorage
from tests.photos.images import encode, noise, scene


@pytest.fixture(scope="module")
def classifier() -> NudityClassifier:
    return shared_classifier()


def test_the_model_ships_in_the_package() -> None:
    path = bundled_model_path()
    assert path.is_file() and path.stat().st_size > 20_000_000


def test_scores_are_probabilities_and_deterministic(classifier: NudityClassifier) -> None:
    for image in [scene(1), noise(2, (300, 200)), Image.new("L", (50, 50), 200)]:
        score = classifier.score(image)
        assert 0.0 <= score <= 1.0
        assert classifier.score(image) == score


def test_benign_generated_images_score_low(classifier: NudityClassifier) -> None:
    scores = [classifier.score(scene(seed)) for seed in range(5)]
    assert max(scores) < 0.5, scores


def test_disk_storage(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path / "photos")
    key = storage.put(b"bytes")
    other = storage.put(b"bytes")
    assert key != other and len(key) >= 32
    assert storage.get(key) == b"bytes"
    path = next(p for p in (tmp_path / "photos").rglob(key))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "photos").stat().st_mode) == 0o700
    assert not [p for p in (tmp_path / "photos").rglob("*.tmp")]
    assert storage.delete(key) and not storage.delete(key)
    assert storage.get(key) is None
    for hostile in ["../../etc/passwd", "a/b", "", "x" * 200]:
        with pytest.raises(ValueError):
            storage.get(hostile)
    assert os.listdir(tmp_path / "photos")


def test_pipeline_benign_photo(classifier: NudityClassifier) -> None:
    pipeline = PhotoPipeline(HashBank(), classifier)
    processed = pipeline.process(encode(scene(20), "JPEG"))
    assert processed.match is None and not processed.blocked
    assert processed.nsfw_score is not None and 0 <= processed.nsfw_score < 0.5
    assert set(processed.timings) == {"sanitise", "hash", "match", "nudity", "total"}
    assert Image.open(io.BytesIO(processed.image.data)).format == "JPEG"
    assert processed.hashes.quality >= 50


def test_pipeline_match_is_blocked_and_not_classified() -> None:
    data = encode(scene(21), "PNG")
    pdq, _ = pdq_hash(sanitise(data).image)
    pipeline = PhotoPipeline(HashBank([BankEntry("l", HashKind.PDQ, pdq)]), None)
    processed = pipeline.process(encode(scene(21), "JPEG", quality=60))
    assert processed.blocked and processed.match is not None
    assert processed.match.distance <= 31 and processed.nsfw_score is None
    assert pipeline.check_removed(data) is not None
    assert pipeline.check_removed(b"garbage") is None


def test_pipeline_refusals_keep_their_code() -> None:
    pipeline = PhotoPipeline(HashBank(), None)
    with pytest.raises(PhotoError) as caught:
        pipeline.process(b"<svg onload=alert(1)>")
    assert caught.value.code is PhotoErrorCode.FORMAT_UNSUPPORTED
