"""Engine creation for SQLite (the embedded default) and PostgreSQL, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        database = make_url(url).database
        if database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            create_private_file(Path(database))
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs["pool_size"] = 10
    kwargs["max_overflow"] = 20
    kwargs["pool_pre_ping"] = True
    parsed = make_url(url)
    server_settings = _libpq_options(parsed.query.get("options"))
    if server_settings:
        kwargs["connect_args"] = {"server_settings": server_settings}
        parsed = parsed.difference_update_query(["options"])
    return create_async_engine(parsed, **kwargs)


def create_private_file(path: Path) -> None:
    """Create an empty SQLite database file readable by its owner only, if there is none.

    SQLite would create it with the process's umask (0644: every local account reads the chats
    and the retained addresses); an empty file is a valid empty database, and SQLite gives its
    ``-wal`` and ``-shm`` files the database file's permissions. An existing file is left as the
    operator made it. Nothing is created where the directory does not exist (SQLite says so).
    """
    if not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _libpq_options(options: str | tuple[str, ...] | None) -> dict[str, str]:
    """``options=-csearch_path=chat`` in a PostgreSQL URL, as libpq understands it.

    asyncpg has no ``options`` parameter and would refuse the URL; it takes the same
    ``-c name=value`` settings as ``server_settings``.
    """
    if options is None:
        return {}
    text = " ".join(options) if isinstance(options, tuple) else options
    settings: dict[str, str] = {}
    words = text.split()
    for index, word in enumerate(words):
        if word == "-c" and index + 1 < len(words):
            word = "-c" + words[index + 1]
        if word.startswith("-c") and "=" in word:
            name, _, value = word[2:].partition("=")
            settings[name] = value
        elif word.startswith("--") and "=" in word:
            name, _, value = word[2:].partition("=")
            settings[name.replace("-", "_")] = value
    return settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged message survives a power cut, not only a process crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str, migrations: Path = MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "heads", migrations: Path = MIGRATIONS) -> None:
    """Bring the database at ``url`` to ``revision`` (blocking; run it in a thread from async).

    ``migrations`` picks the Alembic scripts: the chat tables' by default, or another
    capability's own database (the retention store).
    """
    command.upgrade(alembic_config(url, migrations), revision)


def run_migrations_env(metadata: MetaData, version_table: str = "alembic_version") -> None:
    """The body of an Alembic ``env.py``: migrate the configured URL over its async engine.

    Each database (the chat store, the retention store) has its own scripts and version table
    and calls this from its ``env.py``.
    """
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url") or ""
    options: dict[str, Any] = {"target_metadata": metadata, "version_table": version_table}

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, **options)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
