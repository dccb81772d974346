"""A dropped connection comes back as the same chatter, in the same rooms, with the history."""

from __future__ import annotations

import secrets

import pytest

from causerie.client import ClientError
from causerie.errors import ErrorCode
from causerie.protocol import frames as f
from tests.conftest import RunningServer


async def test_a_killed_connection_resumes_mid_conversation(server: RunningServer) -> None:
    device = secrets.token_urlsafe(24)
    async with server.client() as bob:
        await bob.enter("Bob", 41, "man", "69003")
        await bob.join("general")
        async with server.client() as alice:
            welcome = await alice.enter("Alice", 30, "woman", "75011", device=device)
            assert welcome.resume_token
            await alice.join("general")
            await alice.send_private("Bob", "je reviens tout de suite")
            await bob.send_private("Alice", "tu es là ?")
            await alice.next_event(f.PrivateMessage)
            # The connection drops here: the socket is gone, the page reloads.
        # Private messages wait for nobody; a room keeps what was said meanwhile.
        await bob.say("general", "dit pendant son absence")
        async with server.client() as again:
            back = await again.resume(welcome.resume_token, device=device)
            assert back.me.nickname == "Alice" and back.me.key == welcome.me.key
            assert back.resume_token and back.resume_token != welcome.resume_token
            joined = await again.next_event(f.Joined)
            assert joined.room.id == "general"
            assert "dit pendant son absence" in [m.text for m in joined.history]
            history = await again.private_history("Bob")
            assert [m.text for m in history] == ["je reviens tout de suite", "tu es là ?"]
            await again.logout()
        # A token works once, and logout revoked the last one.
        for token in (welcome.resume_token, back.resume_token):
            async with server.client() as late:
                with pytest.raises(ClientError) as refused:
                    await late.resume(token, device=device)
                assert refused.value.code == ErrorCode.RESUME_REFUSED


async def test_a_resume_token_is_bound_to_its_device(server: RunningServer) -> None:
    async with server.client() as alice:
        welcome = await alice.enter("Alice", 30, "woman", "75011", device=secrets.token_urlsafe(24))
    assert welcome.resume_token
    async with server.client() as thief:
        with pytest.raises(ClientError) as refused:
            await thief.resume(welcome.resume_token, device=secrets.token_urlsafe(24))
        assert refused.value.code == ErrorCode.RESUME_REFUSED
