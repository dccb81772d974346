"""Statements of reasons (EU DSA Art. 17) and the appeals against them (Art. 20).

Every restriction, automated or human, produces one :class:`Statement` addressed to the chatter
it concerns (``subject_key``, their nickname key); the outcome of a report or of an appeal is a
statement too. Its ``id`` is the DSA "platform unique identifier" (puid) the transparency export
carries. The statement says what was decided, on which ground, whether a machine detected it or
decided it, and until when it can be appealed: six months (:data:`APPEAL_SECONDS`).

An appeal is a second look by a person: :meth:`StatementStore.appeal` marks the statement
pending and, in the same transaction, puts a job in the ``appeals`` queue of the one review
queue (source ``appeal``, item key ``appeal:<puid>``). :meth:`StatementStore.decide_appeal`
refuses a reviewer who took the first decision. This module is the only one that writes SQL about
the ``statements`` table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.domain import Category, ReviewQueue
from causerie.store.review import ItemKind, NewItem, NewJob, ReviewStore, Source, priority_of
from causerie.store.schema import metadata

# Art. 20(1): "for a period of at least six months following the decision". 183 days covers
# every six-month span of the calendar.
APPEAL_SECONDS = 183 * 24 * 3600

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
# An appeal's outcome closes the internal complaint-handling system: it is not appealed again
# (out-of-court settlement, Art. 21, is the next step).
NOT_APPEALABLE = frozenset({"appeal_outcome"})
GROUNDS = ("illegal", "incompatible")
CONTENT_TYPES = ("text", "image", "account")
APPEAL_STATUSES = ("none", "pending", "upheld", "reversed")
APPEAL_OUTCOMES = ("upheld", "reversed")
CATEGORIES = (*(c.value for c in Category), "other")

_ID = BigInteger().with_variant(Integer, "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


statements = Table(
    "statements",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject_key", String(80), nullable=False, index=True),
    Column("decision", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("ground", String(16), nullable=False),
    Column("ground_text", Text, nullable=False),
    Column("facts", Text, nullable=False),
    Column("content_type", String(16), nullable=False),
    Column("automated_detection", Boolean, nullable=False),
    Column("automated_decision", Boolean, nullable=False),
    Column("content_ref", String(80), nullable=True),
    Column("content_date", Double, nullable=True),
    Column("application_date", Double, nullable=False),
    Column("job_id", _ID, nullable=True, index=True),
    Column("decision_id", String(32), nullable=True),
    Column("decided_by", String(80), nullable=True),
    Column("restriction_until", Double, nullable=True),
    Column("appeal_status", String(16), nullable=False, server_default="none"),
    Column("appeal_text", Text, nullable=False, server_default=""),
    Column("appealed_at", Double, nullable=True),
    Column("appeal_decided_by", String(80), nullable=True),
    Column("appeal_decided_at", Double, nullable=True),
    # The DSA export reads in (application_date, id) order, in batches.
    Index("ix_statements_application", "application_date", "id"),
    Index("ix_statements_appeal", "appeal_status", "appealed_at"),
    CheckConstraint(_one_of("decision", DECISIONS), name="decision"),
    CheckConstraint(_one_of("category", CATEGORIES), name="category"),
    CheckConstraint(_one_of("ground", GROUNDS), name="ground"),
    CheckConstraint(_one_of("content_type", CONTENT_TYPES), name="content_type"),
    CheckConstraint(_one_of("appeal_status", APPEAL_STATUSES), name="appeal_status"),
)


class StatementError(Exception):
    """A refused appeal or appeal decision; ``code`` says why.

    ``not_found``, ``not_yours``, ``appeal_closed``, ``already_appealed``, ``not_appealable``,
    ``not_pending``, ``invalid_outcome``, ``same_reviewer``.
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Statement:
    id: str  # the DSA "puid": a uuid4 hex
    subject_key: str  # nickname key of the chatter concerned (or the reporter, for an outcome)
    decision: str  # one of DECISIONS
    category: str  # a Category value or "other"
    ground: str  # "illegal" or "incompatible" (terms of service)
    ground_text: str  # the rule or law, in words
    facts: str  # what happened, in words, no personal data of others
    content_type: str  # "text" | "image" | "account"
    automated_detection: bool
    automated_decision: bool
    content_ref: str | None  # "message:42"
    content_date: float | None
    application_date: float
    job_id: int | None
    decision_id: str | None
    decided_by: str | None  # staff name, None when automated
    restriction_until: float | None
    appeal_status: str  # none | pending | upheld | reversed
    appeal_text: str
    appealed_at: float | None
    appeal_decided_by: str | None
    appeal_decided_at: float | None

    @property
    def appealable(self) -> bool:
        return self.decision not in NOT_APPEALABLE

    @property
    def appeal_until(self) -> float | None:
        """The last moment an appeal is received; None when it cannot be appealed."""
        return self.application_date + APPEAL_SECONDS if self.appealable else None


