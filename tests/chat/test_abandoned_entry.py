"""An entry that fails or is abandoned after its nickname was claimed gives the nickname back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from causerie.protocol.identity import nickname_key
from causerie.store.schema import resume_tokens
from tests.harness import harness


async def test_an_entry_that_fails_after_the_claim_frees_the_nickname(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(tmp_path) as h:
        traffic = h.node.chat.core.traffic
        opened = traffic.connection_opened

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the retention store is down")

        monkeypatch.setattr(traffic, "connection_opened", broken)
        with pytest.raises(RuntimeError):
            await h.enter("Lisandro", 30)
        assert await h.node.chat.core.presence.by_key(nickname_key("Lisandro")) is None
        assert not any(s.nickname == "Lisandro" for s in h.node.chat.core.hub.sessions.values())
        monkeypatch.setattr(traffic, "connection_opened", opened)
        again = await h.enter("Lisandro", 30)
        assert again.welcome.me.nickname == "Lisandro"


async def test_an_entry_that_fails_while_its_claim_is_announced_frees_the_nickname(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(tmp_path) as h:
        presence = h.node.chat.core.presence
        announce = presence._changed
        calls = 0

        async def fail_first(*args: object, **kwargs: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("interrupted after the claim")
            await announce(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(presence, "_changed", fail_first)
        with pytest.raises(RuntimeError):
            await h.enter("Ombeline", 30)
        assert await presence.by_key(nickname_key("Ombeline")) is None
        again = await h.enter("Ombeline", 30)
        assert again.welcome.me.nickname == "Ombeline"


async def test_an_entrys_rows_are_one_transaction_with_its_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ban keys, the resume token and the nickname claim commit together or not at all.
    async with harness(tmp_path) as h:
        entry = h.node.chat.entry

        def failing_write(record: object) -> Callable[[Connection], object]:
            def write(conn: Connection) -> object:
                raise RuntimeError("the disk is full")

            return write

        monkeypatch.setattr(entry.resumes, "issue_write", failing_write)
        with pytest.raises(RuntimeError):
            await h.enter("Lisandro", 30, device="first-device-token-0001", ip="10.9.9.1")
        assert await h.node.chat.core.presence.by_key(nickname_key("Lisandro")) is None
        device_key, _ = h.node.chat.core.moderation.fence.memory_keys(
            "first-device-token-0001", "10.9.9.1"
        )
        assert await entry.bans.store.entries_from(device_key, None, 0.0) == []
        monkeypatch.undo()
        await h.enter("Lisandro", 30, device="first-device-token-0001", ip="10.9.9.1")
        assert len(await entry.bans.store.entries_from(device_key, None, 0.0)) == 1
        async with h.node.engine.connect() as conn:
            tokens = await conn.scalar(
                select(func.count())
                .select_from(resume_tokens)
                .where(resume_tokens.c.device_key == device_key)
            )
        assert tokens == 1
