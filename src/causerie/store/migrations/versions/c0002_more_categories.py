"""review, statements: the policy's new categories (hate, non_consent, ambush, scam, doxxing)

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

# The values the CHECK constraints admit before and after this revision.
OLD = (
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
)
NEW = (*OLD, "hate", "non_consent", "ambush", "scam", "doxxing")


def _one_of(values: tuple[str, ...], *, nullable: bool) -> str:
    check = f"category IN ({', '.join(repr(v) for v in values)})"
    return f"category IS NULL OR {check}" if nullable else check


def _admit(values: tuple[str, ...]) -> None:
    for table, extra, nullable in (
        ("review_jobs", (), True),
        ("statements", ("other",), False),
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_category"), type_="check")
            batch.create_check_constraint(
                op.f(f"ck_{table}_category"), _one_of((*values, *extra), nullable=nullable)
            )


def upgrade() -> None:
    _admit(NEW)


def downgrade() -> None:
    _admit(OLD)