_DEFAULTS: dict[str, Any] = {
    "automated_detection": False,
    "automated_decision": False,
    "content_ref": None,
    "content_date": None,
    "job_id": None,
    "decision_id": None,
    "decided_by": None,
    "restriction_until": None,
    "appeal_status": "none",
    "appeal_text": "",
    "appealed_at": None,
    "appeal_decided_by": None,
    "appeal_decided_at": None,
}
_FIELDS = tuple(f.name for f in fields(Statement))


def new_statement(**values: Any) -> Statement:
    """A statement with a fresh puid and the defaults (not automated, no appeal, no job).

    ``subject_key``, ``decision``, ``category``, ``ground``, ``ground_text``, ``facts``,
    ``content_type`` and ``application_date`` are required; values outside the lists above raise
    ``ValueError`` (the table's CHECK constraints would refuse them later anyway).
    """
    unknown = set(values) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown statement fields: {', '.join(sorted(unknown))}")
    merged = {"id": uuid.uuid4().hex, **_DEFAULTS, **values}
    missing = [name for name in _FIELDS if name not in merged]
    if missing:
        raise ValueError(f"a statement needs {', '.join(missing)}")
    for name, allowed in (
        ("decision", DECISIONS),
        ("category", CATEGORIES),
        ("ground", GROUNDS),
        ("content_type", CONTENT_TYPES),
        ("appeal_status", APPEAL_STATUSES),
    ):
        if merged[name] not in allowed:
            raise ValueError(f"{name} {merged[name]!r} is not one of {', '.join(allowed)}")
    return Statement(**merged)


def _statement(m: RowMapping) -> Statement:
    values = {name: m[name] for name in _FIELDS}
    values["automated_detection"] = bool(values["automated_detection"])
    values["automated_decision"] = bool(values["automated_decision"])
    if values["job_id"] is not None:
        values["job_id"] = int(values["job_id"])
    return Statement(**values)


def _appeal_item(statement: Statement, text: str) -> NewItem:
    """The appeal as a review item: the statement it contests, the chatter's words."""
    ref = statement.content_ref or ""
    kind, _, ident = ref.partition(":")
    content_id = f"m{ident}" if kind in ("message", "private") and ident else None
    item_kind = ItemKind.PERSON
    if content_id is not None:
        item_kind = ItemKind.PRIVATE if kind == "private" else ItemKind.MESSAGE
    return NewItem(
        kind=item_kind,
        key=f"appeal:{statement.id}",
        author_key=statement.subject_key,
        # Statements keep no nickname: the key names the chatter.
        author_nickname=statement.subject_key[:40],
        text=text,
        content_id=content_id,
        decision_id=statement.decision_id,
        place=f"statement:{statement.id}",
        signals=("appeal", f"decision.{statement.decision}"),
    )


def _category(value: str) -> Category | None:
    try:
        return Category(value)
    except ValueError:
        return None


