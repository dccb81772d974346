"""``sanitise`` never raises anything but ``PhotoError``, whatever the bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causerie.photos.errors import PhotoError
from causerie.photos.sanitise import Limits, sanitise
from tests.photos.images import encode, scene

LIMITS = Limits(max_bytes=256 * 1024)
SEEDS = {fmt: encode(scene(11, (48, 40)), fmt) for fmt in ["JPEG", "PNG", "WEBP", "GIF"]}
MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8 "]


def survives(data: bytes) -> None:
    try:
        clean = sanitise(data, LIMITS)
    except PhotoError:
        return
    assert clean.data and clean.thumbnail


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    survives(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_random_bytes_behind_a_real_signature(magic: bytes, rest: bytes) -> None:
    survives(magic + rest)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
    st.integers(0, 10**6),
    st.binary(max_size=32),
)
def test_mutated_valid_images(
    fmt: str, flips: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    data = bytearray(SEEDS[fmt])
    for position, value in flips:
        data[position % len(data)] = value
    survives(bytes(data[: max(1, len(data) - cut % 64)]) + tail)
