"""The photo tables and their repository: imported hash lists and the metadata of photos.

Both tables live in the chat database, on the chat store's ``metadata`` (migration
``p0001``, Alembic branch ``photos``). The photo bytes themselves are in a ``PhotoStorage``
(causerie.photos.storage), named by the keys kept here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.photos.hashbank import BankEntry, HashKind
from causerie.store.schema import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")
# The migration spells the same list out: a migration must not change when the code does.
HASH_KINDS = tuple(kind.value for kind in HashKind)

photo_hashes = Table(
    "photo_hashes",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("list_name", String(80), nullable=False),
    Column("kind", String(8), nullable=False),
    # Lower-case hex: 64 digits for PDQ and SHA-256, 32 for MD5.
    Column("value", String(64), nullable=False),
    # Where the hash came from: the imported file and line, a moderator's removal, ...
    Column("source", String(400), nullable=False, server_default=""),
    Column("added_at", Double, nullable=False),
    UniqueConstraint("list_name", "kind", "value", name="uq_photo_hashes_list_kind_value"),
    CheckConstraint("kind IN ('pdq', 'md5', 'sha256')", name="ck_photo_hashes_kind"),
)

photos = Table(
    "photos",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner_session", String(40), nullable=False, index=True),
    # A photo goes to a room or to one recipient, never both.
    Column("room_id", String(80), nullable=True),
    Column("recipient_key", String(80), nullable=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("content_type", String(32), nullable=False),
    Column("storage_key", String(80), nullable=False),
    Column("thumbnail_key", String(80), nullable=False),
    Column("pdq", String(64), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("nsfw_score", Double, nullable=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("blocked", Boolean, nullable=False, server_default=false()),
    CheckConstraint(
        "(room_id IS NULL) <> (recipient_key IS NULL)", name="ck_photos_room_or_recipient"
    ),
    CheckConstraint("content_type IN ('image/jpeg', 'image/webp')", name="ck_photos_content_type"),
)


@dataclass(frozen=True, slots=True)
class StoredHash:
    list_name: str
    kind: HashKind
    value: str
    source: str
    added_at: float

    def entry(self) -> BankEntry:
        return BankEntry(self.list_name, self.kind, self.value, self.source)


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    id: str
    owner_session: str
    room_id: str | None
    recipient_key: str | None
    width: int
    height: int
    content_type: str
    storage_key: str
    thumbnail_key: str
    pdq: str | None
    sha256: str
    nsfw_score: float | None
    created_at: float
    expires_at: float
    blocked: bool = False


class PhotoStore:
    """All SQL of the photo subsystem."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # -- hash lists ------------------------------------------------------------------------

    async def add_hashes(self, entries: Sequence[BankEntry], *, now: float | None = None) -> int:
        """Insert ``entries`` in one transaction; those already in their list are skipped.

        Returns how many were new. Either all new rows are written or none is.
        """
        added_at = time.time() if now is None else now
        wanted = {(e.list_name, e.kind.value, e.value): e for e in entries}
        if not wanted:
            return 0
        async with self._engine.begin() as conn:
            existing: set[tuple[str, str, str]] = set()
            for list_name in {key[0] for key in wanted}:
                rows = await conn.execute(
                    select(photo_hashes.c.kind, photo_hashes.c.value).where(
                        photo_hashes.c.list_name == list_name
                    )
                )
                existing.update((list_name, kind, value) for kind, value in rows)
            new = [
                {
                    "list_name": e.list_name,
                    "kind": e.kind.value,
                    "value": e.value,
                    "source": e.source[:400],
                    "added_at": added_at,
                }
                for key, e in wanted.items()
                if key not in existing
            ]
            for start in range(0, len(new), 5000):
                await conn.execute(insert(photo_hashes), new[start : start + 5000])
        return len(new)

    async def list_hashes(
        self, list_name: str | None = None, kind: HashKind | None = None
    ) -> list[StoredHash]:
        query = select(
            photo_hashes.c.list_name,
            photo_hashes.c.kind,
            photo_hashes.c.value,
            photo_hashes.c.source,
            photo_hashes.c.added_at,
        ).order_by(photo_hashes.c.list_name, photo_hashes.c.kind, photo_hashes.c.value)
        if list_name is not None:
            query = query.where(photo_hashes.c.list_name == list_name)
        if kind is not None:
            query = query.where(photo_hashes.c.kind == kind.value)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return [
                StoredHash(name, HashKind(k), value, source, float(added))
                for name, k, value, source, added in rows
            ]

    async def list_counts(self) -> dict[tuple[str, HashKind], int]:
        """How many hashes each list holds, by kind."""
        query = select(photo_hashes.c.list_name, photo_hashes.c.kind, func.count()).group_by(
            photo_hashes.c.list_name, photo_hashes.c.kind
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return {(name, HashKind(kind)): int(count) for name, kind, count in rows}

    async def remove_hashes(
        self, list_name: str, values: Iterable[tuple[HashKind, str]] | None = None
    ) -> int:
        """Remove the given hashes of a list, or the whole list when ``values`` is None."""
        async with self._engine.begin() as conn:
            if values is None:
                result = await conn.execute(
                    delete(photo_hashes).where(photo_hashes.c.list_name == list_name)
                )
                return int(result.rowcount or 0)
            removed = 0
            for kind, value in values:
                result = await conn.execute(
                    delete(photo_hashes).where(
                        photo_hashes.c.list_name == list_name,
                        photo_hashes.c.kind == kind.value,
                        photo_hashes.c.value == value,
                    )
                )
                removed += int(result.rowcount or 0)
            return removed

    async def bank_entries(self) -> list[BankEntry]:
        """Every hash of every list, to build a ``HashBank`` at start-up."""
        return [stored.entry() for stored in await self.list_hashes()]

    # -- photo metadata --------------------------------------------------------------------

    async def add_photo(self, record: PhotoRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(photos).values(**_photo_row(record)))

    async def get_photo(self, photo_id: str) -> PhotoRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(photos).where(photos.c.id == photo_id))).one_or_none()
        if row is None:
            return None
        return PhotoRecord(
            id=row.id,
            owner_session=row.owner_session,
            room_id=row.room_id,
            recipient_key=row.recipient_key,
            width=row.width,
            height=row.height,
            content_type=row.content_type,
            storage_key=row.storage_key,
            thumbnail_key=row.thumbnail_key,
            pdq=row.pdq,
            sha256=row.sha256,
            nsfw_score=row.nsfw_score,
            created_at=row.created_at,
            expires_at=row.expires_at,
            blocked=bool(row.blocked),
        )

    async def set_blocked(self, photo_id: str, blocked: bool = True) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(photos).where(photos.c.id == photo_id).values(blocked=blocked)
            )
            return bool(result.rowcount)

    async def expired(self, now: float, limit: int = 500) -> list[tuple[str, str, str]]:
        """``(id, storage key, thumbnail key)`` of photos past their time, oldest first."""
        query = (
            select(photos.c.id, photos.c.storage_key, photos.c.thumbnail_key)
            .where(photos.c.expires_at <= now)
            .order_by(photos.c.expires_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [(i, s, t) for i, s, t in await conn.execute(query)]

    async def delete_photos(self, photo_ids: Sequence[str]) -> int:
        """Forget the metadata (delete the files from storage first)."""
        if not photo_ids:
            return 0
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(photos).where(photos.c.id.in_(list(photo_ids))))
            return int(result.rowcount or 0)


def _photo_row(record: PhotoRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "owner_session": record.owner_session,
        "room_id": record.room_id,
        "recipient_key": record.recipient_key,
        "width": record.width,
        "height": record.height,
        "content_type": record.content_type,
        "storage_key": record.storage_key,
        "thumbnail_key": record.thumbnail_key,
        "pdq": record.pdq,
        "sha256": record.sha256,
        "nsfw_score": record.nsfw_score,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "blocked": record.blocked,
    }
