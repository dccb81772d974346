"""A message delivered blurred stays blurred in the history shown on joining."""

from __future__ import annotations

import asyncio

from causerie.chat.core import message_frame
from causerie.store.database import create_engine, migrate
from causerie.store.messages import MessageStore


async def test_blurred_flag_survives_storage_and_history(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url)
    engine = create_engine(database_url)
    try:
        store = MessageStore(engine)
        common = {"sender_session": "s1", "sender_nickname": "Alex", "expires_at": 2e9}
        await store.add(room_id="rencontres", text="plain", created_at=10.0, **common)
        await store.add(
            room_id="rencontres", text="masked", created_at=11.0, blurred=True, **common
        )
        history = [message_frame(m) for m in await store.recent_in_room("rencontres", 0.0, 10)]
        assert [(m.text, m.blurred) for m in history] == [("plain", False), ("masked", True)]
    finally:
        await engine.dispose()
