"""Where the retention database and the operator's keys live, and its migrations.

The retention database has its own Alembic history (``legal/migrations``) and its own version
table, so it can live in a separate database (the default beside a SQLite chat database, and the
recommendation for PostgreSQL, with credentials the chat nodes' SQL user does not share) or, when
no URL is set and the chat database is PostgreSQL, in tables of its own in the same database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

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
    retention_file = _sqlite_file(url)
    home = retention_file.parent if retention_file is not None else Path()
    keys_file = legal.keys_file or home / "causerie-retention.keys"
    signing = legal.signing_key_file or keys_file.with_name("causerie-legal-signing.pem")
    return LegalPaths(database_url=url, keys_file=keys_file, signing_key_file=signing)


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the retention database to ``revision`` (blocking; run it in a thread from async)."""
    store_database.migrate(url, revision, MIGRATIONS)
