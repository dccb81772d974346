"""Engine creation for SQLite (the embedded default) and PostgreSQL, and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Executable, MetaData, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


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


# The synchronous twins of each SQLite file engine, for reads and for writes, disposed with it.
_twins: weakref.WeakKeyDictionary[Any, dict[bool, Engine | None]] = weakref.WeakKeyDictionary()


def _twin(engine: AsyncEngine, *, read_only: bool) -> Engine | None:
    """A synchronous engine on the same SQLite file (None for any other database): the
    readers' (``query_only``) or the writers'."""
    sync_engine = engine.sync_engine
    twins = _twins.setdefault(sync_engine, {})
    if read_only in twins:
        return twins[read_only]
    path = sqlite_file(engine.url)
    twin = None
    if path is not None:
        # WAL readers do not wait for the writer; the rare wait they can meet (another
        # connection recovering the WAL) is cut short, as it would hold the event loop.
        twin = create_sync_engine(
            f"sqlite:///{path}",
            connect_args={"timeout": 1 if read_only else 30, "check_same_thread": False},
        )
        event.listen(twin, "connect", _sqlite_reader_pragmas if read_only else _sqlite_pragmas)
        weakref.finalize(sync_engine, twin.dispose)
    twins[read_only] = twin
    return twin


async def read_rows(
    engine: AsyncEngine, query: Executable, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """Every row of the read-only ``query``: the hot reads (entry, join, a message's checks).

    A hot read's ``query`` is built once, at import, with ``bindparam`` placeholders filled
    from ``params``: building and keying a ``select`` cost ~90 µs a call, more than the read
    on the reader connection (docs/benchmarks.md).

    On a SQLite file the query runs on the calling thread, through a plain ``sqlite3``
    connection of its own (``query_only``): a point read costs tens of microseconds there,
    where the async driver's round trips to its thread cost ~550 µs of CPU on the 2-core bench
    machine (docs/benchmarks.md). In WAL mode a reader never waits for the writer and sees
    every committed transaction. Elsewhere (PostgreSQL, an in-memory SQLite database) it goes
    through the engine.
    """
    reader = _twin(engine, read_only=True)
    if reader is None:
        async with engine.connect() as conn:
            return (await conn.execute(query, params)).all()
    with reader.connect() as conn:
        return conn.execute(query, params).all()


# A write that joins a transaction someone else opens: the entry's writes share the nickname
# claim's (:meth:`causerie.store.presence.PresenceStore.add_session`).
Write = Callable[[Connection], object]


async def write_in_thread(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one transaction, committed when it returns, rolled back if it raises.

    On a SQLite file the whole transaction runs in a worker thread on a plain ``sqlite3``
    connection: one crossing to the thread and back, where the async driver crosses four or
    five times a statement. Elsewhere through the engine (``run_sync``). A caller cancelled
    meanwhile does not stop the transaction: use it for writes that are harmless once done
    (the session's exit cleans up what an abandoned entry wrote), or take the write back once
    it lands, as the nickname claim does (``PresenceStore.add_session``).
    """
    writer = _twin(engine, read_only=False)
    if writer is None:
        async with engine.begin() as conn:
            return await conn.run_sync(work)

    def transaction() -> T:
        with writer.begin() as conn:
            return work(conn)

    return await asyncio.to_thread(transaction)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if database in (None, "", ":memory:") or "mode=memory" in str(parsed.query):
        return None
    return Path(database)


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection with the engine's settings, in autocommit mode.

    For a writer that owns its transactions (``BEGIN IMMEDIATE`` ... ``COMMIT``): the message
    group commit (:mod:`causerie.store.messages`). It must be used from one thread only.
    """
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    _sqlite_pragmas(connection, None)
    return connection


_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[sqlite3.Connection], Any]]


class SqliteWriter:
    """One thread owning one plain ``sqlite3`` connection (:func:`connect_sqlite`); the event
    loop hands it work.

    A call crosses to the thread once and back once (``call_soon_threadsafe``); a group commit
    makes that once per batch, not once per statement as the async driver does (a point insert
    and commit: ~80 µs here, ~550 µs through the async engine). The writers of the message
    rows (:mod:`causerie.store.messages`) and of the retention records
    (:mod:`causerie.legal.traffic`) each own one.
    """

    def __init__(self, path: Path, name: str = "causerie-writer") -> None:
        self.path = path
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    async def call(self, function: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, function))
        return await future

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            await asyncio.to_thread(thread.join)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        while True:
            job = self._jobs.get()
            if job is None:
                break
            loop, future, function = job
            try:
                if connection is None:
                    connection = connect_sqlite(self.path)
                result = function(connection)
            except BaseException as exc:  # handed to the caller
                loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                loop.call_soon_threadsafe(_set_result, future, result)
        if connection is not None:
            connection.close()


def _set_result(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def insert_rows(
    connection: sqlite3.Connection, sql: str, rows: Sequence[tuple[Any, ...]]
) -> list[int]:
    """Run ``sql`` (one ``INSERT``) for each row in one transaction; the new rows' ids, once
    it is committed. Rolled back as a whole on any error."""
    cursor = connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
        ids: list[int] = []
        for row in rows:
            cursor.execute(sql, row)
            ids.append(cursor.lastrowid or 0)
        cursor.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.rollback()
        raise
    finally:
        cursor.close()
    return ids


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
    # FULL: an acknowledged message survives a power cut, not only a process crash (NORMAL
    # would survive a kill -9 too: a committed WAL frame is in the OS page cache). With the
    # group commit one fsync serves a whole batch, so the stronger setting costs little.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
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
