"""The ban store on SQLite and PostgreSQL: which ban holds a nickname, device or address."""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.safety import EntryKeys, SafetyStore, SanctionRow

NOW = 1_750_000_000.0


async def test_a_ban_holds_its_nickname_device_and_chosen_address(engine: AsyncEngine) -> None:
    store = SafetyStore(engine)
    await store.add_sanction(
        SanctionRow(
            "bob", "ban", NOW, NOW + 7 * 86_400, "moderator sam", "dev-b", "adr-h", NOW + 86_400
        )
    )
    await store.add_sanction(SanctionRow("eve", "mute", NOW, math.inf, "strikes", "dev-e"))
    assert (await store.entry_ban("bob", None, None, NOW + 1)) is not None
    by_device = await store.entry_ban("bobby", "dev-b", None, NOW + 1)
    assert by_device is not None and by_device.author_key == "bob"
    assert (await store.entry_ban("clara", "dev-c", "adr-h", NOW + 1)) is not None
    # The address part ends first; the device part runs on; a mute keeps nobody out.
    assert (await store.entry_ban("clara", "dev-c", "adr-h", NOW + 86_401)) is None
    assert (await store.entry_ban("bobby", "dev-b", "adr-h", NOW + 86_401)) is not None
    assert (await store.entry_ban("eve2", "dev-e", None, NOW + 1)) is None
    # Lifted (an appeal reversed it): nothing holds any more.
    await store.lift_sanctions("bob", "ban", NOW + 2)
    assert (await store.entry_ban("bobby", "dev-b", "adr-h", NOW + 3)) is None


async def test_entry_keys_are_found_by_session_then_latest_and_forgotten(
    engine: AsyncEngine,
) -> None:
    store = SafetyStore(engine)
    await store.record_entry_keys(EntryKeys("s1", "bob", "d1", "a1", NOW), keep_seconds=100)
    await store.record_entry_keys(EntryKeys("s2", "bob", "d2", None, NOW + 10), keep_seconds=100)
    assert (await store.entry_keys("bob", "s1")) == EntryKeys("s1", "bob", "d1", "a1", NOW)
    latest = await store.entry_keys("bob", "gone")
    assert latest is not None and latest.device_key == "d2"
    # The purge forgets those past their time, and only those.
    await store.record_entry_keys(EntryKeys("s3", "ann", None, None, NOW + 200), keep_seconds=100)
    assert await store.purge_entry_keys(NOW + 200) == 2
    assert (await store.entry_keys("bob")) is None
    assert (await store.entry_keys("ann")) is not None
