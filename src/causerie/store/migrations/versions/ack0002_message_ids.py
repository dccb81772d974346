"""message ids reserved in blocks: a message has its id before its row is written

Revision ID: ack0002
Revises: ack0001
Create Date: 2026-12-03 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ack0002"
down_revision = "ack0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_ids",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_message_ids")),
    )
    # Past every id already used, so that no reserved id meets an existing row.
    op.execute(
        "INSERT INTO message_ids (name, next_id) "
        "SELECT 'messages', COALESCE(MAX(id), 0) + 1 FROM messages"
    )


def downgrade() -> None:
    op.drop_table("message_ids")
