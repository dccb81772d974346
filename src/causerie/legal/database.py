"""Where the retention database and the operator's keys live, and its migrations.

The retention database has its own Alembic history (``legal/migrations``) and its own version
table, so it can live in a separate database (the default beside a SQLite chat database, and the
recommendation for PostgreSQL, with credentials the chat nodes' SQL user does not share) or, when
no URL is set and the chat database is PostgreSQL, in tables of its own in the same database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from causerie.legal.errors import KeyMaterialError
from causerie.settings import Settings
from causerie.store import database as store_database
from causerie.store.database import is_sqlite

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "legal_alembic_version"


@dataclass(frozen=True, slots=True)
class LegalPaths:
    database_url: str
    keys_file: Path
    signing_key_file: Path


def _sqlite_file(url: str) -> Path | None:
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if database in (None, "", ":memory:"):
        return None
    return Path(database)


def default_key_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the key files go when the settings name none: the user's state directory.

    ``$XDG_STATE_HOME/causerie``, else ``~/.local/state/causerie`` (the XDG convention, the one
    place outside the settings that looks at the environment): never the data directory, so
    that a copy of the data is not a copy of its key.
    """
    state = environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / "causerie"


def resolve_paths(settings: Settings) -> LegalPaths:
    """The retention URL and key files, derived from the chat database when not configured."""
    legal = settings.legal
    url = legal.database_url
    if not url:
        chat_file = _sqlite_file(settings.database.url)
        if chat_file is not None:
            retention = chat_file.with_name(f"{chat_file.stem}-retention{chat_file.suffix}")
            url = f"sqlite+aiosqlite:///{retention}"
        elif is_sqlite(settings.database.url):
            url = "sqlite+aiosqlite:///causerie-retention.db"
        else:
            url = settings.database.url
    keys_file = legal.keys_file or default_key_directory() / "causerie-retention.keys"
    signing = legal.signing_key_file or keys_file.with_name("causerie-legal-signing.pem")
    return LegalPaths(database_url=url, keys_file=keys_file, signing_key_file=signing)


def check_key_location(settings: Settings, paths: LegalPaths) -> None:
    """Refuse a key file in the same directory as a database file (the chat's or retention's).

    Whoever copies or backs up the data directory would then hold the data and its key.
    ``legal.keys_beside_database`` allows it for development.
    """
    if settings.legal.keys_beside_database:
        return
    keys_dir = paths.keys_file.expanduser().resolve().parent
    for url in (settings.database.url, paths.database_url):
        database = _sqlite_file(url)
        if database is not None and database.expanduser().resolve().parent == keys_dir:
            raise KeyMaterialError(
                f"retention key file {paths.keys_file} is in the same directory as the database "
                f"{database}: keep it elsewhere (legal.keys_file; default "
                f"{default_key_directory()}), or set legal.keys_beside_database for development"
            )


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the retention database to ``revision`` (blocking; run it in a thread from async)."""
    store_database.migrate(url, revision, MIGRATIONS)
