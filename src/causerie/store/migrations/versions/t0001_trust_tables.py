"""protection of minors: remembered ages, used age tokens, conversation risk, escalations

Revision ID: t0001
Revises: 0001
Create Date: 2026-11-23 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = "0001"
branch_labels = ("trust",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trust_band_memory",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_trust_band_memory")),
    )
    op.create_index(
        op.f("ix_trust_band_memory_expires_at"), "trust_band_memory", ["expires_at"], unique=False
    )
    op.create_table(
        "trust_used_age_tokens",
        sa.Column("replay_key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("replay_key", name=op.f("pk_trust_used_age_tokens")),
    )
    op.create_index(
        op.f("ix_trust_used_age_tokens_expires_at"),
        "trust_used_age_tokens",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "trust_conversations",
        sa.Column("key", sa.String(length=240), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("frozen_at", sa.Double(), nullable=True),
        sa.Column("escalation_id", _ID, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_trust_conversations")),
    )
    op.create_table(
        "trust_escalations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("conversation_key", sa.String(length=240), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("offender_session", sa.String(length=40), nullable=False),
        sa.Column("offender_nickname", sa.String(length=40), nullable=False),
        sa.Column("offender_key", sa.String(length=80), nullable=False),
        sa.Column("offender_band", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("signals", sa.String(length=400), server_default="", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("evidence_ref", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_escalations")),
    )
    op.create_index(
        op.f("ix_trust_escalations_conversation_key"),
        "trust_escalations",
        ["conversation_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trust_escalations_offender_key"),
        "trust_escalations",
        ["offender_key"],
        unique=False,
    )
    op.create_table(
        "trust_incidents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("escalation_id", _ID, nullable=True),
        sa.Column("conversation_key", sa.String(length=240), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("signals", sa.String(length=400), server_default="", nullable=False),
        sa.Column("offender_session", sa.String(length=40), nullable=False),
        sa.Column("offender_nickname", sa.String(length=40), nullable=False),
        sa.Column("offender_key", sa.String(length=80), nullable=False),
        sa.Column("offender_band", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_incidents")),
    )
    for column in ("escalation_id", "conversation_key", "created_at"):
        op.create_index(
            op.f(f"ix_trust_incidents_{column}"), "trust_incidents", [column], unique=False
        )
    op.create_table(
        "trust_preserved_messages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("escalation_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("sender_nickname", sa.String(length=40), nullable=False),
        sa.Column("recipient_nickname", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_preserved_messages")),
    )
    op.create_index(
        op.f("ix_trust_preserved_messages_escalation_id"),
        "trust_preserved_messages",
        ["escalation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("trust_preserved_messages")
    op.drop_table("trust_incidents")
    op.drop_table("trust_escalations")
    op.drop_table("trust_conversations")
    op.drop_table("trust_used_age_tokens")
    op.drop_table("trust_band_memory")
