"""bans: a ban holds the device token and (when chosen) the address; entry keys per session

Revision ID: b0001
Revises: s0001
Create Date: 2026-12-02 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = "s0001"
branch_labels = ("bans",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("safety_sanctions") as batch:
        batch.add_column(sa.Column("device_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("address_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("address_ends_at", sa.Double(), nullable=True))
    op.create_index("ix_safety_sanctions_device_key", "safety_sanctions", ["device_key"])
    op.create_index("ix_safety_sanctions_address_key", "safety_sanctions", ["address_key"])
    op.create_table(
        "safety_entry_keys",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("nickname_key", sa.String(length=80), nullable=False),
        sa.Column("device_key", sa.String(length=64), nullable=True),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("entered_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_safety_entry_keys"),
    )
    op.create_index("ix_safety_entry_keys_expires_at", "safety_entry_keys", ["expires_at"])
    op.create_index(
        "ix_safety_entry_keys_nickname", "safety_entry_keys", ["nickname_key", "entered_at"]
    )


def downgrade() -> None:
    op.drop_table("safety_entry_keys")
    op.drop_index("ix_safety_sanctions_address_key", "safety_sanctions")
    op.drop_index("ix_safety_sanctions_device_key", "safety_sanctions")
    with op.batch_alter_table("safety_sanctions") as batch:
        batch.drop_column("address_ends_at")
        batch.drop_column("address_key")
        batch.drop_column("device_key")
