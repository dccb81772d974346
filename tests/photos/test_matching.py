"""A generated image in a hash list is matched, and so are its altered copies; others are not."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from causerie.photos.hashbank import (
    PDQ_MATCH_DISTANCE,
    BankEntry,
    HashBank,
    HashKind,
    PdqIndex,
)
from causerie.photos.hashing import hash_photo, pdq_distance, pdq_hash
from causerie.photos.sanitise import sanitise
from tests.photos.images import encode, scene


def hashes_of(data: bytes):  # type: ignore[no-untyped-def]
    return hash_photo(data, sanitise(data).image)


@pytest.fixture
def listed() -> tuple[bytes, HashBank]:
    """A generated image, uploaded once, its PDQ hash imported into a test list."""
    original = encode(scene(100), "PNG")
    pdq, quality = pdq_hash(sanitise(original).image)
    assert quality >= 50
    return original, HashBank([BankEntry("test-list", HashKind.PDQ, pdq, "test")])


def altered_copies(image: Image.Image) -> dict[str, bytes]:
    w, h = image.size
    return {
        "jpeg q=50": encode(image, "JPEG", quality=50),
        "webp": encode(image, "WEBP", quality=70),
        "half size": encode(image.resize((w // 2, h // 2)), "JPEG"),
        "double size": encode(image.resize((w * 2, h * 2)), "PNG"),
        "1% off each side": encode(
            image.crop((w // 100, h // 100, w - w // 100, h - h // 100)), "JPEG"
        ),
        "2% off the right": encode(image.crop((0, 0, w - w // 50, h)), "JPEG"),
        "brighter": encode(Image.eval(image, lambda v: min(255, v + 12)), "JPEG"),
    }


def test_the_listed_image_and_its_altered_copies_match(listed: tuple[bytes, HashBank]) -> None:
    original, bank = listed
    exact = bank.match_hashes(hashes_of(original))
    assert exact is not None and exact.distance == 0 and exact.list_name == "test-list"
    for name, data in altered_copies(scene(100)).items():
        match = bank.match_hashes(hashes_of(data))
        assert match is not None, name
        assert match.kind is HashKind.PDQ and 0 <= match.distance <= PDQ_MATCH_DISTANCE, name


def test_different_generated_images_do_not_match(listed: tuple[bytes, HashBank]) -> None:
    _, bank = listed
    for seed in range(101, 121):
        hashes = hashes_of(encode(scene(seed), "JPEG"))
        assert bank.match_hashes(hashes) is None, seed


def test_low_quality_hashes_are_not_matched_on_pdq() -> None:
    flat = encode(Image.new("RGB", (300, 200), (120, 120, 120)), "PNG")
    hashes = hashes_of(flat)
    assert hashes.quality < 50
    bank = HashBank([BankEntry("l", HashKind.PDQ, hashes.pdq)])
    assert bank.match_hashes(hashes) is None
    assert bank.match(hashes.pdq, 50) is not None  # the same hash, with a usable quality


def test_exact_hashes_of_the_original_bytes() -> None:
    data = encode(scene(130), "JPEG")
    md5, sha256 = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
    hashes = hashes_of(data)
    assert (hashes.md5, hashes.sha256) == (md5, sha256)
    by_md5 = HashBank([BankEntry("m", HashKind.MD5, md5)]).match_hashes(hashes)
    by_sha = HashBank([BankEntry("s", HashKind.SHA256, sha256)]).match_hashes(hashes)
    assert by_md5 is not None and by_md5.kind is HashKind.MD5 and by_md5.distance == 0
    assert by_sha is not None and by_sha.kind is HashKind.SHA256
    # One byte more and the cryptographic hashes no longer match (PDQ would).
    assert (
        HashBank([BankEntry("m", HashKind.MD5, md5)]).match_hashes(
            hashes_of(encode(scene(130), "JPEG", quality=80))
        )
        is None
    )


def test_pdq_hex_is_in_the_reference_bit_order() -> None:
    # pdqhash gives bit 255 first; the reference's hex starts with word 15's high bits.
    image = scene(140, (512, 384))  # hashed as it is: no reduction before PDQ
    import pdqhash  # type: ignore[import-untyped]

    bits, _ = pdqhash.compute(np.asarray(image.convert("RGB")))
    hex_value, _ = pdq_hash(image)
    first_nibble = int(hex_value[0], 16)
    assert [int(b) for b in bits[:4]] == [(first_nibble >> s) & 1 for s in (3, 2, 1, 0)]


def test_pdq_distance() -> None:
    a = "f" * 64
    assert pdq_distance(a, a) == 0
    assert pdq_distance(a, "0" * 64) == 256
    assert pdq_distance(a, "e" + "f" * 63) == 1
    with pytest.raises(ValueError):
        pdq_distance(a, "ff")


def test_multi_index_finds_what_a_full_scan_finds() -> None:
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 256, (30_000, 32), dtype=np.uint8)
    index, scan = PdqIndex(hashes, scan_below=1), PdqIndex(hashes, scan_below=10**9)
    for row in range(0, 30_000, 1_500):
        bits = np.unpackbits(hashes[row])
        for distance in (0, 1, 15, 31):
            flipped = bits.copy()
            flipped[rng.choice(256, distance, replace=False)] ^= 1
            query = np.packbits(flipped).tobytes()
            assert index.nearest(query, 31) == scan.nearest(query, 31) == (row, distance)
    # Random queries are ~128 bits from everything: neither finds anything.
    for _ in range(50):
        query = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
        assert index.nearest(query, 31) is None and scan.nearest(query, 31) is None


def test_bank_add_remove_and_replace() -> None:
    pdq, _ = pdq_hash(scene(150))
    bank = HashBank()
    assert bank.match(pdq, 100) is None
    bank.add([BankEntry("a", HashKind.PDQ, pdq), BankEntry("b", HashKind.PDQ, pdq)])
    assert len(bank) == 2
    first = bank.match(pdq, 100)
    assert first is not None and first.list_name == "a"
    assert bank.remove("a", HashKind.PDQ, pdq) and not bank.remove("a", HashKind.PDQ, pdq)
    second = bank.match(pdq, 100)
    assert second is not None and second.list_name == "b"
    bank.replace([])
    assert bank.match(pdq, 100) is None and len(bank) == 0
    with pytest.raises(ValueError):
        bank.add([BankEntry("a", HashKind.MD5, "XYZ")])


def test_from_pdq_array() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    bank = HashBank.from_pdq_array(hashes, "bench")
    match = bank.match(hashes[42].tobytes().hex(), 100)
    assert match is not None and match.distance == 0
    assert bank.nbytes > hashes.nbytes


def test_hashing_a_png_roundtrip_is_stable() -> None:
    image = scene(160)
    again = Image.open(io.BytesIO(encode(image, "PNG")))
    assert pdq_hash(image) == pdq_hash(again)
