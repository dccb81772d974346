"""retention, evidence, judicial requests and audit tables

Revision ID: legal_0001
Revises:
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "legal_0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The audit log is append-only in the database itself, not only in the code that writes it.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]
_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "traffic_records",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("nickname_idx", sa.String(length=32), nullable=True),
        sa.Column("address_idx", sa.String(length=32), nullable=True),
        sa.Column("content_idx", sa.String(length=32), nullable=True),
        sa.Column("session_idx", sa.String(length=32), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_records")),
    )
    for column in ("at", "key_id", "nickname_idx", "address_idx", "content_idx", "session_idx"):
        op.create_index(f"ix_traffic_records_{column}", "traffic_records", [column])

    op.create_table(
        "key_checks",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_key_checks")),
    )

    op.create_table(
        "judicial_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=400), nullable=False),
        sa.Column("deadline", sa.Double(), nullable=True),
        sa.Column("registered_at", sa.Double(), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_scope", sa.LargeBinary(), nullable=True),
        sa.Column("exported_at", sa.Double(), nullable=True),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.Column("delivery_note", sa.String(length=400), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judicial_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_judicial_requests_reference")),
    )

    op.create_table(
        "preservation_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_scope", sa.LargeBinary(), nullable=True),
        sa.Column("released_at", sa.Double(), nullable=True),
        sa.Column("released_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preservation_orders")),
    )
    op.create_index("ix_preservation_orders_released_at", "preservation_orders", ["released_at"])

    op.create_table(
        "evidence_records",
        sa.Column("seq", _ID, autoincrement=False, nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("nickname_idx", sa.String(length=32), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_evidence_records")),
        sa.UniqueConstraint("hash", name=op.f("uq_evidence_records_hash")),
    )
    for column in ("reference", "subject", "nickname_idx"):
        op.create_index(f"ix_evidence_records_{column}", "evidence_records", [column])

    op.create_table(
        "audit_log",
        sa.Column("seq", _ID, autoincrement=False, nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "audit_log",
        "evidence_records",
        "preservation_orders",
        "judicial_requests",
        "key_checks",
        "traffic_records",
    ):
        op.drop_table(table)
