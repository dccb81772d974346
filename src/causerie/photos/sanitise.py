"""Every uploaded file is hostile: check it, decode it, and re-encode a fresh image.

``sanitise(data, limits)`` either returns a ``CleanImage`` (a new JPEG or WebP, a thumbnail, and
the decoded pixels for hashing and classification) or raises ``PhotoError`` with a stable code.
It never raises anything else, whatever the bytes (tests/photos/test_sanitise_fuzz.py).

The order of the checks is the point: nothing is decoded before the cheap checks have passed.

1. size in bytes (``photo_too_large``);
2. the format from the magic bytes, never the name (``photo_format_unsupported``), and an image
   signature found further in (``photo_polyglot``: an HTML or script prefix);
3. the container walked without decoding: PNG chunks to ``IEND``, GIF blocks to the trailer,
   the RIFF length of WebP, the last JPEG ``EOI``; bytes after the end are ``photo_polyglot``,
   a container that ends early is ``photo_corrupt``;
4. the declared dimensions read from the header, before any pixel is decoded: more pixels than
   ``max_pixels`` is ``photo_bomb``, a side over ``max_side`` or a thin strip is
   ``photo_dimensions``;
5. only then the decode (truncated or damaged data is ``photo_corrupt``), EXIF orientation
   applied, colours converted to sRGB, transparency flattened on white;
6. a fresh image from the raw pixels, so no EXIF, GPS, ICC, XMP or comment can survive, saved
   as JPEG or WebP with a thumbnail.

Animated GIF, PNG and WebP: the first frame is kept and the others are dropped. What is stored
and served is then exactly what was hashed and classified; a later frame can never reach anyone.
``CleanImage.frames`` says how many frames the upload had.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps

from causerie.photos.errors import PhotoError, PhotoErrorCode

# Pillow's own guard, process-wide: an image over this many pixels is refused by Image.open
# (over twice as many, an error; between, a warning that we make an error too, below).
# ``Limits.max_pixels`` is lower and checked first, so this is the net under the net.
PILLOW_MAX_PIXELS: Final = 64_000_000
Image.MAX_IMAGE_PIXELS = PILLOW_MAX_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
# Never decode what is not there: a truncated file is refused, not padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class SourceFormat(StrEnum):
    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"
    GIF = "GIF"


class OutputFormat(StrEnum):
    JPEG = "JPEG"
    WEBP = "WEBP"


CONTENT_TYPES: Final = {OutputFormat.JPEG: "image/jpeg", OutputFormat.WEBP: "image/webp"}


@dataclass(frozen=True, slots=True)
class Limits:
    """What an upload may be, and what is made of it."""

    max_bytes: int = 10 * 1024 * 1024
    # Declared width x height. 40 MP covers phone cameras; decoding it takes ~120 MB of RGB.
    max_pixels: int = 40_000_000
    max_side: int = 12_000
    # Longest side over shortest side: a 1 x 10,000 strip is a probe, not a photo.
    max_aspect: float = 20.0
    # The served image and its thumbnail fit in these squares (aspect ratio kept).
    output_side: int = 2048
    thumbnail_side: int = 320
    output_format: OutputFormat = OutputFormat.JPEG
    quality: int = 85
    thumbnail_quality: int = 75
    # Bytes tolerated after the end of the image (some encoders pad with zeros).
    trailing_slack: int = 16

    def __post_init__(self) -> None:
        if self.max_pixels > PILLOW_MAX_PIXELS:
            raise ValueError(f"max_pixels may not exceed {PILLOW_MAX_PIXELS}")
        if min(self.max_bytes, self.max_pixels, self.max_side, self.output_side) <= 0:
            raise ValueError("limits must be positive")
        if not 0 < self.thumbnail_side <= self.output_side:
            raise ValueError("thumbnail_side must be positive and at most output_side")
        if self.max_aspect < 1:
            raise ValueError("max_aspect must be at least 1")


@dataclass(frozen=True, slots=True)
class CleanImage:
    """A re-encoded photo: new bytes only, nothing of the upload's metadata."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int
    source_format: SourceFormat
    # The upload's own dimensions (after orientation), and its frame count (1 unless animated).
    source_width: int
    source_height: int
    frames: int
    # The decoded, oriented sRGB pixels at output size, for hashing and classification.
    image: Image.Image


