"""resume tokens; rooms' English names and topics

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch_op:
        batch_op.add_column(
            sa.Column("name_en", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("topic_en", sa.String(length=400), server_default="", nullable=False)
        )
    op.create_table(
        "resume_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("device_key", sa.String(length=64), nullable=False),
        sa.Column("nickname", sa.String(length=40), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=8), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("sessions", sa.Text(), nullable=False),
        sa.Column("rooms", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_resume_tokens")),
    )
    op.create_index(
        op.f("ix_resume_tokens_session_id"), "resume_tokens", ["session_id"], unique=False
    )
    op.create_index(
        op.f("ix_resume_tokens_expires_at"), "resume_tokens", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_resume_tokens_expires_at"), table_name="resume_tokens")
    op.drop_index(op.f("ix_resume_tokens_session_id"), table_name="resume_tokens")
    op.drop_table("resume_tokens")
    with op.batch_alter_table("rooms") as batch_op:
        batch_op.drop_column("topic_en")
        batch_op.drop_column("name_en")
