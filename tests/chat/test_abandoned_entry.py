"""An entry that fails or is abandoned after its nickname was claimed gives the nickname back."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.protocol.identity import nickname_key
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
