"""Alembic environment of the chat store."""

from __future__ import annotations

from causerie.store.database import run_migrations_env
from causerie.store.schema import metadata

run_migrations_env(metadata)
