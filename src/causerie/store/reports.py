"""Reports from chatters and notices from the public form (EU DSA Art. 16), and reporters.

A *report* is one chatter's notice about one item (``message:42``, ``person:<key>``, ...); it
becomes a signal of a review job (:class:`~causerie.store.review.ReviewStore`), opened or
folded in the same transaction, so a report is never kept without its job. A reporter reports
an item once (a unique ``(reporter_key, target)``): the second time, the first report's id is
the answer. The author's recent decisions and strikes are frozen with each report
(``author_record``), so the moderator reads them as they were when the report came.

A *notice* comes from the public ``/report`` form, from someone who may not chat at all: where,
what and why, a category, an optional name and email (to tell them the outcome, Art. 16(5)).

*Reporters* carry the ``trusted`` flag the console sets for trusted flaggers (Art. 22), whose
reports rank higher.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from causerie.store.review import HistoryMessage, NewItem, NewJob, ReviewStore
from causerie.store.schema import messages, metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

reports = Table(
    "reports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reporter_key", String(80), nullable=False),
    Column("reporter_session", String(40), nullable=False),
    Column("reporter_nickname", String(40), nullable=False),
    # "message:42", "private:43", "person:<nickname key>", "room:<id>", "topic:<id>", "photo:<id>"
    Column("target", String(120), nullable=False),
    # A policy category or "other".
    Column("reason", String(32), nullable=False),
    Column("details", Text, nullable=False, server_default=""),
    Column("job_id", _ID, nullable=True, index=True),
    # The reported author's decisions and strikes when the report came (JSON).
    Column("author_record", Text, nullable=False, server_default="{}"),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("reporter_key", "target", name="uq_reports_reporter_target"),
    Index("ix_reports_reporter_created", "reporter_key", "created_at"),
)

reporters = Table(
    "reporters",
    metadata,
    Column("key", String(80), primary_key=True),
    # A trusted flagger (DSA Art. 22), set by staff in the console.
    Column("trusted", Boolean, nullable=False, server_default=false()),
)

report_notices = Table(
    "report_notices",
    metadata,
    Column("id", String(32), primary_key=True),
    # Where: a URL, a room, a nickname or a message id, as the notifier wrote it.
    Column("location", Text, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("category", String(32), nullable=False),
    # Optional, and explicitly so for child sexual abuse material (Art. 16(2)(c)).
    Column("name", String(200), nullable=False, server_default=""),
    Column("email", String(200), nullable=False, server_default=""),
    Column("good_faith", Boolean, nullable=False),
    Column("job_id", _ID, nullable=True, index=True),
    Column("created_at", Double, nullable=False),
)


@dataclass(frozen=True, slots=True)
class NewReport:
    reporter_key: str
    reporter_session: str
    reporter_nickname: str
    target: str
    reason: str
    details: str = ""


@dataclass(frozen=True, slots=True)
class Reported:
    report_id: str
    job_id: int | None
    # False when this reporter had reported the item already: ``report_id`` is that report's.
    created: bool


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who reported what a job is about, so that the console can tell them the outcome."""

    reporter_key: str
    session_id: str
    report_id: str
    reason: str
    created_at: float


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    """The reported author's record as it was when a report came."""

    report_id: str
    # (decision id, created_at, action, category)
    decisions: tuple[tuple[str, float, str, str | None], ...]
    # (created_at, points)
    strikes: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    location: str
    explanation: str
    category: str
    name: str
    email: str
    good_faith: bool
    job_id: int | None
    created_at: float


def record_json(
    decisions: Iterable[tuple[str, float, str, str | None]],
    strikes: Iterable[tuple[float, float]],
) -> str:
    return json.dumps(
        {"decisions": [list(d) for d in decisions], "strikes": [list(s) for s in strikes]},
        separators=(",", ":"),
    )


