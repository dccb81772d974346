"""The transparency report (DSA Art. 15 and 24): figures computed from the decisions themselves.

Everything is read page by page from the review queue's jobs and the statements, with no row
cap, and computed here in one place for the console page, its JSON and its CSV.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from causerie.domain import JobStatus
from causerie.moderation.actions import Reporters
from causerie.store.review import ReviewStore, Source
from causerie.store.statements import Statement, StatementStore

PAGE = 1000
# Sources that are notices from people (DSA Art. 16): chatters' reports and the public form.
NOTICE_SOURCES = frozenset({Source.REPORT.value, Source.NOTICE.value})
# Job decisions that restrict something.
ACTIONS = frozenset({"remove", "warn", "mute", "kick", "suspend", "ban"})


@dataclass(slots=True)
class Report:
    since: float
    until: float
    jobs: int = 0
    notices_by_source: dict[str, int] = field(default_factory=dict)
    notices_by_category: dict[str, int] = field(default_factory=dict)
    decisions_by_action: dict[str, int] = field(default_factory=dict)
    trusted_flagger_notices: int = 0
    trusted_flaggers: int = 0
    median_seconds_to_action: float | None = None
    statements: int = 0
    statements_by_decision: dict[str, int] = field(default_factory=dict)
    automated_detection_share: float = 0.0
    automated_decision_share: float = 0.0
    appeals: int = 0
    appeals_pending: int = 0
    appeals_upheld: int = 0
    appeals_reversed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, key, value) rows: the CSV export and the page's tables."""
        out: list[tuple[str, str, str]] = []
        for name, value in self.as_dict().items():
            if isinstance(value, dict):
                out.extend((name, str(k), str(v)) for k, v in sorted(value.items()))
            else:
                out.append(("total", name, "" if value is None else str(value)))
        return out

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(("section", "key", "value"))
        writer.writerows(self.rows())
        return buffer.getvalue()


async def all_statements(store: StatementStore, since: float) -> list[Statement]:
    out: list[Statement] = []
    after: str | None = None
    while page := await store.since(since, limit=PAGE, after_id=after):
        out.extend(page)
        after = page[-1].id
    return out


async def compute(
    review: ReviewStore,
    statements: StatementStore,
    reports: Reporters | None,
    *,
    since: float,
    until: float,
    is_trusted: Any = None,
) -> Report:
    """The report over ``[since, until)``; ``is_trusted(key)`` counts trusted flaggers."""
    report = Report(since=since, until=until)
    jobs = [j for j in await review.jobs(limit=None, by_id=True) if since <= j.created_at < until]
    report.jobs = len(jobs)
    by_source: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    waits: list[float] = []
    trusted_keys: set[str] = set()
    trusted_notices = 0
    for job in jobs:
        if job.source.value in NOTICE_SOURCES:
            by_source[job.source.value] += 1
            by_category[job.category.value if job.category else "other"] += 1
            if reports is not None and is_trusted is not None:
                keys = {r.reporter_key for r in await reports.reporters_of(job.id)}
                flagged = [k for k in keys if await is_trusted(k)]
                trusted_keys.update(flagged)
                trusted_notices += 1 if flagged else 0
        else:
            by_source[job.source.value] += 1
        if job.status is JobStatus.DECIDED and job.action:
            by_action[job.action] += 1
            if job.action in ACTIONS and job.decided_at is not None:
                waits.append(job.decided_at - job.created_at)
    report.notices_by_source = dict(by_source)
    report.notices_by_category = dict(by_category)
    report.decisions_by_action = dict(by_action)
    report.trusted_flagger_notices = trusted_notices
    report.trusted_flaggers = len(trusted_keys)
    report.median_seconds_to_action = statistics.median(waits) if waits else None
    chosen = [s for s in await all_statements(statements, since) if s.application_date < until]
    restrictions = [s for s in chosen if s.decision not in ("report_outcome", "appeal_outcome")]
    report.statements = len(chosen)
    report.statements_by_decision = dict(Counter(s.decision for s in chosen))
    if restrictions:
        n = len(restrictions)
        report.automated_detection_share = sum(s.automated_detection for s in restrictions) / n
        report.automated_decision_share = sum(s.automated_decision for s in restrictions) / n
    appealed = [s for s in chosen if s.appeal_status != "none"]
    report.appeals = len(appealed)
    report.appeals_pending = sum(s.appeal_status == "pending" for s in appealed)
    report.appeals_upheld = sum(s.appeal_status == "upheld" for s in appealed)
    report.appeals_reversed = sum(s.appeal_status == "reversed" for s in appealed)
    return report
