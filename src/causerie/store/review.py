"""The one review queue: items, the jobs that put them in a queue, claims, decisions, events.

Modelled on ROOST's Coop review tool. An *item* is the thing reviewed (a piece of content, a
person, a conversation) with a snapshot of its text and, for conversations, a frozen copy of the
history around it. A *job* puts an item in a *queue* (:class:`~causerie.domain.ReviewQueue`)
with a priority (lower first: child safety is 0), a reason and the automated stage that opened
it. A reviewer *claims* a job with an exclusive lock that expires; a *decision* by the claimer
closes it. *Events* are what happened in a conversation (the minors fence's refused attempts),
joined to the item of the job that took the conversation up.

Every automated escalation (the safety pipeline's escalations and holds, the minors fence's
frozen conversations and age claims) is enqueued here; :class:`SafetyStore` and
:class:`TrustStore` keep their own methods for their callers but store through this one. This
module is the only one that writes SQL about the review tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from causerie.domain import (
    AgeBand,
    Category,
    ContentKind,
    ContentRef,
    ConversationKey,
    JobStatus,
    ReviewQueue,
    Target,
    TargetKind,
)
from causerie.store.schema import review_events as events_t
from causerie.store.schema import review_history as history_t
from causerie.store.schema import review_items as items_t
from causerie.store.schema import review_jobs as jobs_t

# The order in which moderators see jobs: child safety first, then imminent violence, then sales
# of weapons and drugs and solicitation, then the rest. The safety pipeline uses the same ranks.
PRIORITY: Mapping[Category, int] = {
    Category.CHILD_SAFETY: 0,
    Category.VIOLENCE: 1,
    Category.AMBUSH: 1,
    Category.NON_CONSENT: 1,
    Category.HATE: 2,
    Category.DOXXING: 2,
    Category.WEAPONS: 2,
    Category.DRUGS: 2,
    Category.SOLICITATION: 2,
    Category.HARASSMENT: 3,
    Category.PERSONAL_DATA: 3,
    Category.SEXUAL: 3,
    Category.OFF_PLATFORM: 3,
    Category.SCAM: 3,
    Category.SPAM: 4,
}
LOWEST_PRIORITY = 4
# Claims that a console does not renew return to the queue after this long.
DEFAULT_CLAIM_SECONDS = 15 * 60


def priority_of(category: Category | None) -> int:
    """A category's rank in the queue; no category comes last."""
    return PRIORITY.get(category, LOWEST_PRIORITY) if category is not None else LOWEST_PRIORITY


def queue_of(category: Category | None) -> ReviewQueue:
    """Child safety has its own moderators, violence and ambushes a queue; the rest is general."""
    if category is Category.CHILD_SAFETY:
        return ReviewQueue.CHILD_SAFETY
    if category in (Category.VIOLENCE, Category.AMBUSH):
        return ReviewQueue.VIOLENCE
    return ReviewQueue.GENERAL


class ItemKind(StrEnum):
    """What an item is: a kind of content (the values of ContentKind), a person, a conversation."""

    MESSAGE = "message"
    PRIVATE = "private"
    NICKNAME = "nickname"
    ROOM_NAME = "room_name"
    TOPIC = "topic"
    PHOTO = "photo"
    PERSON = "person"
    CONVERSATION = "conversation"

    @classmethod
    def of_content(cls, kind: ContentKind) -> ItemKind:
        return cls(kind.value)

    @classmethod
    def of_conversation(cls, key: str) -> ItemKind:
        return cls.PERSON if ConversationKey(key).kind == "person" else cls.CONVERSATION

    @property
    def content_kind(self) -> ContentKind | None:
        try:
            return ContentKind(self.value)
        except ValueError:
            return None


class Source(StrEnum):
    """The stage that put a job in the queue."""

    RULES = "rules"
    MODEL = "model"
    FENCE = "fence"
    HOLD = "hold"
    FREEZE = "freeze"
    AGE_CLAIM = "age_claim"
    REPORT = "report"
    # The public notice form (/report), for people who are not chatting.
    NOTICE = "notice"
    APPEAL = "appeal"
    # A photo matched an imported hash list; a photo scored explicit where it may not go.
    HASH_MATCH = "hash_match"
    NUDITY = "nudity"
    # A moderator opened it by hand (a bulk action, a referral).
    MODERATOR = "moderator"


UNDECIDED = (JobStatus.OPEN, JobStatus.CLAIMED)


# -- values in ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewItem:
    """The thing to review. ``key`` makes two signals about it one job while that job waits."""

    kind: ItemKind
    key: str
    author_key: str
    author_nickname: str
    text: str = ""
    author_session: str | None = None
    author_band: AgeBand | None = None
    room_id: str | None = None
    recipient_key: str | None = None
    place: str | None = None
    content_id: str | None = None
    decision_id: str | None = None
    conversation_key: ConversationKey | None = None
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewJob:
    queue: ReviewQueue
    priority: int
    source: Source
    # What opened it, as the stage names it ("hold", "grooming").
    kind: str
    reason: str
    category: Category | None = None
    score: float | None = None

    @classmethod
    def for_category(
        cls,
        category: Category | None,
        *,
        source: Source,
        kind: str,
        reason: str,
        score: float | None = None,
    ) -> NewJob:
        """A job in its category's queue at its category's priority."""
        return cls(
            queue=queue_of(category),
            priority=priority_of(category),
            source=source,
            kind=kind,
            reason=reason,
            category=category,
            score=score,
        )


@dataclass(frozen=True, slots=True)
class NewEvent:
    conversation_key: str
    kind: str
    action: str
    author_session: str
    author_nickname: str
    author_key: str
    author_band: str
    place: str
    text: str = ""
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """One message of the frozen history kept with an item."""

    message_id: int | None
    room_id: str | None
    sender_nickname: str
    recipient_nickname: str | None
    text: str
    created_at: float


# -- values out -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    kind: ItemKind
    key: str
    text: str
    author_key: str
    author_nickname: str
    author_session: str | None
    author_band: AgeBand | None
    room_id: str | None
    recipient_key: str | None
    place: str | None
    content_id: str | None
    decision_id: str | None
    conversation_key: ConversationKey | None
    signals: tuple[str, ...]
    evidence_ref: str | None
    created_at: float

    @property
    def content(self) -> ContentRef | None:
        """The stored content, for a message whose id is known."""
        content_kind = self.kind.content_kind
        if content_kind is None or self.content_id is None:
            return None
        if self.content_id.startswith("m") and content_kind in (
            ContentKind.ROOM_MESSAGE,
            ContentKind.PRIVATE_MESSAGE,
        ):
            return ContentRef(content_kind, self.content_id[1:])
        return ContentRef(content_kind, self.content_id.partition(":")[2] or self.content_id)

    @property
    def target(self) -> Target:
        """What a sanction decided on this item is aimed at: the message, else the person."""
        content = self.content
        if content is not None and content.kind is ContentKind.ROOM_MESSAGE:
            return Target(TargetKind.MESSAGE, content.id)
        if content is not None and content.kind is ContentKind.PRIVATE_MESSAGE:
            return Target(TargetKind.PRIVATE_MESSAGE, content.id)
        return Target(TargetKind.PERSON, self.author_key)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    item: Item
    queue: ReviewQueue
    priority: int
    status: JobStatus
    kind: str
    reason: str
    source: Source
    category: Category | None
    signals: int
    score: float | None
    created_at: float
    updated_at: float
    claimed_by: str | None
    claim_expires_at: float | None
    decided_by: str | None
    decided_at: float | None
    action: str | None
    note: str | None

    def claimable(self, now: float) -> bool:
        if self.status is JobStatus.OPEN:
            return True
        return self.status is JobStatus.CLAIMED and (self.claim_expires_at or 0.0) <= now


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    item_id: int | None
    # The job that took the event's conversation up, if one did.
    job_id: int | None
    conversation_key: str
    kind: str
    action: str
    signals: tuple[str, ...]
    author_session: str
    author_nickname: str
    author_key: str
    author_band: str
    place: str
    text: str
    created_at: float


@dataclass(frozen=True, slots=True)
class JobDetail:
    """A job with everything a reviewer reads: its item, the events and the frozen history."""

    job: Job
    events: list[Event]
    history: list[HistoryMessage]

    @property
    def item(self) -> Item:
        return self.job.item


@dataclass(frozen=True, slots=True)
class Enqueued:
    job_id: int
    item_id: int
    # True when this call opened the job; False when an undecided one took the signal.
    opened: bool


def joined(values: Iterable[str]) -> str:
    """Signals as one column: sorted, unique, comma-separated."""
    return ",".join(sorted(set(values)))[:400]


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


# -- rows to values -------------------------------------------------------------------------------

_ITEM_COLUMNS = [c.label(f"item__{c.name}") for c in items_t.c]


def _item(m: Mapping[str, Any], prefix: str = "") -> Item:
    band = m[f"{prefix}author_band"]
    conversation = m[f"{prefix}conversation_key"]
    return Item(
        id=int(m[f"{prefix}id"]),
        kind=ItemKind(m[f"{prefix}kind"]),
        key=m[f"{prefix}key"],
        text=m[f"{prefix}text"],
        author_key=m[f"{prefix}author_key"],
        author_nickname=m[f"{prefix}author_nickname"],
        author_session=m[f"{prefix}author_session"],
        author_band=AgeBand(band) if band is not None else None,
        room_id=m[f"{prefix}room_id"],
        recipient_key=m[f"{prefix}recipient_key"],
        place=m[f"{prefix}place"],
        content_id=m[f"{prefix}content_id"],
        decision_id=m[f"{prefix}decision_id"],
        conversation_key=ConversationKey(conversation) if conversation is not None else None,
        signals=_split(m[f"{prefix}signals"]),
        evidence_ref=m[f"{prefix}evidence_ref"],
        created_at=m[f"{prefix}created_at"],
    )


