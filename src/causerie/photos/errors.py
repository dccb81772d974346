"""Why a photo was refused: one typed error, one stable code per reason.

The codes keep their meaning once published, like ``causerie.errors.ErrorCode`` (which the
delivery path should extend with these values when it wires photos in).
"""

from __future__ import annotations

from enum import StrEnum


class PhotoErrorCode(StrEnum):
    # More bytes than ``Limits.max_bytes`` (or none at all).
    TOO_LARGE = "photo_too_large"
    EMPTY = "photo_empty"
    # Not JPEG, PNG, WebP or GIF by its magic bytes, whatever its name says.
    FORMAT_UNSUPPORTED = "photo_format_unsupported"
    # Truncated, damaged, or refused by the decoder.
    CORRUPT = "photo_corrupt"
    # Another file before the image or after its end (HTML, a script, an archive).
    POLYGLOT = "photo_polyglot"
    # A side longer than ``Limits.max_side``, or an extreme aspect ratio.
    DIMENSIONS = "photo_dimensions"
    # Declares more pixels than ``Limits.max_pixels``: decoding would exhaust memory.
    BOMB = "photo_bomb"


class PhotoError(Exception):
    """A refused photo. ``code`` is stable; ``detail`` is for logs, not for chatters."""

    def __init__(self, code: PhotoErrorCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail
