"""The Python client's behaviour when the server ends the connection."""

from __future__ import annotations

import asyncio

import pytest

from causerie.client import ConnectionLost, Error
from causerie.errors import ErrorCode
from tests.conftest import RunningServer


async def test_requests_after_the_server_closed_raise_connection_lost(
    server: RunningServer,
) -> None:
    limit = server.settings.limits.max_consecutive_errors
    async with server.client() as client:
        for _ in range(limit):
            await client.send_raw("not json")
        errors = [event async for event in client.events() if isinstance(event, Error)]
        assert {error.code for error in errors[:-1]} == {ErrorCode.MALFORMED_FRAME}
        assert errors[-1].code == ErrorCode.TOO_MANY_ERRORS
        assert len(errors) == limit + 1  # one per frame, then the farewell
        with pytest.raises(ConnectionLost) as lost:
            await asyncio.wait_for(client.ping(), 5)
        assert lost.value.code == 1008
        with pytest.raises(ConnectionLost):
            await client.send_raw('{"type":"ping"}')
