"""photo tables: imported hash lists and photo metadata

Revision ID: p0001
Revises: 0001
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = "0001"
branch_labels = ("photos",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "photo_hashes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("list_name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=400), server_default="", nullable=False),
        sa.Column("added_at", sa.Double(), nullable=False),
        sa.CheckConstraint("kind IN ('pdq', 'md5', 'sha256')", name="ck_photo_hashes_kind"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_hashes")),
        sa.UniqueConstraint("list_name", "kind", "value", name="uq_photo_hashes_list_kind_value"),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_session", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("recipient_key", sa.String(length=80), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=80), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("nsfw_score", sa.Double(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            "(room_id IS NULL) <> (recipient_key IS NULL)", name="ck_photos_room_or_recipient"
        ),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/webp')", name="ck_photos_content_type"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photos_owner_session"), ["owner_session"])
        batch_op.create_index(batch_op.f("ix_photos_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photos_expires_at"))
        batch_op.drop_index(batch_op.f("ix_photos_owner_session"))
    op.drop_table("photos")
    op.drop_table("photo_hashes")
