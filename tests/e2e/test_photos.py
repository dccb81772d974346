"""Photos over the wire: the Python client sends one, the recipient fetches it over HTTP."""

from __future__ import annotations

import asyncio
import io
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from PIL import Image

from causerie.client import ClientError
from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from causerie.settings import Settings
from tests.conftest import run_server
from tests.photos.images import encode, noise


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {}, b""


async def test_a_photo_is_sent_received_and_fetched_by_its_url(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(photos={"nudity_model": False})
    async with (
        run_server(settings) as server,
        server.client() as alice,
        server.client() as bob,
    ):
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bob", 41, "man", "69003")
        # Larger than a text frame may be: a real photo's size.
        data = encode(noise(11, (1200, 900)), "PNG")
        assert len(data) > 1 << 20
        ack = await alice.send_photo(data, to="Bob", caption="le coucher de soleil")
        photo = await bob.next_event(f.PhotoMessage)
        assert photo.id == ack.id and photo.caption == "le coucher de soleil"
        status, headers, body = await asyncio.to_thread(fetch, server.http + photo.url)
        assert status == 200
        assert headers["content-type"] == "image/jpeg"
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
        assert Image.open(io.BytesIO(body)).size == (photo.width, photo.height)
        status, _, _ = await asyncio.to_thread(fetch, server.http + "/photos/not-a-photo-id")
        assert status == 404
        with pytest.raises(ClientError) as refused:
            await alice.send_photo(b"GIF89a this is not really a gif", to="Bob")
        assert refused.value.code == ErrorCode.PHOTO_CORRUPT
        # A binary message nobody asked for is refused, and the connection stays up.
        await alice.send_raw(b"\x00\x01")
        error = await alice.next_event(f.Error)
        assert error.code == ErrorCode.BINARY_NOT_SUPPORTED
        await alice.ping()
