"""Issue 12 against a real server: hostile frames, foreign pages, bounds per connection and per
address, health and readiness. Each test reproduces one finding of the issue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from causerie.client import Error
from causerie.errors import ErrorCode
from causerie.gateway.guard import RateLimitedLog
from causerie.settings import Settings
from tests.conftest import RunningServer, run_server
from tests.e2e.test_bad_input import answer, closed, scene


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def captured(*names: str) -> Iterator[list[logging.LogRecord]]:
    """Records reaching these loggers (uvicorn's do not propagate to the root)."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# -- 1. frames ------------------------------------------------------------------------------


async def test_deeply_nested_json_is_a_malformed_frame_and_the_connection_stays(
    server: RunningServer,
) -> None:
    async with scene(server) as s:
        for bomb in ("[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000):
            error = await answer(s.offender, bomb)
            assert error.code == ErrorCode.MALFORMED_FRAME
            assert "nested deeper" in error.message
            await s.offender.ping()
        await s.witness_still_served()


async def test_invalid_utf8_closes_with_one_line_and_no_traceback(server: RunningServer) -> None:
    with captured("uvicorn.error", "causerie.gateway") as records:
        for _ in range(3):
            async with connect(server.url) as ws:
                await ws.send(b"\xff\xfe{}", text=True)
                with pytest.raises(ConnectionClosed) as lost:
                    await asyncio.wait_for(ws.recv(), 5)
                assert lost.value.rcvd is not None and lost.value.rcvd.code == 1007
        await asyncio.sleep(0.1)
    assert not [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
    lines = [r for r in records if "invalid UTF-8" in r.getMessage()]
    assert len(lines) == 3 and all(r.levelno == logging.WARNING for r in lines)
    async with server.client() as after:
        await after.enter("Apres", 30, "man", "75011")


async def test_the_flood_close_has_its_own_code(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(limits={"max_consecutive_errors": 3})
    async with run_server(settings) as server, scene(server) as s:
        with captured("causerie.gateway") as records:
            for _ in range(3):
                with contextlib.suppress(Exception):
                    await s.offender.send_raw("garbage")
            codes = [e.code async for e in s.offender.events() if isinstance(e, Error)]
            lost = await closed(s.offender)
        assert lost.code == 1008
        assert codes[-1] == ErrorCode.TOO_MANY_ERRORS
        assert ErrorCode.MALFORMED_FRAME in codes[:-1]
        assert any("too_many_errors" in r.getMessage() for r in records)


def test_refusal_logging_is_rate_limited() -> None:
    now = [0.0]
    logger = logging.getLogger("tests.quiet")
    with captured("tests.quiet") as records:
        quiet = RateLimitedLog(logger, burst=3, interval=60.0, clock=lambda: now[0])
        logged = [quiet.warning("k", "refused %d", i) for i in range(100)]
        assert logged.count(True) == 3 and len(records) == 3
        assert quiet.warning("other", "another kind")  # each key has its own budget
        now[0] = 61.0
        assert quiet.warning("k", "refused again")
    assert "97 similar lines left out" in records[-1].getMessage()


# -- 2. origins -----------------------------------------------------------------------------


async def test_a_foreign_origin_is_refused_and_the_sites_own_and_none_are_allowed(
    server: RunningServer,
) -> None:
    port = server.url.split(":")[2].split("/")[0]
    with pytest.raises(InvalidStatus) as refused:
        await connect(server.url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    for origin in (f"http://127.0.0.1:{port}", None):
        async with connect(server.url, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send('{"type": "ping", "ref": "o"}')
            assert '"pong"' in str(await asyncio.wait_for(ws.recv(), 5))
    async with server.client() as python_client:  # sends no Origin
        await python_client.enter("Pythonne", 30, "woman", "75011")


async def test_listed_origins_are_allowed(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(server={"allowed_origins": ["https://chat.example.org"]})
    async with run_server(settings) as server:
        async with connect(server.url, origin="https://chat.example.org") as ws:  # type: ignore[arg-type]
            await ws.send('{"type": "ping"}')
            await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(InvalidStatus):
            await connect(server.url, origin="https://chat.example.org.evil.example")  # type: ignore[arg-type]
