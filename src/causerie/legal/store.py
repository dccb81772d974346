"""Repositories of the retention database: all of the legal capability's SQL is here.

Rows arrive sealed and leave sealed: the repositories never see a key. Searches are expressed as
:class:`IndexQuery` objects, sets of blind indexes per key id, built by the service from a
validated scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.legal.chain import GENESIS
from causerie.legal.schema import (
    audit_log,
    evidence_records,
    judicial_requests,
    key_checks,
    preservation_orders,
    traffic_records,
)

# -- traffic --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealedTraffic:
    kind: str
    at: float
    key_id: str
    nickname_idx: str | None
    address_idx: str | None
    content_idx: str | None
    session_idx: str | None
    sealed: bytes
    id: int | None = None


@dataclass(frozen=True, slots=True)
class KeyIndexes:
    """Blind indexes of a scope's selectors under one key."""

    nicknames: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    content_ids: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexQuery:
    by_key: Mapping[str, KeyIndexes] = field(default_factory=dict)
    start: float | None = None
    end: float | None = None


def _in(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    # IS NOT NULL first, so that a NULL index gives FALSE rather than NULL: under NOT() a NULL
    # would silently keep (or drop) the row.
    return and_(column.isnot(None), column.in_(list(values)))


def _matches(query: IndexQuery, table: Table = traffic_records) -> ColumnElement[bool]:
    alternatives: list[ColumnElement[bool]] = []
    for key_id, ix in query.by_key.items():
        selectors: list[ColumnElement[bool]] = []
        if ix.nicknames:
            selectors.append(_in(table.c.nickname_idx, ix.nicknames))
        if ix.addresses:
            selectors.append(_in(table.c.address_idx, ix.addresses))
        if ix.content_ids:
            selectors.append(_in(table.c.content_idx, ix.content_ids))
        if ix.sessions:
            selectors.append(_in(table.c.session_idx, ix.sessions))
        if selectors:
            alternatives.append(and_(table.c.key_id == key_id, or_(*selectors)))
    if not alternatives:
        return false()
    condition = or_(*alternatives)
    if query.start is not None:
        condition = and_(condition, table.c.at >= query.start)
    if query.end is not None:
        condition = and_(condition, table.c.at < query.end)
    return condition


_TRAFFIC_COLUMNS = (
    traffic_records.c.id,
    traffic_records.c.kind,
    traffic_records.c.at,
    traffic_records.c.key_id,
    traffic_records.c.nickname_idx,
    traffic_records.c.address_idx,
    traffic_records.c.content_idx,
    traffic_records.c.session_idx,
    traffic_records.c.sealed,
)


def _traffic(row: Any) -> SealedTraffic:
    return SealedTraffic(**row._mapping)


class TrafficStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_many(self, rows: Sequence[SealedTraffic]) -> None:
        """Commit a batch of records in one transaction: all of them are durable, or none."""
        if not rows:
            return
        values = [
            {
                "kind": r.kind,
                "at": r.at,
                "key_id": r.key_id,
                "nickname_idx": r.nickname_idx,
                "address_idx": r.address_idx,
                "content_idx": r.content_idx,
                "session_idx": r.session_idx,
                "sealed": r.sealed,
            }
            for r in rows
        ]
        async with self.engine.begin() as conn:
            await conn.execute(insert(traffic_records), values)

    async def find(self, query: IndexQuery, limit: int = 100_000) -> list[SealedTraffic]:
        statement = (
            select(*_TRAFFIC_COLUMNS)
            .where(_matches(query))
            .order_by(traffic_records.c.at, traffic_records.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_traffic(r) for r in await conn.execute(statement)]

    async def purge(self, cutoff: float, holds: Sequence[IndexQuery]) -> int:
        """Delete records older than ``cutoff`` except those any hold (preservation) reaches."""
        condition: ColumnElement[bool] = traffic_records.c.at < cutoff
        for hold in holds:
            condition = and_(condition, not_(_matches(hold)))
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(traffic_records).where(condition))
            return result.rowcount or 0

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(traffic_records))).scalar_one()
            )

    async def not_under(self, key_id: str, after_id: int, limit: int) -> list[SealedTraffic]:
        """Records sealed under another key than ``key_id``, for re-encryption, by id."""
        statement = (
            select(*_TRAFFIC_COLUMNS)
            .where(traffic_records.c.key_id != key_id, traffic_records.c.id > after_id)
            .order_by(traffic_records.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_traffic(r) for r in await conn.execute(statement)]

    async def replace_sealed(self, rows: Sequence[SealedTraffic]) -> None:
        async with self.engine.begin() as conn:
            for r in rows:
                await conn.execute(
                    update(traffic_records)
                    .where(traffic_records.c.id == r.id)
                    .values(
                        key_id=r.key_id,
                        nickname_idx=r.nickname_idx,
                        address_idx=r.address_idx,
                        content_idx=r.content_idx,
                        session_idx=r.session_idx,
                        sealed=r.sealed,
                    )
                )


# -- keys -----------------------------------------------------------------------------------------


class KeyCheckStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def all(self) -> dict[str, bytes]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(key_checks.c.key_id, key_checks.c.sealed))
            return {r.key_id: r.sealed for r in rows}

    async def add(self, key_id: str, sealed: bytes, now: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(key_checks).values(key_id=key_id, sealed=sealed, created_at=now)
            )

    async def remove(self, key_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(key_checks).where(key_checks.c.key_id == key_id))

    async def usage(self) -> dict[str, int]:
        """How many rows of each table are sealed under each key id."""
        counts: dict[str, int] = {}
        async with self.engine.connect() as conn:
            for table in (
                traffic_records,
                evidence_records,
                judicial_requests,
                preservation_orders,
            ):
                statement = (
                    select(table.c.key_id, func.count())
                    .where(table.c.key_id.isnot(None))
                    .group_by(table.c.key_id)
                )
                for key_id, count in await conn.execute(statement):
                    counts[key_id] = counts.get(key_id, 0) + int(count)
        return counts


