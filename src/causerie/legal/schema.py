"""The retention database's tables, kept apart from the chat tables in a database of their own.

Identifying values (address, port, user-agent, nickname, session id, scopes, preserved content)
exist here only sealed with the operator's keys. What stays in clear is what the purge and the
scope search need and does not identify anyone on its own: the time of a record, its kind, the
key id, blind indexes (keyed HMACs), the authority's reference and the hash chains.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

traffic_records = Table(
    "traffic_records",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    # open, close or content
    Column("kind", String(8), nullable=False),
    Column("at", Double, nullable=False, index=True),
    Column("key_id", String(32), nullable=False, index=True),
    Column("nickname_idx", String(32), nullable=True, index=True),
    Column("address_idx", String(32), nullable=True, index=True),
    Column("content_idx", String(32), nullable=True, index=True),
    Column("session_idx", String(32), nullable=True, index=True),
    Column("sealed", LargeBinary, nullable=False),
)

key_checks = Table(
    "key_checks",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("created_at", Double, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
)

judicial_requests = Table(
    "judicial_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("authority", String(200), nullable=False),
    Column("reference", String(200), nullable=False, unique=True),
    Column("legal_basis", String(400), nullable=False),
    Column("deadline", Double, nullable=True),
    Column("registered_at", Double, nullable=False),
    Column("registered_by", String(80), nullable=False),
    # registered, exported, delivered
    Column("status", String(16), nullable=False),
    Column("key_id", String(32), nullable=True),
    # Erased (NULL) once the request has been delivered for longer than the retention period.
    Column("sealed_scope", LargeBinary, nullable=True),
    Column("exported_at", Double, nullable=True),
    Column("delivered_at", Double, nullable=True),
    Column("delivery_note", String(400), nullable=False, server_default=""),
)

preservation_orders = Table(
    "preservation_orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("authority", String(200), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("key_id", String(32), nullable=True),
    # Erased (NULL) once the order has been released for longer than the retention period.
    Column("sealed_scope", LargeBinary, nullable=True),
    Column("released_at", Double, nullable=True, index=True),
    Column("released_by", String(80), nullable=True),
)

evidence_records = Table(
    "evidence_records",
    metadata,
    # Assigned by the writer as head + 1, so two writers racing for the same place in the chain
    # collide on the primary key instead of forking it.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("created_at", Double, nullable=False),
    # preserved or released
    Column("kind", String(16), nullable=False),
    # escalated, reported, preservation_order (for preserved records); why, for releases
    Column("reason", String(40), nullable=False),
    Column("reference", String(200), nullable=False, index=True),
    # The content id of the preserved message (m<id>), empty for releases.
    Column("subject", String(64), nullable=False, index=True),
    Column("key_id", String(32), nullable=True),
    Column("nickname_idx", String(32), nullable=True, index=True),
    # NULL once released: the hash of the content stays, so the chain still verifies.
    Column("sealed", LargeBinary, nullable=True),
    Column("content_hash", String(64), nullable=False),
    # Non-identifying facts in clear, covered by the chain (which records a release frees).
    Column("detail", Text, nullable=False, server_default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", Double, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("request_id", String(80), nullable=True, index=True),
    # ok, denied or failed
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
