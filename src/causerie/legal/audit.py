"""The append-only audit log of everything done with retained data.

Every registration, search, export, delivery, preservation, release, purge and key operation is
appended here, and so is every refused attempt. Rows are hash-chained like evidence, with links
keyed by the key file's chain key (:mod:`causerie.legal.chain`), and the database refuses UPDATE
and DELETE on the table (triggers in the migration), so a removed or edited entry shows, even
after whoever edited it recomputed the hashes. Entries hold counts and references, never the
retained data itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from causerie.legal.chain import GENESIS, link_hash
from causerie.legal.store import AuditRow, AuditStore


def _fields(row: AuditRow | dict[str, Any], seq: int) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "seq": seq,
        "at": get("at"),
        "actor": get("actor"),
        "action": get("action"),
        "request_id": get("request_id"),
        "outcome": get("outcome"),
        "detail": get("detail"),
    }


@dataclass(slots=True)
class AuditReport:
    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    def __init__(
        self, store: AuditStore, chain_key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._chain_key = chain_key
        self.clock = clock

    async def record(
        self,
        actor: str,
        action: str,
        outcome: str = "ok",
        *,
        request_id: str | None = None,
        **detail: Any,
    ) -> int:
        values = {
            "at": self.clock(),
            "actor": actor[:80],
            "action": action[:40],
            "request_id": request_id[:80] if request_id is not None else None,
            "outcome": outcome,
            "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else "",
        }
        seq, _ = await self.store.append(
            values, lambda seq, prev: link_hash(self._chain_key, prev, _fields(values, seq))
        )
        return seq

    async def entries(self, limit: int = 100, request_id: str | None = None) -> list[AuditRow]:
        return await self.store.latest(limit, request_id)

    async def verify(self) -> AuditReport:
        report = AuditReport()
        prev = GENESIS
        expected = 1
        after = 0
        while page := await self.store.page(after, 1000):
            for row in page:
                after = row.seq
                report.entries += 1
                if row.seq != expected:
                    report.problems.append(f"entry {expected} is missing (next is {row.seq})")
                expected = row.seq + 1
                if row.prev_hash != prev:
                    report.problems.append(f"entry {row.seq} does not follow the one before it")
                if link_hash(self._chain_key, row.prev_hash, _fields(row, row.seq)) != row.hash:
                    report.problems.append(f"entry {row.seq} was altered")
                prev = row.hash
        report.head = prev
        return report