def _job(m: Mapping[str, Any]) -> Job:
    category = m["category"]
    return Job(
        id=int(m["id"]),
        item=_item(m, "item__"),
        queue=ReviewQueue(m["queue"]),
        priority=m["priority"],
        status=JobStatus(m["status"]),
        kind=m["kind"],
        reason=m["reason"],
        source=Source(m["source"]),
        category=Category(category) if category is not None else None,
        signals=m["signals"],
        score=m["score"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        claimed_by=m["claimed_by"],
        claim_expires_at=m["claim_expires_at"],
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
        action=m["action"],
        note=m["note"],
    )


def _jobs_query() -> Select[Any]:
    return select(*jobs_t.c, *_ITEM_COLUMNS).join_from(
        jobs_t, items_t, jobs_t.c.item_id == items_t.c.id
    )


def _statuses(status: JobStatus | Collection[JobStatus] | None) -> list[str] | None:
    if status is None:
        return None
    if isinstance(status, JobStatus):
        return [status.value]
    return [s.value for s in status]


def _claimable(now: float) -> Any:
    """Open, or claimed by someone whose lock has expired."""
    return or_(
        jobs_t.c.status == JobStatus.OPEN.value,
        and_(jobs_t.c.status == JobStatus.CLAIMED.value, jobs_t.c.claim_expires_at <= now),
    )


class ReviewStore:
    """The review queue's repository.

    Methods that other stores call inside their own transaction take ``conn``: the escalation,
    the conversation's freeze and its incident are then committed together.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @contextlib.asynccontextmanager
    async def _begin(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        if conn is not None:
            yield conn
            return
        async with self.engine.begin() as own:
            yield own

    @contextlib.asynccontextmanager
    async def _read(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        if conn is not None:
            yield conn
            return
        async with self.engine.connect() as own:
            yield own

    # -- enqueueing -------------------------------------------------------------------------------

    async def enqueue(
        self,
        item: NewItem,
        job: NewJob,
        *,
        now: float,
        history: Sequence[HistoryMessage] = (),
        conn: AsyncConnection | None = None,
    ) -> Enqueued:
        """Put ``item`` in the queue, or fold the signal into the job already waiting for it.

        A waiting job (open or claimed) for the same item key takes the signal: its counter goes
        up, its score follows, and it moves to the new job's queue when that is more urgent.
        ``history`` is kept only with a new item. On its own transaction, a race between two
        nodes opening the same job is settled by the unique ``open_key``: the loser retries and
        finds the winner's job. Inside a caller's transaction the caller retries.
        """
        if conn is not None:
            return await self._enqueue(conn, item, job, now, history)
        for attempt in range(3):
            try:
                async with self.engine.begin() as own:
                    return await self._enqueue(own, item, job, now, history)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _enqueue(
        self,
        conn: AsyncConnection,
        item: NewItem,
        job: NewJob,
        now: float,
        history: Sequence[HistoryMessage],
    ) -> Enqueued:
        waiting = (
            await conn.execute(
                select(jobs_t.c.id, jobs_t.c.item_id, jobs_t.c.priority).where(
                    jobs_t.c.open_key == item.key
                )
            )
        ).first()
        if waiting is not None:
            values: dict[str, Any] = {"signals": jobs_t.c.signals + 1, "updated_at": now}
            if job.score is not None:
                values["score"] = job.score
            if job.priority < waiting.priority:
                values.update(
                    priority=job.priority,
                    queue=job.queue.value,
                    category=job.category.value if job.category else None,
                )
            await conn.execute(update(jobs_t).where(jobs_t.c.id == waiting.id).values(**values))
            return Enqueued(job_id=int(waiting.id), item_id=int(waiting.item_id), opened=False)
        item_id = int(
            (
                await conn.execute(
                    insert(items_t)
                    .values(
                        kind=item.kind.value,
                        key=item.key[:240],
                        content_id=item.content_id,
                        decision_id=item.decision_id,
                        conversation_key=item.conversation_key,
                        text=item.text,
                        author_key=item.author_key,
                        author_nickname=item.author_nickname,
                        author_session=item.author_session,
                        author_band=item.author_band.value if item.author_band else None,
                        room_id=item.room_id,
                        recipient_key=item.recipient_key,
                        place=item.place[:80] if item.place is not None else None,
                        signals=joined(item.signals),
                        created_at=now,
                    )
                    .returning(items_t.c.id)
                )
            ).scalar_one()
        )
        job_id = int(
            (
                await conn.execute(
                    insert(jobs_t)
                    .values(
                        item_id=item_id,
                        queue=job.queue.value,
                        priority=job.priority,
                        status=JobStatus.OPEN.value,
                        kind=job.kind,
                        reason=job.reason[:400],
                        source=job.source.value,
                        category=job.category.value if job.category else None,
                        signals=1,
                        score=job.score,
                        open_key=item.key[:240],
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(jobs_t.c.id)
                )
            ).scalar_one()
        )
        await self._add_history(conn, item_id, history)
        return Enqueued(job_id=job_id, item_id=item_id, opened=True)

    async def add_history(
        self,
        item_id: int,
        history: Sequence[HistoryMessage],
        *,
        conn: AsyncConnection | None = None,
    ) -> None:
        """Keep a frozen copy of messages with an item."""
        async with self._begin(conn) as c:
            await self._add_history(c, item_id, history)

    async def _add_history(
        self, conn: AsyncConnection, item_id: int, history: Sequence[HistoryMessage]
    ) -> None:
        if not history:
            return
        await conn.execute(
            insert(history_t),
            [
                {
                    "item_id": item_id,
                    "message_id": m.message_id,
                    "room_id": m.room_id,
                    "sender_nickname": m.sender_nickname,
                    "recipient_nickname": m.recipient_nickname,
                    "text": m.text,
                    "created_at": m.created_at,
                }
                for m in history
            ],
        )

    async def item_of(self, job_id: int, *, conn: AsyncConnection | None = None) -> int | None:
        async with self._read(conn) as c:
            value = (
                await c.execute(select(jobs_t.c.item_id).where(jobs_t.c.id == job_id))
            ).scalar_one_or_none()
        return int(value) if value is not None else None

    async def set_evidence_ref(
        self, job_id: int, reference: str, *, conn: AsyncConnection | None = None
    ) -> None:
        """Record where the evidence locker sealed a job's item."""
        item_id = select(jobs_t.c.item_id).where(jobs_t.c.id == job_id).scalar_subquery()
        async with self._begin(conn) as c:
            await c.execute(
                update(items_t).where(items_t.c.id == item_id).values(evidence_ref=reference[:200])
            )

    async def link_content(
        self, links: Sequence[tuple[str, str]], *, conn: AsyncConnection | None = None
    ) -> None:
        """Attach stored content ids to the items of decisions made before it was stored."""
        if not links:
            return
        async with self._begin(conn) as c:
            for decision_id, content_id in links:
                await c.execute(
                    update(items_t)
                    .where(items_t.c.decision_id == decision_id)
                    .values(content_id=content_id)
                )

    # -- events -----------------------------------------------------------------------------------

    async def add_event(
        self,
        event: NewEvent,
        *,
        at: float,
        item_id: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> None:
        async with self._begin(conn) as c:
            await c.execute(
                insert(events_t).values(
                    item_id=item_id,
                    conversation_key=event.conversation_key,
                    kind=event.kind,
                    action=event.action,
                    signals=joined(event.signals),
                    author_session=event.author_session,
                    author_nickname=event.author_nickname,
                    author_key=event.author_key,
                    author_band=event.author_band,
                    place=event.place[:80],
                    text=event.text,
                    created_at=at,
                )
            )

    async def attach_events(
        self, conversation_key: str, item_id: int, *, conn: AsyncConnection | None = None
    ) -> int:
        """Join a conversation's events that no item holds yet to ``item_id``."""
        async with self._begin(conn) as c:
            result = await c.execute(
                update(events_t)
                .where(
                    events_t.c.conversation_key == conversation_key,
                    events_t.c.item_id.is_(None),
                )
                .values(item_id=item_id)
            )
            return result.rowcount or 0

    async def events(
        self,
        *,
        conversation_key: str | None = None,
        author_key: str | None = None,
        item_id: int | None = None,
        conn: AsyncConnection | None = None,
    ) -> list[Event]:
        """Events in the order they happened."""
        first_job = (
            select(func.min(jobs_t.c.id))
            .where(jobs_t.c.item_id == events_t.c.item_id)
            .scalar_subquery()
        )
        query = select(*events_t.c, first_job.label("job_id")).order_by(events_t.c.id)
        if conversation_key is not None:
            query = query.where(events_t.c.conversation_key == conversation_key)
        if author_key is not None:
            query = query.where(events_t.c.author_key == author_key)
        if item_id is not None:
            query = query.where(events_t.c.item_id == item_id)
        async with self._read(conn) as c:
            rows = (await c.execute(query)).all()
        return [
            Event(
                id=int(m["id"]),
                item_id=m["item_id"],
                job_id=m["job_id"],
                conversation_key=m["conversation_key"],
                kind=m["kind"],
                action=m["action"],
                signals=_split(m["signals"]),
                author_session=m["author_session"],
                author_nickname=m["author_nickname"],
                author_key=m["author_key"],
                author_band=m["author_band"],
                place=m["place"],
                text=m["text"],
                created_at=m["created_at"],
            )
            for m in (r._mapping for r in rows)
        ]

    async def purge_events(self, before: float, *, conn: AsyncConnection | None = None) -> int:
        """Forget events older than ``before`` that no job took up."""
        async with self._begin(conn) as c:
            result = await c.execute(
                delete(events_t).where(events_t.c.item_id.is_(None), events_t.c.created_at < before)
            )
            return result.rowcount or 0

    # -- claims and decisions ---------------------------------------------------------------------

    async def claim(
        self,
        job_id: int,
        reviewer: str,
        *,
        now: float,
        ttl_seconds: float = DEFAULT_CLAIM_SECONDS,
    ) -> bool:
        """Lock a job for ``reviewer`` until ``now + ttl_seconds``; False if someone holds it.

        One conditional UPDATE: of two reviewers claiming at once, the database lets exactly one
        change the row (SQLite serialises writers; PostgreSQL re-reads the row the first one
        locked and finds its condition false). The claimer may renew their own claim.
        """
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(jobs_t)
                .where(
                    jobs_t.c.id == job_id,
                    or_(
                        _claimable(now),
                        and_(
                            jobs_t.c.status == JobStatus.CLAIMED.value,
                            jobs_t.c.claimed_by == reviewer,
                        ),
                    ),
                )
                .values(
                    status=JobStatus.CLAIMED.value,
                    claimed_by=reviewer,
                    claim_expires_at=now + ttl_seconds,
                )
            )
            return (result.rowcount or 0) == 1

    async def next_job(
        self,
        reviewer: str,
        queues: Collection[ReviewQueue],
        *,
        now: float,
        ttl_seconds: float = DEFAULT_CLAIM_SECONDS,
    ) -> Job | None:
        """Claim the most urgent claimable job of ``queues`` (oldest first within a priority)."""
        names = [q.value for q in queues]
        if not names:
            return None
        query = (
            select(jobs_t.c.id)
            .where(jobs_t.c.queue.in_(names), _claimable(now))
            .order_by(jobs_t.c.priority, jobs_t.c.created_at, jobs_t.c.id)
            .limit(1)
        )
        # Another reviewer may take the candidate between the read and the claim: try the next.
        for _attempt in range(20):
            async with self.engine.connect() as conn:
                job_id = (await conn.execute(query)).scalar_one_or_none()
            if job_id is None:
                return None
            if await self.claim(int(job_id), reviewer, now=now, ttl_seconds=ttl_seconds):
                return await self._one(int(job_id))
        return None

    async def release_claim(self, job_id: int, reviewer: str) -> bool:
        """Give a claimed job back to the queue; only its claimer can."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(jobs_t)
                .where(
                    jobs_t.c.id == job_id,
                    jobs_t.c.status == JobStatus.CLAIMED.value,
                    jobs_t.c.claimed_by == reviewer,
                )
                .values(status=JobStatus.OPEN.value, claimed_by=None, claim_expires_at=None)
            )
            return (result.rowcount or 0) == 1

    async def decide(
        self, job_id: int, reviewer: str, action: str, note: str = "", *, now: float
    ) -> bool:
        """Close a job with a reviewer's decision; only the holder of an unexpired claim can."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(jobs_t)
                .where(
                    jobs_t.c.id == job_id,
                    jobs_t.c.status == JobStatus.CLAIMED.value,
                    jobs_t.c.claimed_by == reviewer,
                    jobs_t.c.claim_expires_at > now,
                )
                .values(**_decided(reviewer, action, note, now))
            )
            return (result.rowcount or 0) == 1

    async def close(
        self,
        job_id: int,
        action: str,
        *,
        now: float,
        by: str | None = None,
        note: str = "",
        conn: AsyncConnection | None = None,
    ) -> bool:
        """Close an undecided job without a claim: a decision taken outside the queue (a
        moderator's release of a frozen conversation through the fence)."""
        async with self._begin(conn) as c:
            result = await c.execute(
                update(jobs_t)
                .where(jobs_t.c.id == job_id, jobs_t.c.status.in_([s.value for s in UNDECIDED]))
                .values(**_decided(by, action, note, now))
            )
            return (result.rowcount or 0) == 1

    # -- reading ----------------------------------------------------------------------------------

    async def jobs(
        self,
        *,
        queue: ReviewQueue | Collection[ReviewQueue] | None = None,
        status: JobStatus | Collection[JobStatus] | None = None,
        category: Category | None = None,
        sources: Collection[Source] | None = None,
        limit: int | None = 100,
        by_id: bool = False,
    ) -> list[Job]:
        """Jobs with their items, most urgent first then oldest first (or in id order)."""
        query = _jobs_query()
        if queue is not None:
            queues = [queue] if isinstance(queue, ReviewQueue) else list(queue)
            query = query.where(jobs_t.c.queue.in_([q.value for q in queues]))
        statuses = _statuses(status)
        if statuses is not None:
            query = query.where(jobs_t.c.status.in_(statuses))
        if category is not None:
            query = query.where(jobs_t.c.category == category.value)
        if sources is not None:
            query = query.where(jobs_t.c.source.in_([s.value for s in sources]))
        if by_id:
            query = query.order_by(jobs_t.c.id)
        else:
            query = query.order_by(jobs_t.c.priority, jobs_t.c.created_at, jobs_t.c.id)
        if limit is not None:
            query = query.limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_job(r._mapping) for r in rows]

    async def _one(self, job_id: int, conn: AsyncConnection | None = None) -> Job | None:
        async with self._read(conn) as c:
            row = (await c.execute(_jobs_query().where(jobs_t.c.id == job_id))).first()
        return _job(row._mapping) if row is not None else None

    async def job(self, job_id: int) -> JobDetail | None:
        """A job with its item, the item's events and its frozen history."""
        async with self.engine.connect() as conn:
            job = await self._one(job_id, conn)
            if job is None:
                return None
            events = await self.events(item_id=job.item.id, conn=conn)
            history = await self.history(job_id, conn=conn)
        return JobDetail(job=job, events=events, history=history)

    async def history(
        self, job_id: int, *, conn: AsyncConnection | None = None
    ) -> list[HistoryMessage]:
        """The frozen history of a job's item, oldest first."""
        query = (
            select(
                history_t.c.message_id,
                history_t.c.room_id,
                history_t.c.sender_nickname,
                history_t.c.recipient_nickname,
                history_t.c.text,
                history_t.c.created_at,
            )
            .join_from(history_t, jobs_t, jobs_t.c.item_id == history_t.c.item_id)
            .where(jobs_t.c.id == job_id)
            .order_by(history_t.c.id)
        )
        async with self._read(conn) as c:
            return [HistoryMessage(*r) for r in await c.execute(query)]

    async def counts(self) -> dict[ReviewQueue, dict[JobStatus, int]]:
        """How many jobs each queue holds in each status (zeros included)."""
        counts = {q: dict.fromkeys(JobStatus, 0) for q in ReviewQueue}
        query = select(jobs_t.c.queue, jobs_t.c.status, func.count()).group_by(
            jobs_t.c.queue, jobs_t.c.status
        )
        async with self.engine.connect() as conn:
            for queue, status, count in await conn.execute(query):
                counts[ReviewQueue(queue)][JobStatus(status)] = int(count)
        return counts


def _decided(by: str | None, action: str, note: str, now: float) -> dict[str, Any]:
    return {
        "status": JobStatus.DECIDED.value,
        "open_key": None,
        "decided_by": by,
        "decided_at": now,
        "action": action[:32],
        "note": note or None,
        "claim_expires_at": None,
        "updated_at": now,
    }
