"""Alembic environment of the retention database: its own history and version table."""

from __future__ import annotations

from causerie.legal.database import VERSION_TABLE
from causerie.legal.schema import metadata
from causerie.store.database import run_migrations_env

run_migrations_env(metadata, VERSION_TABLE)
