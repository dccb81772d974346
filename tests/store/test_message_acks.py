"""Pending messages and request keys: hidden until confirmed; one confirmed row per request."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.messages import MessageStore, RequestAcknowledged


async def pending(store: MessageStore, key: str | None = "s k", room: str = "r") -> int:
    return await store.add(
        room_id=room,
        sender_session="s",
        sender_nickname="N",
        text="t",
        created_at=1.0,
        expires_at=10.0,
        pending=True,
        request_key=key,
    )


@pytest.mark.parametrize("writer", [False, True], ids=["direct", "group-commit"])
async def test_one_confirmed_message_per_request_key(engine: AsyncEngine, writer: bool) -> None:
    store = MessageStore(engine)
    task = asyncio.create_task(store.writer.run()) if writer else None
    await asyncio.sleep(0)
    try:
        one, two, other = await pending(store), await pending(store), await pending(store, None)
        assert await store.recent_in_room("r", 0.0, 10) == []
        assert await store.acknowledged("s k") is None
        # Confirmed together in one transaction where the writer runs.
        await asyncio.gather(store.confirm(one, "s k"), store.confirm(other))
        with pytest.raises(RequestAcknowledged) as raced:
            await store.confirm(two, "s k")
        assert raced.value.first.id == one
        assert [m.id for m in await store.recent_in_room("r", 0.0, 10)] == [one, other]
        found = await store.acknowledged("s k")
        assert found is not None and found.id == one
        await store.discard(two)
        with pytest.raises(LookupError):
            await store.confirm(two, "s k")
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
