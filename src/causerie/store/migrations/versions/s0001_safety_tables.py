"""safety tables: decisions, escalations, strikes, sanctions

Revision ID: s0001
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = "0001"
branch_labels = ("safety",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "safety_decisions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("content_id", sa.String(length=40), nullable=True),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("recipient_key", sa.String(length=80), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("escalated", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("scores", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("stages", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("elapsed_ms", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_decisions")),
    )
    with op.batch_alter_table("safety_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_decisions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_safety_decisions_content_id"), ["content_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_safety_decisions_author_key"), ["author_key"], unique=False
        )

    op.create_table(
        "safety_escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("author_nickname", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("recipient_key", sa.String(length=80), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_escalations")),
    )
    with op.batch_alter_table("safety_escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_escalations_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            "ix_safety_escalations_queue", ["status", "priority", "created_at"], unique=False
        )

    op.create_table(
        "safety_strikes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("points", sa.Double(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_strikes")),
    )
    with op.batch_alter_table("safety_strikes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_safety_strikes_author", ["author_key", "created_at"], unique=False
        )

    op.create_table(
        "safety_sanctions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("starts_at", sa.Double(), nullable=False),
        sa.Column("ends_at", sa.Double(), nullable=True),
        sa.Column("lifted_at", sa.Double(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_sanctions")),
    )
    with op.batch_alter_table("safety_sanctions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_sanctions_author_key"), ["author_key"], unique=False
        )


def downgrade() -> None:
    op.drop_table("safety_sanctions")
    op.drop_table("safety_strikes")
    op.drop_table("safety_escalations")
    op.drop_table("safety_decisions")
