"""The chat tables. Alembic migrations under ``migrations/`` create exactly these.

Nothing identifying beyond the nickname and the declared profile is kept here: no IP address,
no postal code (only the département and region derived from it). Identifying traffic data, when
the law requires it, goes to the separate retention store.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

nodes = Table(
    "nodes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", Double, nullable=False),
    Column("last_seen", Double, nullable=False),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(80), nullable=False),
    # The folded name, so that "Musique" and "musiqué" cannot both exist.
    Column("name_key", String(80), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("region_code", String(8), nullable=False, server_default=""),
    Column("topic", String(400), nullable=False, server_default=""),
    Column("host_key", String(80), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),
)

online_sessions = Table(
    "online_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("nickname", String(40), nullable=False),
    Column("nickname_key", String(80), nullable=False, unique=True),
    Column("age", Integer, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("department", String(4), nullable=False),
    Column("region_code", String(8), nullable=False),
    Column("node_id", String(64), nullable=False, index=True),
    Column("connected_at", Double, nullable=False),
)

room_members = Table(
    "room_members",
    metadata,
    Column("room_id", String(80), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "session_id",
        String(40),
        ForeignKey("online_sessions.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("joined_at", Double, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("room_id", String(80), nullable=True),
    Column("sender_session", String(40), nullable=False),
    Column("sender_nickname", String(40), nullable=False),
    Column("recipient_session", String(40), nullable=True),
    Column("recipient_nickname", String(40), nullable=True),
    Column("text", Text, nullable=False),
    # Shown masked until the reader reveals it; kept so that history is masked too.
    Column("blurred", Boolean, nullable=False, server_default=false()),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Index("ix_messages_room_created", "room_id", "created_at"),
)