# -- judicial requests and preservation orders ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestRow:
    id: str
    authority: str
    reference: str
    legal_basis: str
    deadline: float | None
    registered_at: float
    registered_by: str
    status: str
    key_id: str | None
    sealed_scope: bytes | None
    exported_at: float | None
    delivered_at: float | None
    delivery_note: str


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    authority: str
    reference: str
    created_at: float
    created_by: str
    key_id: str | None
    sealed_scope: bytes | None
    released_at: float | None
    released_by: str | None


class DuplicateRow(Exception):
    pass


class RequestStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, row: RequestRow) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(judicial_requests).values(**_asdict(row)))
        except IntegrityError:
            raise DuplicateRow(row.reference) from None

    async def get(self, id_or_reference: str) -> RequestRow | None:
        statement = select(judicial_requests).where(
            or_(
                judicial_requests.c.id == id_or_reference,
                judicial_requests.c.reference == id_or_reference,
            )
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(statement)).first()
            return RequestRow(**row._mapping) if row else None

    async def all(self) -> list[RequestRow]:
        statement = select(judicial_requests).order_by(judicial_requests.c.registered_at)
        async with self.engine.connect() as conn:
            return [RequestRow(**r._mapping) for r in await conn.execute(statement)]

    async def update(self, request_id: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(judicial_requests)
                .where(judicial_requests.c.id == request_id)
                .values(**values)
            )

    async def erase_scopes_delivered_before(self, cutoff: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(judicial_requests)
                .where(
                    judicial_requests.c.delivered_at < cutoff,
                    judicial_requests.c.sealed_scope.isnot(None),
                )
                .values(sealed_scope=None, key_id=None)
            )
            return result.rowcount or 0

    async def replace_sealed(self, request_id: str, key_id: str, sealed: bytes) -> None:
        await self.update(request_id, key_id=key_id, sealed_scope=sealed)


class OrderStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, row: OrderRow) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(preservation_orders).values(**_asdict(row)))

    async def get(self, order_id: str) -> OrderRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(preservation_orders).where(preservation_orders.c.id == order_id)
                )
            ).first()
            return OrderRow(**row._mapping) if row else None

    async def all(self) -> list[OrderRow]:
        statement = select(preservation_orders).order_by(preservation_orders.c.created_at)
        async with self.engine.connect() as conn:
            return [OrderRow(**r._mapping) for r in await conn.execute(statement)]

    async def active(self) -> list[OrderRow]:
        statement = (
            select(preservation_orders)
            .where(preservation_orders.c.released_at.is_(None))
            .order_by(preservation_orders.c.created_at)
        )
        async with self.engine.connect() as conn:
            return [OrderRow(**r._mapping) for r in await conn.execute(statement)]

    async def release(self, order_id: str, by: str, at: float) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(preservation_orders)
                .where(
                    preservation_orders.c.id == order_id,
                    preservation_orders.c.released_at.is_(None),
                )
                .values(released_at=at, released_by=by)
            )
            return bool(result.rowcount)

    async def erase_scopes_released_before(self, cutoff: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(preservation_orders)
                .where(
                    preservation_orders.c.released_at < cutoff,
                    preservation_orders.c.sealed_scope.isnot(None),
                )
                .values(sealed_scope=None, key_id=None)
            )
            return result.rowcount or 0

    async def replace_sealed(self, order_id: str, key_id: str, sealed: bytes) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(preservation_orders)
                .where(preservation_orders.c.id == order_id)
                .values(key_id=key_id, sealed_scope=sealed)
            )


def _asdict(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__slots__}


# -- hash-chained tables: evidence and audit ------------------------------------------------------


