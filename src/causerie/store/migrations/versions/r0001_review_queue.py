"""one review queue: items, jobs, history and events replace the escalation tables

The safety pipeline's ``safety_escalations`` and the minors fence's ``trust_escalations``,
``trust_incidents`` and ``trust_preserved_messages`` are moved into ``review_items``,
``review_jobs``, ``review_history`` and ``review_events``, then dropped. Every escalation is
carried over (open ones as open jobs, closed ones as decided jobs with their status as the
action) with its preserved history; every incident becomes an event of its conversation, joined
to its escalation's item; ``trust_conversations.escalation_id`` is renumbered to the new job ids.

Revision ID: r0001
Revises: s0001, t0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = ("s0001", "t0001")
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The values the CHECK constraints admit, as they were when this revision was written.
ITEM_KINDS = (
    "message",
    "private",
    "nickname",
    "room_name",
    "topic",
    "photo",
    "person",
    "conversation",
)
BANDS = ("13-14", "15-17", "18+")
QUEUES = ("child_safety", "violence", "general", "appeals")
STATUSES = ("open", "claimed", "decided")
SOURCES = (
    "rules",
    "model",
    "fence",
    "hold",
    "freeze",
    "age_claim",
    "report",
    "notice",
    "appeal",
    "hash_match",
    "nudity",
    "moderator",
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
)
AGE_KINDS = ("age_inconsistency", "under_13_claim")


def _one_of(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    check = f"{column} IN ({', '.join(repr(v) for v in values)})"
    return f"{column} IS NULL OR {check}" if nullable else check


def _create_review_tables() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=240), nullable=False),
        sa.Column("content_id", sa.String(length=40), nullable=True),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_key", sa.String(length=240), nullable=True),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("author_nickname", sa.String(length=40), nullable=False),
        sa.Column("author_session", sa.String(length=40), nullable=True),
        sa.Column("author_band", sa.String(length=8), nullable=True),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("recipient_key", sa.String(length=80), nullable=True),
        sa.Column("place", sa.String(length=80), nullable=True),
        sa.Column("signals", sa.String(length=400), server_default="", nullable=False),
        sa.Column("evidence_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.CheckConstraint(_one_of("kind", ITEM_KINDS), name=op.f("ck_review_items_kind")),
        sa.CheckConstraint(
            _one_of("author_band", BANDS, nullable=True), name=op.f("ck_review_items_band")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    for column in ("key", "content_id", "decision_id", "conversation_key", "author_key"):
        op.create_index(op.f(f"ix_review_items_{column}"), "review_items", [column])

    op.create_table(
        "review_jobs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("signals", sa.Integer(), server_default="1", nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("open_key", sa.String(length=240), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claim_expires_at", sa.Double(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.Double(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(_one_of("queue", QUEUES), name=op.f("ck_review_jobs_queue")),
        sa.CheckConstraint(_one_of("status", STATUSES), name=op.f("ck_review_jobs_status")),
        sa.CheckConstraint(_one_of("source", SOURCES), name=op.f("ck_review_jobs_source")),
        sa.CheckConstraint(
            _one_of("category", CATEGORIES, nullable=True), name=op.f("ck_review_jobs_category")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_jobs_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_jobs")),
        sa.UniqueConstraint("open_key", name=op.f("uq_review_jobs_open_key")),
    )
    op.create_index(op.f("ix_review_jobs_item_id"), "review_jobs", ["item_id"])
    op.create_index(
        "ix_review_jobs_queue", "review_jobs", ["status", "queue", "priority", "created_at"]
    )

    op.create_table(
        "review_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=True),
        sa.Column("room_id", sa.String(length=80), nullable=True),
        sa.Column("sender_nickname", sa.String(length=40), nullable=False),
        sa.Column("recipient_nickname", sa.String(length=40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_history_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_history")),
    )
    op.create_index(op.f("ix_review_history_item_id"), "review_history", ["item_id"])

    op.create_table(
        "review_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", _ID, nullable=True),
        sa.Column("conversation_key", sa.String(length=240), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("signals", sa.String(length=400), server_default="", nullable=False),
        sa.Column("author_session", sa.String(length=40), nullable=False),
        sa.Column("author_nickname", sa.String(length=40), nullable=False),
        sa.Column("author_key", sa.String(length=80), nullable=False),
        sa.Column("author_band", sa.String(length=8), nullable=False),
        sa.Column("place", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_events_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    for column in ("item_id", "conversation_key", "author_key", "created_at"):
        op.create_index(op.f(f"ix_review_events_{column}"), "review_events", [column])


def _view(name: str, columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns.split()))


# Lightweight views of the tables, for the copy (a migration never imports the application's).
_items = _view(
    "review_items",
    "id kind key content_id decision_id conversation_key text author_key author_nickname"
    " author_session author_band room_id recipient_key place signals evidence_ref created_at",
)
_jobs = _view(
    "review_jobs",
    "id item_id queue priority status kind reason source category signals score open_key"
    " created_at updated_at decided_at action",
)
_history = _view(
    "review_history",
    "item_id message_id room_id sender_nickname recipient_nickname text created_at",
)
_events = _view(
    "review_events",
    "item_id conversation_key kind action signals author_session author_nickname author_key"
    " author_band place text created_at",
)


class _Copy:
    """Inserts items and jobs, keeping at most one undecided job per item key."""

    def __init__(self, bind: sa.Connection) -> None:
        self.bind = bind
        self.open_keys: set[str] = set()

    def item(self, **values: Any) -> int:
        if values.get("author_band") not in BANDS:
            values["author_band"] = None
        if values.get("kind") not in ITEM_KINDS:
            values["kind"] = "message"
        result = self.bind.execute(sa.insert(_items).values(**values).returning(_items.c.id))
        return int(result.scalar_one())

    def job(self, *, key: str, status: str, at: float, updated_at: float, **values: Any) -> int:
        undecided = status in ("open", "claimed")
        if values.get("category") not in CATEGORIES:
            values["category"] = None
        values.update(
            status="open" if undecided else "decided",
            action=None if undecided else status[:32],
            decided_at=None if undecided else updated_at,
            open_key=key if undecided and key not in self.open_keys else None,
            created_at=at,
            updated_at=updated_at,
        )
        if undecided:
            self.open_keys.add(key)
        result = self.bind.execute(sa.insert(_jobs).values(**values).returning(_jobs.c.id))
        return int(result.scalar_one())


def _queue(category: str | None) -> str:
    if category == "child_safety":
        return "child_safety"
    if category == "violence":
        return "violence"
    return "general"


def _copy_safety(copy: _Copy) -> None:
    rows = copy.bind.execute(
        sa.text(
            "SELECT e.id, e.decision_id, e.created_at, e.reason, e.category, e.priority,"
            " e.subject_kind, e.author_key, e.author_nickname, e.room_id, e.recipient_key,"
            " e.text, e.status, d.content_id, d.rules"
            " FROM safety_escalations e LEFT JOIN safety_decisions d ON d.id = e.decision_id"
            " ORDER BY e.id"
        )
    ).all()
    for r in rows:
        key = f"decision:{r.decision_id}"
        item_id = copy.item(
            kind=r.subject_kind,
            key=key,
            content_id=r.content_id,
            decision_id=r.decision_id,
            text=r.text,
            author_key=r.author_key,
            author_nickname=r.author_nickname,
            room_id=r.room_id,
            recipient_key=r.recipient_key,
            signals="",
            created_at=r.created_at,
        )
        if r.reason == "hold":
            source = "hold"
        else:
            source = "rules" if r.rules is None or json.loads(r.rules) else "model"
        label = "held for review" if r.reason == "hold" else "escalated"
        copy.job(
            key=key,
            status=r.status,
            at=r.created_at,
            updated_at=r.created_at,
            item_id=item_id,
            queue=_queue(r.category),
            priority=r.priority,
            kind=r.reason,
            reason=f"{label}: {r.category or 'uncategorised'}",
            source=source,
            category=r.category,
            signals=1,
            score=None,
        )


def _copy_trust(copy: _Copy) -> None:
    bind = copy.bind
    frozen = {
        r.escalation_id
        for r in bind.execute(
            sa.text(
                "SELECT escalation_id FROM trust_conversations"
                " WHERE escalation_id IS NOT NULL AND frozen_at IS NOT NULL"
            )
        )
    }
    triggers: dict[int, str] = {}
    counts: dict[int, int] = {}
    for r in bind.execute(
        sa.text(
            "SELECT i.escalation_id, i.text, i.created_at = e.created_at AS triggering"
            " FROM trust_incidents i JOIN trust_escalations e ON e.id = i.escalation_id"
            " ORDER BY i.id"
        )
    ):
        counts[r.escalation_id] = counts.get(r.escalation_id, 0) + 1
        if r.triggering and r.escalation_id not in triggers:
            triggers[r.escalation_id] = r.text
    items: dict[int, int] = {}
    jobs: dict[int, int] = {}
    for r in bind.execute(sa.text("SELECT * FROM trust_escalations ORDER BY id")).all():
        key = r.conversation_key
        items[r.id] = copy.item(
            kind="person" if key.startswith("person:") else "conversation",
            key=key,
            conversation_key=key,
            text=triggers.get(r.id, ""),
            author_key=r.offender_key,
            author_nickname=r.offender_nickname,
            author_session=r.offender_session,
            author_band=r.offender_band,
            place=r.target,
            signals=r.signals,
            evidence_ref=r.evidence_ref,
            created_at=r.created_at,
        )
        frozen_or_fence = "freeze" if r.id in frozen else "fence"
        source = "age_claim" if r.kind in AGE_KINDS else frozen_or_fence
        jobs[r.id] = copy.job(
            key=key,
            status=r.status,
            at=r.created_at,
            updated_at=r.updated_at,
            item_id=items[r.id],
            queue="child_safety",
            priority=0,
            kind=r.kind,
            reason=r.reason,
            source=source,
            category="child_safety",
            signals=max(counts.get(r.id, 0), 1),
            score=r.score,
        )
    preserved = bind.execute(
        sa.text(
            "SELECT escalation_id, message_id, room_id, sender_nickname, recipient_nickname,"
            " text, created_at FROM trust_preserved_messages ORDER BY id"
        )
    ).all()
    history = [
        {
            "item_id": items[r.escalation_id],
            "message_id": r.message_id,
            "room_id": r.room_id,
            "sender_nickname": r.sender_nickname,
            "recipient_nickname": r.recipient_nickname,
            "text": r.text,
            "created_at": r.created_at,
        }
        for r in preserved
        if r.escalation_id in items
    ]
    if history:
        bind.execute(sa.insert(_history), history)
    incidents = bind.execute(sa.text("SELECT * FROM trust_incidents ORDER BY id")).all()
    events = [
        {
            "item_id": items.get(r.escalation_id) if r.escalation_id is not None else None,
            "conversation_key": r.conversation_key,
            "kind": r.kind,
            "action": r.action,
            "signals": r.signals,
            "author_session": r.offender_session,
            "author_nickname": r.offender_nickname,
            "author_key": r.offender_key,
            "author_band": r.offender_band,
            "place": r.target,
            "text": r.text,
            "created_at": r.created_at,
        }
        for r in incidents
    ]
    if events:
        bind.execute(sa.insert(_events), events)
    # The conversations point at the new job ids; one row at a time, by key, so that an old id
    # and a new one can never be mistaken for each other.
    for r in bind.execute(
        sa.text(
            "SELECT key, escalation_id FROM trust_conversations WHERE escalation_id IS NOT NULL"
        )
    ).all():
        bind.execute(
            sa.text("UPDATE trust_conversations SET escalation_id = :job WHERE key = :key"),
            {"job": jobs.get(r.escalation_id), "key": r.key},
        )


def upgrade() -> None:
    _create_review_tables()
    copy = _Copy(op.get_bind())
    _copy_safety(copy)
    _copy_trust(copy)
    op.drop_table("trust_preserved_messages")
    op.drop_table("trust_incidents")
    op.drop_table("trust_escalations")
    op.drop_table("safety_escalations")


def downgrade() -> None:
    """The old tables come back empty: the review queue's rows are not copied back."""
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
    op.create_index(
        op.f("ix_safety_escalations_decision_id"), "safety_escalations", ["decision_id"]
    )
    op.create_index(
        "ix_safety_escalations_queue", "safety_escalations", ["status", "priority", "created_at"]
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
    for column in ("conversation_key", "offender_key"):
        op.create_index(op.f(f"ix_trust_escalations_{column}"), "trust_escalations", [column])
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
        op.create_index(op.f(f"ix_trust_incidents_{column}"), "trust_incidents", [column])
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
    )
    # The conversations' job ids mean nothing to the old tables.
    op.execute("UPDATE trust_conversations SET escalation_id = NULL")
    op.drop_table("review_events")
    op.drop_table("review_history")
    op.drop_table("review_jobs")
    op.drop_table("review_items")
