"""Every bad file refused with its code; what is kept is a fresh image without metadata."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from causerie.photos.errors import PhotoError, PhotoErrorCode
from causerie.photos.sanitise import Limits, OutputFormat, SourceFormat, detect_format, sanitise
from tests.photos.images import encode, scene


def refused(data: bytes, limits: Limits | None = None) -> PhotoErrorCode:
    with pytest.raises(PhotoError) as caught:
        sanitise(data, limits)
    return caught.value.code


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_accepted_format_is_re_encoded(fmt: str) -> None:
    clean = sanitise(encode(scene(1), fmt))
    assert clean.source_format is SourceFormat(fmt)
    assert (clean.width, clean.height) == (640, 480)
    assert clean.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(clean.data)).format == "JPEG"
    thumb = Image.open(io.BytesIO(clean.thumbnail))
    assert max(thumb.size) == 320 and thumb.size == (clean.thumbnail_width, clean.thumbnail_height)


def test_webp_output_and_downscaling() -> None:
    limits = Limits(output_format=OutputFormat.WEBP, output_side=400, thumbnail_side=100)
    clean = sanitise(encode(scene(2, (1000, 500)), "PNG"), limits)
    assert clean.content_type == "image/webp"
    assert (clean.width, clean.height) == (400, 200)
    assert (clean.source_width, clean.source_height) == (1000, 500)
    assert Image.open(io.BytesIO(clean.data)).format == "WEBP"


def test_oversize_is_refused_before_anything_else() -> None:
    data = encode(scene(3), "PNG")
    assert refused(data, Limits(max_bytes=len(data) - 1)) is PhotoErrorCode.TOO_LARGE
    assert refused(b"") is PhotoErrorCode.EMPTY


def test_format_comes_from_the_bytes_not_the_name() -> None:
    # A BMP, a TIFF or a text file named photo.jpg: the name never reaches sanitise, and the
    # bytes say what they are.
    for fmt in ["BMP", "TIFF", "PPM"]:
        assert refused(encode(scene(4, (64, 64)), fmt)) is PhotoErrorCode.FORMAT_UNSUPPORTED
    assert refused(b"just some text, named photo.jpg") is PhotoErrorCode.FORMAT_UNSUPPORTED
    assert detect_format(encode(scene(4, (64, 64)), "PNG")) is SourceFormat.PNG


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_are_corrupt(fmt: str) -> None:
    data = encode(scene(5), fmt)
    for cut in (len(data) // 2, len(data) - 40):
        assert refused(data[:cut]) is PhotoErrorCode.CORRUPT


def test_damaged_pixel_data_is_corrupt() -> None:
    data = bytearray(encode(scene(6), "PNG"))
    # Flip bytes inside the first IDAT chunk: the CRC and the zlib stream no longer agree.
    start = data.index(b"IDAT") + 8
    for offset in range(start, start + 64):
        data[offset] ^= 0x5A
    assert refused(bytes(data)) is PhotoErrorCode.CORRUPT


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_trailing_content_is_a_polyglot(fmt: str) -> None:
    data = encode(scene(7, (64, 64)), fmt)
    assert refused(data + b"<script>alert(1)</script>") is PhotoErrorCode.POLYGLOT
    assert refused(data + b"PK\x03\x04" + b"\x00" * 200) is PhotoErrorCode.POLYGLOT


def test_html_prefix_is_a_polyglot() -> None:
    data = encode(scene(7, (64, 64)), "PNG")
    assert refused(b"<html><script>alert(1)</script>" + data) is PhotoErrorCode.POLYGLOT


def test_a_small_png_declaring_a_huge_size_is_a_bomb() -> None:
    data = png_declaring(50_000, 50_000)
    assert len(data) < 200
    assert refused(data) is PhotoErrorCode.BOMB
    # Between our limit and Pillow's: still ours that refuses, before any decoding.
    assert refused(png_declaring(8_000, 8_000)) is PhotoErrorCode.BOMB


def test_huge_or_thin_dimensions_are_refused() -> None:
    assert refused(png_declaring(20_000, 100)) is PhotoErrorCode.DIMENSIONS
    thin = encode(Image.new("RGB", (2_000, 20), (10, 20, 30)), "PNG")
    assert refused(thin) is PhotoErrorCode.DIMENSIONS
    assert refused(encode(scene(8, (500, 400)), "PNG"), Limits(max_side=400)) is (
        PhotoErrorCode.DIMENSIONS
    )


def test_animated_gif_keeps_only_its_first_frame() -> None:
    frames = [Image.new("RGB", (80, 60), colour) for colour in [(200, 0, 0), (0, 0, 200)] * 3]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    clean = sanitise(data)
    assert clean.frames == 6
    served = Image.open(io.BytesIO(clean.data))
    assert getattr(served, "n_frames", 1) == 1
    red, _green, blue = served.convert("RGB").getpixel((40, 30))  # type: ignore[misc]
    assert red > 150 and blue < 60


def test_animated_webp_and_png_keep_their_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), (i * 60, 10, 10)) for i in range(4)]
    for fmt in ["WEBP", "PNG"]:
        clean = sanitise(encode(frames[0], fmt, save_all=True, append_images=frames[1:]))
        assert clean.frames == 4


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Generated camera"  # Make
    exif[0x0131] = "causerie tests"  # Software
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    return encode(scene(9), "JPEG", exif=exif.tobytes(), icc_profile=b"", comment=b"secret")


def test_exif_and_gps_are_gone_after_re_encoding() -> None:
    original = gps_jpeg()
    opened = Image.open(io.BytesIO(original))
    assert opened.getexif().get_ifd(0x8825)[2] == (48.0, 51.0, 24.0)
    clean = sanitise(original)
    for data in (clean.data, clean.thumbnail):
        served = Image.open(io.BytesIO(data))
        assert dict(served.getexif()) == {}
        assert not served.getexif().get_ifd(0x8825)
        assert "exif" not in served.info and "icc_profile" not in served.info
        assert "comment" not in served.info
        assert b"Exif" not in data and b"causerie tests" not in data and b"secret" not in data


def test_exif_orientation_is_applied_before_stripping() -> None:
    # A landscape image stored with "rotate 90 clockwise" (orientation 6) is a portrait photo.
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(scene(10, (400, 200)), "JPEG", exif=exif.tobytes())
    clean = sanitise(data)
    assert (clean.width, clean.height) == (200, 400)
    assert (clean.source_width, clean.source_height) == (200, 400)
    assert 0x0112 not in Image.open(io.BytesIO(clean.data)).getexif()


def test_transparency_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    clean = sanitise(encode(image, "PNG"))
    pixel = Image.open(io.BytesIO(clean.data)).convert("RGB").getpixel((20, 20))
    assert pixel == pytest.approx((255, 255, 255), abs=3)


def test_other_pixel_modes_decode() -> None:
    for image in [
        Image.new("L", (50, 40), 128),
        Image.new("I;16", (50, 40), 40_000),
        Image.new("P", (50, 40), 3),
        Image.new("CMYK", (50, 40), (10, 20, 30, 0)),
    ]:
        fmt = "JPEG" if image.mode == "CMYK" else "PNG"
        clean = sanitise(encode(image, fmt))
        assert (clean.width, clean.height) == (50, 40)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Limits(max_pixels=10**9)
    with pytest.raises(ValueError):
        Limits(thumbnail_side=0)
