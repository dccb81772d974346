"""The room catalogue (a TOML file the operator edits), regional rooms and who may enter where."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import msgspec

from causerie.domain import Audience
from causerie.protocol.geo import REGIONS
from causerie.store.rooms import RoomRow
from causerie.text import fold

ROOM_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


class CatalogueError(ValueError):
    pass


class _RoomEntry(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    audience: Audience = Audience.ALL
    topic: str = ""
    # English, for chatters whose client speaks English (empty: as in French).
    name_en: str = ""
    topic_en: str = ""


class _Catalogue(msgspec.Struct, forbid_unknown_fields=True):
    room: list[_RoomEntry]


def room_name_key(name: str) -> str:
    return " ".join(fold(name).split())


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:80]


def load_catalogue(path: Path | None) -> list[RoomRow]:
    """Themed rooms from ``path`` (or the shipped list), then one room per region."""
    if path is None:
        text = resources.files("causerie.data").joinpath("rooms.toml").read_text("utf-8")
        origin = "the built-in rooms.toml"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise CatalogueError(f"cannot read rooms file {path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise CatalogueError(f"{path}: the rooms file must be UTF-8 text: {exc}") from None
        origin = str(path)
    try:
        catalogue = msgspec.convert(tomllib.loads(text), _Catalogue)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise CatalogueError(f"{origin}: {exc}") from None
    rows: list[RoomRow] = []
    seen: set[str] = set()
    for position, entry in enumerate(catalogue.room):
        if not ROOM_ID.fullmatch(entry.id):
            raise CatalogueError(f"{origin}: room id {entry.id!r} must be a-z, 0-9 and '-'")
        if entry.id in seen or entry.id.startswith("region-"):
            raise CatalogueError(f"{origin}: room id {entry.id!r} is used twice or reserved")
        if not entry.name.strip():
            raise CatalogueError(f"{origin}: room {entry.id!r} has an empty name")
        # The widths of the rooms table: a longer value would fail later, inside the database.
        if len(entry.name) > 80:
            raise CatalogueError(f"{origin}: room {entry.id!r} has a name over 80 characters")
        if len(entry.topic) > 400:
            raise CatalogueError(f"{origin}: room {entry.id!r} has a topic over 400 characters")
        seen.add(entry.id)
        rows.append(
            RoomRow(
                id=entry.id,
                name=entry.name,
                name_key=room_name_key(entry.name),
                kind="themed",
                audience=entry.audience,
                region_code="",
                topic=entry.topic,
                host_key=None,
                position=position,
                name_en=entry.name_en,
                topic_en=entry.topic_en,
            )
        )
    for offset, region in enumerate(REGIONS):
        rows.append(
            RoomRow(
                id=f"region-{region.slug}",
                name=region.name,
                name_key=room_name_key(region.name),
                kind="regional",
                audience="all",
                region_code=region.code,
                topic="",
                host_key=None,
                position=1_000 + offset,
            )
        )
    keys = [row.name_key for row in rows]
    if len(set(keys)) != len(keys):
        raise CatalogueError(f"{origin}: two rooms have the same name")
    return rows
