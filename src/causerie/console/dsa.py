"""Statements of reasons in the DSA Transparency Database's submission schema (Art. 24(5)).

:func:`to_dsa` maps one :class:`~causerie.store.statements.Statement` to the fields of the
Transparency Database API (``decision_visibility``, ``decision_account``, ``decision_ground``,
``category``, ``content_type``, ``source_type``, ``automated_detection``, ``automated_decision``,
``decision_facts``, ``content_date``, ``application_date``, ``puid`` and the fields each choice
requires). Nothing personal goes out: no nickname, no key, no staff name, no message text; the
facts are the statement's own plain words, which never quote the content. The API takes at
most 100 statements a request, so exports are batches of 100 (:func:`batches`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from causerie.store.statements import Statement

BATCH = 100

_CATEGORY = {
    "child_safety": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "sexual": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "solicitation": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "drugs": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "weapons": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "violence": "STATEMENT_CATEGORY_VIOLENCE",
    "harassment": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "personal_data": "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "off_platform": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    "spam": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
    "hate": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "non_consent": "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
    "ambush": "STATEMENT_CATEGORY_VIOLENCE",
    "scam": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "doxxing": "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "other": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
}
# What each decision did to the content and to the account.
_VISIBILITY = {
    "removed": "DECISION_VISIBILITY_CONTENT_REMOVED",
    "blocked": "DECISION_VISIBILITY_CONTENT_DISABLED",
}
_ACCOUNT = {
    "suspended": "DECISION_ACCOUNT_SUSPENDED",
    "banned": "DECISION_ACCOUNT_TERMINATED",
}
_PROVISION = {
    "muted": "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "kicked": "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "suspended": "DECISION_PROVISION_TOTAL_SUSPENSION",
    "banned": "DECISION_PROVISION_TOTAL_TERMINATION",
}
_CONTENT_TYPE = {"text": "CONTENT_TYPE_TEXT", "image": "CONTENT_TYPE_IMAGE"}
# Outcomes of a report or an appeal are not restrictions: they are not submitted.
NOT_EXPORTED = frozenset({"report_outcome", "appeal_outcome"})


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def to_dsa(statement: Statement) -> dict[str, Any]:
    """One statement in the Transparency Database's schema."""
    s = statement
    out: dict[str, Any] = {"puid": s.id}
    visibility = _VISIBILITY.get(s.decision)
    if visibility is not None:
        out["decision_visibility"] = [visibility]
    elif s.decision == "warned":
        out["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
        out["decision_visibility_other"] = "Warning to the author; the content was not shown"
    if s.decision in _ACCOUNT:
        out["decision_account"] = _ACCOUNT[s.decision]
        out["account_type"] = "ACCOUNT_TYPE_PRIVATE"
    if s.decision in _PROVISION:
        out["decision_provision"] = _PROVISION[s.decision]
    if s.ground == "illegal":
        out["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        out["illegal_content_legal_ground"] = s.ground_text[:500]
        out["illegal_content_explanation"] = s.facts[:2000] or s.ground_text[:2000]
    else:
        out["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        out["incompatible_content_ground"] = s.ground_text[:500]
        out["incompatible_content_explanation"] = s.facts[:2000] or s.ground_text[:2000]
    out["category"] = _CATEGORY.get(s.category, _CATEGORY["other"])
    content_type = _CONTENT_TYPE.get(s.content_type)
    if content_type is not None:
        out["content_type"] = [content_type]
    else:
        out["content_type"] = ["CONTENT_TYPE_OTHER"]
        out["content_type_other"] = "chat account"
    # Found by our own screen or by staff: own initiative; else a notice (report) started it.
    own = s.automated_detection or s.job_id is None
    out["source_type"] = "SOURCE_VOLUNTARY" if own else "SOURCE_ARTICLE_16"
    out["automated_detection"] = "Yes" if s.automated_detection else "No"
    if s.automated_decision:
        automated = "AUTOMATED_DECISION_FULLY"
    elif s.automated_detection:
        automated = "AUTOMATED_DECISION_PARTIALLY"
    else:
        automated = "AUTOMATED_DECISION_NOT_AUTOMATED"
    out["automated_decision"] = automated
    out["decision_facts"] = (s.facts or s.ground_text)[:5000]
    out["content_date"] = _day(s.content_date if s.content_date is not None else s.application_date)
    out["application_date"] = _day(s.application_date)
    if s.restriction_until is not None and s.decision in _PROVISION:
        out["end_date_service_restriction"] = _day(s.restriction_until)
    return out


async def batches(
    since_page: Callable[[str | None], Awaitable[list[Statement]]],
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every exportable statement, in batches of at most :data:`BATCH`, reading page by page
    (``since_page(after_id)``) so that no row cap applies."""
    after: str | None = None
    pending: list[dict[str, Any]] = []
    while page := await since_page(after):
        after = page[-1].id
        for statement in page:
            if statement.decision in NOT_EXPORTED:
                continue
            pending.append(to_dsa(statement))
            if len(pending) == BATCH:
                yield pending
                pending = []
    if pending:
        yield pending
