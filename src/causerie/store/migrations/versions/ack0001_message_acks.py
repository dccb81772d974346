"""honest acks: messages pending until acknowledged; one acknowledged message per request id

Revision ID: ack0001
Revises: 0004
Create Date: 2026-12-02 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ack0001"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        # Rows written before this revision were all acknowledged: they stay visible.
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("request_key", sa.String(length=120), nullable=True))
    op.create_index(
        "ux_messages_request_key",
        "messages",
        ["request_key"],
        unique=True,
        sqlite_where=sa.text("NOT pending"),
        postgresql_where=sa.text("NOT pending"),
    )


def downgrade() -> None:
    op.drop_index("ux_messages_request_key", table_name="messages")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("request_key")
        batch_op.drop_column("pending")