async def _append_chained(
    engine: AsyncEngine,
    table: Table,
    values: Mapping[str, Any],
    seal: Callable[[int, str], str],
    attempts: int = 50,
) -> tuple[int, str]:
    """Append one row after the current head; ``seal(seq, prev_hash)`` gives its hash."""
    for _ in range(attempts):
        try:
            async with engine.begin() as conn:
                head = (
                    await conn.execute(
                        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
                    )
                ).first()
                seq = head.seq + 1 if head else 1
                prev_hash = head.hash if head else GENESIS
                digest = seal(seq, prev_hash)
                await conn.execute(
                    insert(table).values(**values, seq=seq, prev_hash=prev_hash, hash=digest)
                )
                return seq, digest
        except IntegrityError:
            # Another writer took this place in the chain: read the new head and try again.
            continue
    raise RuntimeError(f"could not append to {table.name}: the chain head kept moving")


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    seq: int
    created_at: float
    kind: str
    reason: str
    reference: str
    subject: str
    key_id: str | None
    nickname_idx: str | None
    sealed: bytes | None
    content_hash: str
    detail: str
    prev_hash: str
    hash: str


class EvidenceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def append(
        self, values: Mapping[str, Any], seal: Callable[[int, str], str]
    ) -> tuple[int, str]:
        return await _append_chained(self.engine, evidence_records, values, seal)

    async def page(self, after_seq: int, limit: int) -> list[EvidenceRow]:
        statement = (
            select(evidence_records)
            .where(evidence_records.c.seq > after_seq)
            .order_by(evidence_records.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [EvidenceRow(**r._mapping) for r in await conn.execute(statement)]

    async def subjects_for(self, reference: str) -> set[str]:
        statement = select(evidence_records.c.subject).where(
            evidence_records.c.reference == reference, evidence_records.c.kind == "preserved"
        )
        async with self.engine.connect() as conn:
            return {r.subject for r in await conn.execute(statement)}

    async def held(self, reference: str) -> list[EvidenceRow]:
        statement = (
            select(evidence_records)
            .where(
                evidence_records.c.reference == reference,
                evidence_records.c.kind == "preserved",
                evidence_records.c.sealed.isnot(None),
            )
            .order_by(evidence_records.c.seq)
        )
        async with self.engine.connect() as conn:
            return [EvidenceRow(**r._mapping) for r in await conn.execute(statement)]

    async def find(
        self, subjects: Sequence[str], nickname_idx: Mapping[str, Sequence[str]]
    ) -> list[EvidenceRow]:
        """Held evidence about these content ids, or whose author has one of these indexes."""
        alternatives: list[ColumnElement[bool]] = []
        if subjects:
            alternatives.append(evidence_records.c.subject.in_(list(subjects)))
        for key_id, indexes in nickname_idx.items():
            if indexes:
                alternatives.append(
                    and_(
                        evidence_records.c.key_id == key_id,
                        _in(evidence_records.c.nickname_idx, indexes),
                    )
                )
        if not alternatives:
            return []
        statement = (
            select(evidence_records)
            .where(evidence_records.c.sealed.isnot(None), or_(*alternatives))
            .order_by(evidence_records.c.seq)
        )
        async with self.engine.connect() as conn:
            return [EvidenceRow(**r._mapping) for r in await conn.execute(statement)]

    async def erase(self, seqs: Sequence[int]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(evidence_records)
                .where(evidence_records.c.seq.in_(list(seqs)))
                .values(sealed=None, key_id=None, nickname_idx=None)
            )

    async def not_under(self, key_id: str, after_seq: int, limit: int) -> list[EvidenceRow]:
        statement = (
            select(evidence_records)
            .where(
                evidence_records.c.sealed.isnot(None),
                evidence_records.c.key_id != key_id,
                evidence_records.c.seq > after_seq,
            )
            .order_by(evidence_records.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [EvidenceRow(**r._mapping) for r in await conn.execute(statement)]

    async def replace_sealed(
        self, seq: int, key_id: str, nickname_idx: str | None, sealed: bytes
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(evidence_records)
                .where(evidence_records.c.seq == seq)
                .values(key_id=key_id, nickname_idx=nickname_idx, sealed=sealed)
            )


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: float
    actor: str
    action: str
    request_id: str | None
    outcome: str
    detail: str
    prev_hash: str
    hash: str


class AuditStore:
    """Append-only: there is no update or delete here, and database triggers refuse both."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def append(
        self, values: Mapping[str, Any], seal: Callable[[int, str], str]
    ) -> tuple[int, str]:
        return await _append_chained(self.engine, audit_log, values, seal)

    async def page(self, after_seq: int, limit: int) -> list[AuditRow]:
        statement = (
            select(audit_log)
            .where(audit_log.c.seq > after_seq)
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [AuditRow(**r._mapping) for r in await conn.execute(statement)]

    async def latest(self, limit: int, request_id: str | None = None) -> list[AuditRow]:
        statement = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if request_id is not None:
            statement = statement.where(audit_log.c.request_id == request_id)
        async with self.engine.connect() as conn:
            rows = [AuditRow(**r._mapping) for r in await conn.execute(statement)]
        rows.reverse()
        return rows


class RetentionStores:
    """Every repository of the retention database, over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.traffic = TrafficStore(engine)
        self.key_checks = KeyCheckStore(engine)
        self.requests = RequestStore(engine)
        self.orders = OrderStore(engine)
        self.evidence = EvidenceStore(engine)
        self.audit = AuditStore(engine)
