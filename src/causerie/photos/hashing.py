"""PDQ, MD5 and SHA-256 of a photo, and the PDQ distance.

PDQ (Meta's perceptual hash, through the ``pdqhash`` bindings of the reference C++ code) is
computed on the decoded pixels, so it survives re-encoding, resizing and small crops; MD5 and
SHA-256 are of the uploaded bytes, as hash lists give them. A PDQ hash is 256 bits, written as
64 hex digits in the reference implementation's order (``Hash256::format``: word 15 first), so
that hashes from ThreatExchange, HMA and hotlines compare with ours bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash  # type: ignore[import-untyped]  # no stubs; two functions used
from PIL import Image

PDQ_BITS: Final = 256
PDQ_HEX_LENGTH: Final = 64
# PDQ reduces every image to 64 x 64 luminance with a box filter; hashing a 512-pixel version
# gives the same hash within a few bits and takes 4 ms instead of 25 (1024 x 768) or 145
# (2048 x 1536) on one core (docs/photos.md).
HASH_SIDE: Final = 512


@dataclass(frozen=True, slots=True)
class PhotoHashes:
    pdq: str
    quality: int
    md5: str
    sha256: str


def hash_photo(original: bytes, image: Image.Image) -> PhotoHashes:
    """The hashes of one upload: PDQ and its quality from ``image``, MD5/SHA-256 of the bytes."""
    pdq, quality = pdq_hash(image)
    return PhotoHashes(
        pdq=pdq,
        quality=quality,
        md5=hashlib.md5(original, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(original).hexdigest(),
    )


def pdq_hash(image: Image.Image) -> tuple[str, int]:
    """PDQ hash (64 hex digits) and quality (0 to 100; under 50 is too flat to match on)."""
    pixels = _rgb_array(image)
    bits, quality = pdqhash.compute(pixels)
    return bits_to_hex(np.asarray(bits, dtype=np.uint8)), int(quality)


def _rgb_array(image: Image.Image) -> npt.NDArray[np.uint8]:
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > HASH_SIDE:
        # A box reduction by a whole factor: 2 ms for 1024 x 768, where a resampling takes 12.
        image = image.reduce(-(-max(image.size) // HASH_SIDE))
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def bits_to_hex(bits: npt.NDArray[np.uint8]) -> str:
    """``pdqhash`` gives bit 255 first, which is the reference's first hex digit's high bit."""
    return np.packbits(bits).tobytes().hex()


def pdq_to_bytes(value: str) -> bytes:
    """The 32 bytes of a PDQ hex string; ``ValueError`` if it is not 64 hex digits."""
    if len(value) != PDQ_HEX_LENGTH:
        raise ValueError(f"a PDQ hash has {PDQ_HEX_LENGTH} hex digits, not {len(value)}")
    return bytes.fromhex(value)


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes (0 to 256)."""
    return (
        int.from_bytes(pdq_to_bytes(a), "big") ^ int.from_bytes(pdq_to_bytes(b), "big")
    ).bit_count()
