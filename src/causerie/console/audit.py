"""The staff audit log: every staff action, hash-chained with a key the database never holds.

Each row's hash is the legal chain's keyed link (:func:`causerie.legal.chain.link_hash`) over
its fields and the previous row's hash. The key is derived from the retention keyring's chain key
(the key file, never the database), so someone who can write the database but not read the key
file cannot edit, remove or reorder an entry and recompute hashes that still verify. Truncating
the newest entries is visible only against a head seen before: ``causerie staff audit verify``
prints it; keep it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from causerie.legal.chain import GENESIS, link_hash
from causerie.store.staff import AuditEntry, StaffStore


def staff_chain_key(chain_key: bytes) -> bytes:
    """The staff log's own key, derived from the keyring's chain key (one purpose per key)."""
    return hmac.new(chain_key, b"causerie staff audit v1", hashlib.sha256).digest()


def _fields(row: AuditEntry | dict[str, Any], seq: int) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "seq": seq,
        "at": get("at"),
        "actor": get("actor"),
        "action": get("action"),
        "target": get("target"),
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


class StaffAudit:
    """Appends and verifies the staff audit chain."""

    def __init__(
        self, store: StaffStore, key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._key = key
        self.clock = clock

    async def record(
        self, actor: str, action: str, target: str = "", outcome: str = "ok", **detail: Any
    ) -> int:
        values: dict[str, Any] = {
            "at": self.clock(),
            "actor": actor[:80],
            "action": action[:40],
            "target": target[:120],
            "outcome": outcome[:16],
            "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else "",
        }
        entry = await self.store.append_audit(
            values, lambda seq, prev: link_hash(self._key, prev, _fields(values, seq))
        )
        return entry.seq

    async def verify(self) -> AuditReport:
        report = AuditReport()
        prev = GENESIS
        expected = 1
        after = 0
        while page := await self.store.audit_page(after, 1000):
            for row in page:
                after = row.seq
                report.entries += 1
                if row.seq != expected:
                    report.problems.append(f"entry {expected} is missing (next is {row.seq})")
                expected = row.seq + 1
                if row.prev_hash != prev:
                    report.problems.append(f"entry {row.seq} does not follow the one before it")
                if link_hash(self._key, row.prev_hash, _fields(row, row.seq)) != row.hash:
                    report.problems.append(f"entry {row.seq} was altered")
                prev = row.hash
        report.head = prev
        return report
