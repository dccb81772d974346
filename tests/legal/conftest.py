"""Fixtures of the legal tests: a real retention database (SQLite and PostgreSQL), real keys,
a real chat message store, and a clock the test moves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from causerie.legal.crypto import Keyring, generate_signing_key
from causerie.legal.database import migrate as migrate_retention
from causerie.legal.service import LegalService
from causerie.legal.store import RetentionStores
from causerie.settings import Settings
from causerie.store.database import create_engine
from causerie.store.database import migrate as migrate_chat
from causerie.store.messages import MessageStore

OFFICER = "officer.durand"
OFFICER_PASSWORD = "correct horse battery staple"
DAY = 86_400.0
# 2025-03-01T12:00:00Z
T0 = 1_740_830_400.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def retention_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
    return str(request.getfixturevalue("postgres_url"))


@dataclass
class LegalEnv:
    service: LegalService
    stores: RetentionStores
    messages: MessageStore
    clock: Clock
    settings: Settings
    keys_file: Path
    signing_key: Path
    public_key: Path
    retention_url: str


@pytest.fixture
async def legal(retention_url: str, tmp_path: Path) -> AsyncIterator[LegalEnv]:
    chat_url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    keys_file = tmp_path / "keys" / "retention.keys"
    signing = tmp_path / "keys" / "signing.pem"
    settings = Settings(
        database={"url": chat_url},
        legal={
            "database_url": retention_url,
            "keys_file": keys_file,
            "signing_key_file": signing,
            "officers": [OFFICER],
        },
    )
    await asyncio.to_thread(migrate_chat, chat_url)
    await asyncio.to_thread(migrate_retention, retention_url)
    keyring = Keyring.generate()
    keyring.save(keys_file)
    public = generate_signing_key(signing)
    engine = create_engine(retention_url)
    chat_engine = create_engine(chat_url)
    clock = Clock()
    stores = RetentionStores(engine)
    messages = MessageStore(chat_engine)
    service = LegalService(
        settings,
        stores,
        Keyring.load(keys_file),
        messages=messages,
        signing_key_file=signing,
        clock=clock,
    )
    await service.check_keys()
    try:
        yield LegalEnv(
            service, stores, messages, clock, settings, keys_file, signing, public, retention_url
        )
    finally:
        await engine.dispose()
        await chat_engine.dispose()


def officer_argv(config: Path, name: str = OFFICER) -> list[str]:
    """``causerie legal`` as a legal officer: their staff account (role legal, created here as
    ``causerie staff add`` does) signs in with password and TOTP code through ``legal login``'s
    path, and the officer session goes on every command as ``--session``."""
    from causerie.cli.legal import staff_auth
    from causerie.console.auth import totp_now
    from causerie.settings import load_settings
    from causerie.store.staff import Role

    async def go() -> str:
        async with staff_auth(load_settings(config)) as auth:
            created = await auth.add(name, Role.LEGAL, OFFICER_PASSWORD, by="test")
            code = totp_now(created.account.totp_secret, time.time())
            token, _ = await auth.officer_login(name, OFFICER_PASSWORD, code)
            return str(token)

    return ["legal", "--officer", name, "--session", asyncio.run(go())]
