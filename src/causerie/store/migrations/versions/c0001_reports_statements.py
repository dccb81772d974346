"""reports, reporters, public notices and statements of reasons; review jobs from notices and
appeals

Creates ``reports`` (one chatter's report of one item, with the author's record frozen),
``reporters`` (the trusted-flagger flag), ``report_notices`` (the public ``/report`` form) and
``statements`` (EU DSA Art. 17 statements and their Art. 20 appeals). Review jobs from notices
and appeals need no change: r0001 admits the sources ``notice`` and ``appeal``.

Revision ID: c0001
Revises: r0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = "r0001"
branch_labels = ("reports",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The values the CHECK constraints admit, as they were when this revision was written.
DECISIONS = (
    "removed",
    "warned",
    "muted",
    "kicked",
    "suspended",
    "banned",
    "blocked",
    "report_outcome",
    "appeal_outcome",
)
CATEGORIES = (
    "child_safety",
    "sexual",
    "solicitation",
    "drugs",
    "weapons",
    "violence",
    "harassment",
    "personal_data",
    "off_platform",
    "spam",
    "other",
)
GROUNDS = ("illegal", "incompatible")
CONTENT_TYPES = ("text", "image", "account")
APPEAL_STATUSES = ("none", "pending", "upheld", "reversed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter_key", sa.String(length=80), nullable=False),
        sa.Column("reporter_session", sa.String(length=40), nullable=False),
        sa.Column("reporter_nickname", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), server_default="", nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("author_record", sa.Text(), server_default="{}", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reporter_key", "target", name="uq_reports_reporter_target"),
    )
    op.create_index(op.f("ix_reports_job_id"), "reports", ["job_id"])
    op.create_index("ix_reports_reporter_created", "reports", ["reporter_key", "created_at"])
    op.create_table(
        "reporters",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reporters")),
    )
    op.create_table(
        "report_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("email", sa.String(length=200), server_default="", nullable=False),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_notices")),
    )
    op.create_index(op.f("ix_report_notices_job_id"), "report_notices", ["job_id"])
    op.create_table(
        "statements",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subject_key", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("ground", sa.String(length=16), nullable=False),
        sa.Column("ground_text", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("automated_decision", sa.Boolean(), nullable=False),
        sa.Column("content_ref", sa.String(length=80), nullable=True),
        sa.Column("content_date", sa.Double(), nullable=True),
        sa.Column("application_date", sa.Double(), nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("restriction_until", sa.Double(), nullable=True),
        sa.Column("appeal_status", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("appeal_text", sa.Text(), server_default="", nullable=False),
        sa.Column("appealed_at", sa.Double(), nullable=True),
        sa.Column("appeal_decided_by", sa.String(length=80), nullable=True),
        sa.Column("appeal_decided_at", sa.Double(), nullable=True),
        sa.CheckConstraint(_one_of("decision", DECISIONS), name=op.f("ck_statements_decision")),
        sa.CheckConstraint(_one_of("category", CATEGORIES), name=op.f("ck_statements_category")),
        sa.CheckConstraint(_one_of("ground", GROUNDS), name=op.f("ck_statements_ground")),
        sa.CheckConstraint(
            _one_of("content_type", CONTENT_TYPES), name=op.f("ck_statements_content_type")
        ),
        sa.CheckConstraint(
            _one_of("appeal_status", APPEAL_STATUSES), name=op.f("ck_statements_appeal_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    op.create_index(op.f("ix_statements_subject_key"), "statements", ["subject_key"])
    op.create_index(op.f("ix_statements_job_id"), "statements", ["job_id"])
    op.create_index("ix_statements_application", "statements", ["application_date", "id"])
    op.create_index("ix_statements_appeal", "statements", ["appeal_status", "appealed_at"])


def downgrade() -> None:
    op.drop_table("statements")
    op.drop_table("report_notices")
    op.drop_table("reporters")
    op.drop_table("reports")