def sanitise(data: bytes, limits: Limits | None = None) -> CleanImage:
    """Check, decode and re-encode ``data``, or raise ``PhotoError``; never anything else."""
    limits = limits or Limits()
    if not data:
        raise PhotoError(PhotoErrorCode.EMPTY)
    if len(data) > limits.max_bytes:
        raise PhotoError(PhotoErrorCode.TOO_LARGE, f"{len(data)} bytes > {limits.max_bytes}")
    fmt = detect_format(data)
    try:
        frames = _check_container(fmt, data, limits.trailing_slack)
        return _decode_and_encode(fmt, data, frames, limits)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(PhotoErrorCode.BOMB, str(exc)) from None
    except Exception as exc:
        # Whatever a decoder throws at hostile bytes (OSError, SyntaxError, ValueError,
        # struct.error, EOFError, MemoryError, ...) is a damaged file as far as the sender
        # is concerned. The type is kept in the detail for the logs.
        raise PhotoError(PhotoErrorCode.CORRUPT, f"{type(exc).__name__}: {exc}") from None


_SIGNATURES: Final = (
    (b"\xff\xd8\xff", SourceFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", SourceFormat.PNG),
    (b"GIF87a", SourceFormat.GIF),
    (b"GIF89a", SourceFormat.GIF),
)


def detect_format(data: bytes) -> SourceFormat:
    """The format from the magic bytes at offset 0; a signature further in is a polyglot."""
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return SourceFormat.WEBP
    # An image after something else (an HTML page, a script, a ZIP header) is built to be
    # read as two things at once. The 8-byte PNG and 6-byte GIF signatures do not occur by
    # chance; three JPEG bytes might, which only changes which refusal the sender gets.
    head = data[: 64 * 1024]
    if any(magic in head for magic, _ in _SIGNATURES) or (b"WEBPVP8" in head):
        raise PhotoError(PhotoErrorCode.POLYGLOT, "image signature after other content")
    raise PhotoError(PhotoErrorCode.FORMAT_UNSUPPORTED, repr(data[:8]))


def _check_container(fmt: SourceFormat, data: bytes, slack: int) -> int:
    """Walk the container to its end without decoding; return the number of frames."""
    if fmt is SourceFormat.PNG:
        end, frames = _png_end(data)
    elif fmt is SourceFormat.GIF:
        end, frames = _gif_end(data)
    elif fmt is SourceFormat.WEBP:
        end, frames = _webp_end(data)
    else:
        end, frames = _jpeg_end(data), 1
    _check_trailing(data, end, slack)
    return frames


def _check_trailing(data: bytes, end: int, slack: int) -> None:
    rest = data[end:]
    if len(rest) > slack or rest.strip(b"\x00\xff\r\n"):
        raise PhotoError(PhotoErrorCode.POLYGLOT, f"{len(rest)} bytes after the image's end")


def _corrupt(why: str) -> PhotoError:
    return PhotoError(PhotoErrorCode.CORRUPT, why)


def _png_end(data: bytes) -> tuple[int, int]:
    pos, frames, seen_ihdr = 8, 1, False
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 12 > len(data):
            raise _corrupt("PNG ends before IEND")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 12 + length > len(data):
            raise _corrupt("PNG chunk runs past the end")
        if not seen_ihdr and kind != b"IHDR":
            raise _corrupt("PNG does not start with IHDR")
        seen_ihdr = True
        if kind == b"acTL" and length >= 4:
            frames = max(1, struct.unpack(">I", data[pos + 8 : pos + 12])[0])
        pos += 12 + length
        if kind == b"IEND":
            return pos, frames
    raise _corrupt("PNG with too many chunks")


# Real PNGs have a few hundred chunks (IDAT of 8 to 64 KiB); a file of 10 MiB of empty chunks
# would otherwise cost a second of Python to walk.
_MAX_PNG_CHUNKS: Final = 100_000


def _gif_end(data: bytes) -> tuple[int, int]:
    if len(data) < 13:
        raise _corrupt("GIF header")
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    frames = 0
    while True:
        if pos >= len(data):
            raise _corrupt("GIF ends before its trailer")
        block = data[pos]
        if block == 0x3B:  # trailer
            if frames == 0:
                raise _corrupt("GIF without an image")
            return pos + 1, frames
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _gif_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW data
            if pos + 10 > len(data):
                raise _corrupt("GIF image descriptor")
            local = data[pos + 9]
            pos += 10
            if local & 0x80:
                pos += 3 << ((local & 7) + 1)
            pos = _gif_sub_blocks(data, pos + 1)  # skip the LZW minimum code size
            frames += 1
        else:
            raise _corrupt(f"GIF block 0x{block:02x}")


def _gif_sub_blocks(data: bytes, pos: int) -> int:
    while True:
        if pos >= len(data):
            raise _corrupt("GIF sub-block runs past the end")
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _webp_end(data: bytes) -> tuple[int, int]:
    if len(data) < 16:
        raise _corrupt("WebP header")
    (size,) = struct.unpack("<I", data[4:8])
    end = 8 + size
    if end > len(data):
        raise _corrupt("WebP shorter than its RIFF length")
    animation_frames, pos = 0, 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        animation_frames += kind == b"ANMF"
        pos += 8 + length + (length & 1)
    return end, max(1, animation_frames)


# In entropy-coded data every 0xFF is followed by 0x00 (stuffing) or a restart marker; any
# other byte after 0xFF is the next marker.
_JPEG_MARKER: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_MAX_JPEG_SEGMENTS: Final = 100_000


def _jpeg_end(data: bytes) -> int:
    """The offset after the JPEG's end marker, found by walking its segments.

    Segments are skipped by their length, so the end marker of an EXIF thumbnail inside APP1
    is not taken for the end of the file.
    """
    pos = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        if pos + 2 > len(data):
            raise _corrupt("JPEG ends before its end marker")
        if data[pos] != 0xFF:
            raise _corrupt(f"JPEG marker expected at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            pos += 2
            continue
        if pos + 4 > len(data):
            raise _corrupt("JPEG segment header cut")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _corrupt("JPEG segment runs past the end")
        pos += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                raise _corrupt("JPEG ends inside its scan data")
            pos = found.start()
    raise _corrupt("JPEG with too many segments")


def _decode_and_encode(fmt: SourceFormat, data: bytes, frames: int, limits: Limits) -> CleanImage:
    with Image.open(io.BytesIO(data), formats=[fmt.value]) as opened:
        if opened.format != fmt.value:
            raise PhotoError(PhotoErrorCode.FORMAT_UNSUPPORTED, f"decoded as {opened.format}")
        width, height = opened.size
        _check_dimensions(width, height, limits)
        if fmt is SourceFormat.JPEG:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free: a 40 MP upload is never
            # expanded beyond what the output needs.
            opened.draft("RGB", (limits.output_side, limits.output_side))
        opened.seek(0)
        opened.load()
        icc = opened.info.get("icc_profile")
        image = ImageOps.exif_transpose(opened) if fmt is not SourceFormat.GIF else opened
        # Orientations 5 to 8 swap the sides (the decoded size may be a draft's, smaller).
        swapped = image.size != opened.size
        source_width, source_height = (height, width) if swapped else (width, height)
        rgb = _to_srgb(image, icc if isinstance(icc, bytes) else None)
    rgb.thumbnail((limits.output_side, limits.output_side), Image.Resampling.LANCZOS)
    # A fresh image from raw pixels carries no info dict: no EXIF, GPS, ICC, XMP or comment.
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    thumb = clean.copy()
    thumb.thumbnail((limits.thumbnail_side, limits.thumbnail_side), Image.Resampling.LANCZOS)
    return CleanImage(
        data=_encode(clean, limits.output_format, limits.quality),
        content_type=CONTENT_TYPES[limits.output_format],
        width=clean.width,
        height=clean.height,
        thumbnail=_encode(thumb, limits.output_format, limits.thumbnail_quality),
        thumbnail_width=thumb.width,
        thumbnail_height=thumb.height,
        source_format=fmt,
        source_width=source_width,
        source_height=source_height,
        frames=frames,
        image=clean,
    )


def _check_dimensions(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise PhotoError(PhotoErrorCode.BOMB, f"{width}x{height} > {limits.max_pixels} pixels")
    if width < 1 or height < 1 or max(width, height) > limits.max_side:
        raise PhotoError(PhotoErrorCode.DIMENSIONS, f"{width}x{height}")
    if max(width, height) / min(width, height) > limits.max_aspect:
        raise PhotoError(PhotoErrorCode.DIMENSIONS, f"{width}x{height} aspect")


_SRGB: Final = ImageCms.createProfile("sRGB")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB, transparency flattened on white (JPEG has no alpha)."""
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: keep the pixels as they are, and drop the profile
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clip everything to white.
        levels = np.asarray(image).astype(np.int64)
        if levels.size and int(levels.max()) > 255:
            levels = levels >> 8
        image = Image.fromarray(np.clip(levels, 0, 255).astype(np.uint8))
    return image.convert("RGB")


def _encode(image: Image.Image, fmt: OutputFormat, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt is OutputFormat.JPEG:
        image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    else:
        image.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()