class ReportStore:
    def __init__(self, engine: AsyncEngine, review: ReviewStore | None = None) -> None:
        self.engine = engine
        self.review = review or ReviewStore(engine)

    # -- reports ----------------------------------------------------------------------------------

    async def existing(self, reporter_key: str, target: str) -> str | None:
        """The id of this reporter's report about ``target``, if they made one."""
        query = select(reports.c.id).where(
            reports.c.reporter_key == reporter_key, reports.c.target == target
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return str(value) if value is not None else None

    async def count_since(self, reporter_key: str, since: float) -> int:
        """How many reports a reporter made since ``since`` (the rate limit's count)."""
        query = select(func.count()).where(
            reports.c.reporter_key == reporter_key, reports.c.created_at >= since
        )
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def oldest_since(self, reporter_key: str, since: float) -> float | None:
        query = select(func.min(reports.c.created_at)).where(
            reports.c.reporter_key == reporter_key, reports.c.created_at >= since
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return float(value) if value is not None else None

    async def add(
        self,
        report: NewReport,
        item: NewItem,
        job: NewJob,
        *,
        now: float,
        history: Sequence[HistoryMessage] = (),
        author_record: str = "{}",
    ) -> Reported:
        """Keep a report and put its item in the review queue, in one transaction.

        A waiting job for the same item key takes the report as one more signal, and the
        reported context is added to that item's frozen history (messages it does not hold
        yet). A second report of the same item by the same reporter answers the first's id.
        """
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    return await self._add(conn, report, item, job, now, history, author_record)
            except IntegrityError:
                first = await self.existing(report.reporter_key, report.target)
                if first is not None:
                    return Reported(report_id=first, job_id=None, created=False)
                if attempt == 2:  # another node opened the same job at the same moment
                    raise
        raise AssertionError("unreachable")

    async def _add(
        self,
        conn: AsyncConnection,
        report: NewReport,
        item: NewItem,
        job: NewJob,
        now: float,
        history: Sequence[HistoryMessage],
        author_record: str,
    ) -> Reported:
        report_id = uuid.uuid4().hex
        # First the report: its unique key refuses a second report before any job is touched.
        await conn.execute(
            insert(reports).values(
                id=report_id,
                reporter_key=report.reporter_key,
                reporter_session=report.reporter_session,
                reporter_nickname=report.reporter_nickname[:40],
                target=report.target[:120],
                reason=report.reason,
                details=report.details,
                author_record=author_record,
                created_at=now,
            )
        )
        enqueued = await self.review.enqueue(item, job, now=now, history=history, conn=conn)
        if not enqueued.opened and history:
            kept = await self.review.history(enqueued.job_id, conn=conn)
            seen = {m.message_id for m in kept if m.message_id is not None}
            fresh = [m for m in history if m.message_id is None or m.message_id not in seen]
            await self.review.add_history(enqueued.item_id, fresh, conn=conn)
        await conn.execute(
            update(reports).where(reports.c.id == report_id).values(job_id=enqueued.job_id)
        )
        return Reported(report_id=report_id, job_id=enqueued.job_id, created=True)

    async def reporters_of(self, job_id: int) -> list[Reporter]:
        """Everyone whose report went into ``job_id``, first reporter first."""
        query = (
            select(
                reports.c.reporter_key,
                reports.c.reporter_session,
                reports.c.id,
                reports.c.reason,
                reports.c.created_at,
            )
            .where(reports.c.job_id == job_id)
            .order_by(reports.c.created_at, reports.c.id)
        )
        async with self.engine.connect() as conn:
            return [Reporter(*r) for r in await conn.execute(query)]

    async def author_records(self, job_id: int) -> list[AuthorRecord]:
        """The author's record frozen with each report of a job, in the order they came."""
        query = (
            select(reports.c.id, reports.c.author_record)
            .where(reports.c.job_id == job_id)
            .order_by(reports.c.created_at, reports.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        records = []
        for report_id, raw in rows:
            data: dict[str, Any] = json.loads(raw or "{}")
            records.append(
                AuthorRecord(
                    report_id=report_id,
                    decisions=tuple(
                        (str(d[0]), float(d[1]), str(d[2]), d[3]) for d in data.get("decisions", [])
                    ),
                    strikes=tuple((float(s[0]), float(s[1])) for s in data.get("strikes", [])),
                )
            )
        return records

    # -- reporters --------------------------------------------------------------------------------

    async def set_trusted(self, reporter_key: str, trusted: bool) -> None:
        """Mark (or unmark) a reporter as a trusted flagger."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(reporters).where(reporters.c.key == reporter_key).values(trusted=trusted)
            )
            if (result.rowcount or 0) == 0:
                await conn.execute(insert(reporters).values(key=reporter_key, trusted=trusted))

    async def is_trusted(self, reporter_key: str) -> bool:
        query = select(reporters.c.trusted).where(reporters.c.key == reporter_key)
        async with self.engine.connect() as conn:
            return bool((await conn.execute(query)).scalar_one_or_none())

    # -- notices ----------------------------------------------------------------------------------

    async def add_notice(
        self,
        *,
        location: str,
        explanation: str,
        category: str,
        name: str,
        email: str,
        good_faith: bool,
        item: NewItem,
        job: NewJob,
        now: float,
    ) -> Notice:
        """Keep a notice from the public form with its review job, in one transaction."""
        notice_id = uuid.uuid4().hex
        async with self.engine.begin() as conn:
            enqueued = await self.review.enqueue(item, job, now=now, conn=conn)
            await conn.execute(
                insert(report_notices).values(
                    id=notice_id,
                    location=location,
                    explanation=explanation,
                    category=category,
                    name=name[:200],
                    email=email[:200],
                    good_faith=good_faith,
                    job_id=enqueued.job_id,
                    created_at=now,
                )
            )
        return Notice(
            id=notice_id,
            location=location,
            explanation=explanation,
            category=category,
            name=name[:200],
            email=email[:200],
            good_faith=good_faith,
            job_id=enqueued.job_id,
            created_at=now,
        )

    async def notices_of(self, job_id: int) -> list[Notice]:
        query = (
            select(report_notices)
            .where(report_notices.c.job_id == job_id)
            .order_by(report_notices.c.created_at)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Notice(
                id=m["id"],
                location=m["location"],
                explanation=m["explanation"],
                category=m["category"],
                name=m["name"],
                email=m["email"],
                good_faith=bool(m["good_faith"]),
                job_id=m["job_id"],
                created_at=m["created_at"],
            )
            for m in (r._mapping for r in rows)
        ]

    # -- what a reporter could see ----------------------------------------------------------------
    # Read-only queries on the messages table that only reports need (MessageStore is another
    # capability's; these may move there).

    async def message_of_photo(self, photo_id: str) -> int | None:
        """The message that carried a photo, if it is still in the visible window."""
        query = select(messages.c.id).where(messages.c.photo_id == photo_id).limit(1)
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return int(value) if value is not None else None

    async def messages_by(
        self,
        nickname: str,
        *,
        rooms: Iterable[str],
        session_id: str,
        since: float,
        limit: int = 20,
    ) -> list[HistoryMessage]:
        """What ``nickname`` (any spelling of its case) wrote since ``since`` where
        ``session_id`` could read it: in ``rooms``, or to that session; oldest first."""
        rooms = list(rooms)
        where_seen = messages.c.recipient_session == session_id
        if rooms:
            where_seen = or_(where_seen, messages.c.room_id.in_(rooms))
        query = (
            select(
                messages.c.id,
                messages.c.room_id,
                messages.c.sender_nickname,
                messages.c.recipient_nickname,
                messages.c.text,
                messages.c.created_at,
            )
            .where(
                func.lower(messages.c.sender_nickname) == nickname.lower(),
                messages.c.created_at > since,
                where_seen,
            )
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = [HistoryMessage(*r) for r in await conn.execute(query)]
        rows.reverse()
        return rows


__all__ = [
    "AuthorRecord",
    "NewReport",
    "Notice",
    "ReportStore",
    "Reported",
    "Reporter",
    "record_json",
]
