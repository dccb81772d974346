"""One photo through every check: sanitise, hash, match, score, and the bytes to store.

``PhotoPipeline.process(data)`` is pure CPU work with no chat, HTTP or database dependency; the
delivery path calls it (in a worker thread: it blocks for tens of milliseconds) and then applies
the rules that need the chat's context: the minors fence, blurring between adults, blocking and
sealing evidence on a hash match, review jobs.

It refuses (``PhotoError``) only what cannot be decoded safely. A hash match or a high nudity
score is not a refusal here: it is in ``Processed`` for the caller, who must keep the original
bytes as evidence on a match, and must never deliver ``Processed.image`` when ``match`` is set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from causerie.photos.hashbank import HashBank, Match
from causerie.photos.hashing import PhotoHashes, hash_photo
from causerie.photos.nudity import NudityScorer
from causerie.photos.sanitise import CleanImage, Limits, sanitise


@dataclass(frozen=True, slots=True)
class Processed:
    """What the pipeline made of one upload."""

    image: CleanImage
    hashes: PhotoHashes
    # A hit in an imported hash list: block before delivery, seal the original, report.
    match: Match | None
    # Probability that the image is explicit (None when no classifier is configured).
    nsfw_score: float | None
    # Milliseconds per step: sanitise, hash, match, nudity.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.match is not None


class PhotoPipeline:
    """Sanitise -> hash -> bank match -> nudity score, each step timed."""

    def __init__(
        self,
        bank: HashBank,
        classifier: NudityScorer | None,
        limits: Limits | None = None,
    ) -> None:
        # ``classifier=None`` must be a deliberate choice of the caller (tests, a bench of the
        # other steps); production wiring passes one.
        self._bank = bank
        self._classifier = classifier
        self._limits = limits or Limits()

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def bank(self) -> HashBank:
        return self._bank

    def process(self, data: bytes) -> Processed:
        """Run every step on ``data``; raises ``PhotoError`` for a file that is refused."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        clean = sanitise(data, self._limits)
        step = _lap(timings, "sanitise", started)
        hashes = hash_photo(data, clean.image)
        step = _lap(timings, "hash", step)
        match = self._bank.match_hashes(hashes)
        step = _lap(timings, "match", step)
        score: float | None = None
        # A known image is blocked whatever it shows: no need to classify it.
        if self._classifier is not None and match is None:
            score = self._classifier.score(clean.image)
        _lap(timings, "nudity", step)
        timings["total"] = (time.perf_counter() - started) * 1000
        return Processed(clean, hashes, match, score, timings)

    def check_removed(self, data: bytes) -> Match | None:
        """The bank's verdict on bytes a moderator removed (so re-uploads are caught after the
        operator adds them to a list); ``None`` if they match nothing or cannot be decoded."""
        from causerie.photos.errors import PhotoError

        try:
            clean = sanitise(data, self._limits)
        except PhotoError:
            return None
        return self._bank.match_hashes(hash_photo(data, clean.image))


def _lap(timings: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    timings[name] = (now - since) * 1000
    return now