class StatementStore:
    """The statements' repository; appeals enqueue their review job in the same transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.review = ReviewStore(engine)

    async def issue(self, statement: Statement) -> Statement:
        """Keep a statement (built with :func:`new_statement`) and return it."""
        row = {name: getattr(statement, name) for name in _FIELDS}
        async with self.engine.begin() as conn:
            await conn.execute(insert(statements).values(**row))
        return statement

    async def get(self, statement_id: str) -> Statement | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(statements).where(statements.c.id == statement_id))
            ).first()
        return _statement(row._mapping) if row is not None else None

    async def for_subject(self, subject_key: str, limit: int = 50) -> list[Statement]:
        """The statements that concern a chatter, newest first."""
        query = (
            select(statements)
            .where(statements.c.subject_key == subject_key)
            .order_by(statements.c.application_date.desc(), statements.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_statement(r._mapping) for r in await conn.execute(query)]

    async def appeal(self, statement_id: str, subject_key: str, text: str, now: float) -> Statement:
        """Contest a statement: pending from now on, with a job in the ``appeals`` queue.

        Only the chatter it concerns can, once, within :data:`APPEAL_SECONDS` of the decision.
        One conditional UPDATE: of two appeals sent at once, one wins, the other is refused.
        """
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(select(statements).where(statements.c.id == statement_id))
            ).first()
            if row is None:
                raise StatementError("not_found", f"there is no statement {statement_id!r}")
            statement = _statement(row._mapping)
            if statement.subject_key != subject_key:
                raise StatementError("not_yours", "this statement concerns someone else")
            if not statement.appealable:
                raise StatementError("not_appealable", "an appeal's outcome is final here")
            if statement.appeal_status != "none":
                raise StatementError("already_appealed", "this decision was appealed already")
            if now > statement.application_date + APPEAL_SECONDS:
                raise StatementError("appeal_closed", "the six months to appeal are over")
            result = await conn.execute(
                update(statements)
                .where(statements.c.id == statement_id, statements.c.appeal_status == "none")
                .values(appeal_status="pending", appeal_text=text, appealed_at=now)
            )
            if (result.rowcount or 0) != 1:
                raise StatementError("already_appealed", "this decision was appealed already")
            category = _category(statement.category)
            await self.review.enqueue(
                _appeal_item(statement, text),
                NewJob(
                    queue=ReviewQueue.APPEALS,
                    priority=priority_of(category),
                    source=Source.APPEAL,
                    kind="appeal",
                    reason=f"appeal of {statement.decision} ({statement.category}): {text}",
                    category=category,
                ),
                now=now,
                conn=conn,
            )
        return replace(statement, appeal_status="pending", appeal_text=text, appealed_at=now)

    async def decide_appeal(
        self, statement_id: str, reviewer: str, outcome: str, now: float
    ) -> Statement:
        """Close a pending appeal: ``upheld`` (the decision stands) or ``reversed``.

        The reviewer must not be the one who took the first decision (Art. 20(6): not solely
        automated, and a fresh look). The caller issues the outcome's own statement.
        """
        if outcome not in APPEAL_OUTCOMES:
            raise StatementError("invalid_outcome", f"an outcome is one of {APPEAL_OUTCOMES}")
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(select(statements).where(statements.c.id == statement_id))
            ).first()
            if row is None:
                raise StatementError("not_found", f"there is no statement {statement_id!r}")
            statement = _statement(row._mapping)
            if statement.decided_by is not None and statement.decided_by == reviewer:
                raise StatementError("same_reviewer", "another staff member decides this appeal")
            result = await conn.execute(
                update(statements)
                .where(statements.c.id == statement_id, statements.c.appeal_status == "pending")
                .values(appeal_status=outcome, appeal_decided_by=reviewer, appeal_decided_at=now)
            )
            if (result.rowcount or 0) != 1:
                raise StatementError("not_pending", "this statement has no pending appeal")
        return replace(
            statement, appeal_status=outcome, appeal_decided_by=reviewer, appeal_decided_at=now
        )

    async def pending_appeals(self, limit: int = 100) -> list[Statement]:
        """Appeals waiting for a decision, oldest first."""
        query = (
            select(statements)
            .where(statements.c.appeal_status == "pending")
            .order_by(statements.c.appealed_at, statements.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_statement(r._mapping) for r in await conn.execute(query)]

    async def since(
        self, since: float, *, limit: int = 100, after_id: str | None = None
    ) -> list[Statement]:
        """Statements applied at or after ``since`` in (application_date, id) order, for the
        DSA export; pass the last id of a batch as ``after_id`` to read the next one."""
        t = statements
        query = select(t).where(t.c.application_date >= since)
        if after_id is not None:
            after = select(t.c.application_date).where(t.c.id == after_id).scalar_subquery()
            query = query.where(
                or_(
                    t.c.application_date > after,
                    and_(t.c.application_date == after, t.c.id > after_id),
                )
            )
        query = query.order_by(t.c.application_date, t.c.id).limit(limit)
        async with self.engine.connect() as conn:
            return [_statement(r._mapping) for r in await conn.execute(query)]


__all__ = [
    "APPEAL_SECONDS",
    "Statement",
    "StatementError",
    "StatementStore",
    "new_statement",
    "statements",
]
