"""Where photo bytes live: a ``PhotoStorage`` by key, files on disk by default.

Keys are random (``secrets.token_urlsafe``), never derived from the content or the sender,
so a key says nothing and cannot be guessed; the metadata that says whose photo it is stays
in the chat database (causerie.photos.store). For a cluster, an S3-compatible backend
implements the same three methods (docs/photos.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Final, Protocol

_KEY: Final = re.compile(r"^[A-Za-z0-9_-]{16,80}$")


class PhotoStorage(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data`` under a new random key and return the key."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` if there are none."""
        ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; ``False`` if it was not there."""
        ...


def new_key() -> str:
    return secrets.token_urlsafe(24)


def check_key(key: str) -> str:
    """A key as ``new_key`` makes them; anything else (``../``, a path) is refused."""
    if not _KEY.fullmatch(key):
        raise ValueError("malformed storage key")
    return key


class DiskStorage:
    """One file per key in ``directory`` (0700), each 0600, written atomically.

    A file appears whole or not at all: it is written to a temporary name in the same
    directory, flushed to disk, then renamed over its final name.
    """

    def __init__(self, directory: Path | str, *, fsync: bool = True) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fsync = fsync

    @property
    def directory(self) -> Path:
        return self._directory

    def _path(self, key: str) -> Path:
        # Two levels of fan-out keep directories small with millions of photos.
        check_key(key)
        return self._directory / key[:2] / key

    def put(self, data: bytes) -> str:
        key = new_key()
        path = self._path(key)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        temporary = path.parent / f".{key}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                if self._fsync:
                    os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        return key

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True
