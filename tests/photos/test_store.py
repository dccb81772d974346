"""The photo repository on a migrated SQLite database (and PostgreSQL where it runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.photos.hashbank import BankEntry, HashBank, HashKind
from causerie.photos.store import PhotoRecord, PhotoStore, photo_hashes, photos
from causerie.store.database import create_engine
from tests.photos.test_lists import MD5, PDQ, PDQ2, SHA


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = str(request.getfixturevalue(f"migrated_{request.param}"))
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(delete(photo_hashes))
        await conn.execute(delete(photos))
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_hash_lists_round_trip(engine: AsyncEngine) -> None:
    store = PhotoStore(engine)
    entries = [
        BankEntry("ncmec", HashKind.PDQ, PDQ, "f:1"),
        BankEntry("ncmec", HashKind.MD5, MD5, "f:2"),
        BankEntry("removed", HashKind.SHA256, SHA, "moderator"),
    ]
    assert await store.add_hashes(entries, now=10.0) == 3
    # Importing again adds nothing and fails nothing.
    assert await store.add_hashes([*entries, BankEntry("ncmec", HashKind.PDQ, PDQ2)]) == 1
    assert await store.list_counts() == {
        ("ncmec", HashKind.PDQ): 2,
        ("ncmec", HashKind.MD5): 1,
        ("removed", HashKind.SHA256): 1,
    }
    listed = await store.list_hashes("ncmec", HashKind.PDQ)
    assert [(h.value, h.source) for h in listed] == sorted([(PDQ, "f:1"), (PDQ2, "")])
    bank = HashBank(await store.bank_entries())
    match = bank.match(PDQ, 100)
    assert match is not None and match.list_name == "ncmec"
    assert await store.remove_hashes("ncmec", [(HashKind.PDQ, PDQ), (HashKind.PDQ, "0" * 64)]) == 1
    assert await store.remove_hashes("removed") == 1
    assert len(await store.list_hashes()) == 2


async def test_a_failed_import_writes_nothing(engine: AsyncEngine) -> None:
    store = PhotoStore(engine)

    class Tmk:
        value = "tmk"  # a kind the CHECK constraint refuses

    bad = BankEntry("x", HashKind.MD5, MD5)
    object.__setattr__(bad, "kind", Tmk())
    with pytest.raises(IntegrityError):
        await store.add_hashes([BankEntry("x", HashKind.PDQ, PDQ), bad])
    assert await store.list_hashes() == []


async def test_photo_metadata_round_trip(engine: AsyncEngine) -> None:
    store = PhotoStore(engine)
    record = PhotoRecord(
        id="p1",
        owner_session="s1",
        room_id="lobby",
        recipient_key=None,
        width=640,
        height=480,
        content_type="image/jpeg",
        storage_key="k" * 32,
        thumbnail_key="t" * 32,
        pdq=PDQ,
        sha256=SHA,
        nsfw_score=0.02,
        created_at=100.0,
        expires_at=200.0,
    )
    await store.add_photo(record)
    assert await store.get_photo("p1") == record
    assert await store.set_blocked("p1")
    stored = await store.get_photo("p1")
    assert stored is not None and stored.blocked
    assert await store.expired(150.0) == []
    assert await store.expired(250.0) == [("p1", "k" * 32, "t" * 32)]
    assert await store.delete_photos(["p1"]) == 1
    assert await store.get_photo("p1") is None


async def test_a_photo_goes_to_a_room_or_a_person(engine: AsyncEngine) -> None:
    store = PhotoStore(engine)
    both = PhotoRecord(
        "p2", "s1", "lobby", "bob", 1, 1, "image/jpeg", "k", "t", None, SHA, None, 0.0, 1.0
    )
    with pytest.raises(IntegrityError):
        await store.add_photo(both)
