"""Alembic migrations of the retention database (separate from the chat tables)."""
