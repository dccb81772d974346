"""Statements of reasons (EU DSA Art. 17) to the chatters concerned, and their appeals (Art. 20).

:meth:`Statements.notify` pushes a statement to the chatter it concerns wherever they are online
(presence by nickname key, then the bus to their session); :meth:`Statements.list` and
:meth:`Statements.appeal` answer the ``statements`` and ``appeal`` frames.
:meth:`Statements.refused` is what the delivery path calls when the automated screen refuses
content with a restriction (warn, block, mute, kick, ban, a frozen conversation): it issues an
automated statement, at most one per author and category per :data:`STATEMENT_INTERVAL`
seconds, so that a flood of refusals is not a flood of statements.

Wording: the frame's ``message`` is plain English; the web client writes its own French and
English sentence from the codes (``decision``, ``category``, ``automated``, ``appeal_until``),
like it does for error codes. A session carries no language, and two languages in one
sentence read badly in both.
"""

from __future__ import annotations

import datetime
import logging

from causerie.chat.core import ChatCore
from causerie.chat.hub import LocalSession
from causerie.domain import Action, Category, ContentKind
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.verdict import Subject, Verdict
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.store.statements import (
    Statement,
    StatementError,
    StatementStore,
    new_statement,
)

log = logging.getLogger(__name__)

# One automated statement per author and category per minute: the chatter already gets an error
# frame for every refusal; the statement is the durable record and the way to appeal.
STATEMENT_INTERVAL = 60.0
# Entries of the interval memory kept before old ones are dropped (one node's recent authors).
_MEMORY = 10_000
MAX_APPEAL_CHARS = 2000

_DECISION_OF_ACTION = {
    Action.WARN: "warned",
    Action.BLOCK: "blocked",
    Action.MUTE: "muted",
    Action.KICK: "kicked",
    Action.BAN: "banned",
}
# Refusals that are moderation decisions about the content. Length, age-line and sanction
# refusals are not new restrictions (a sanction's own statement was issued when it began).
_RESTRICTING = frozenset(
    {
        ErrorCode.CONTENT_BLOCKED,
        ErrorCode.WARNED,
        ErrorCode.MUTED,
        ErrorCode.KICKED,
        ErrorCode.BANNED,
        ErrorCode.MINORS_PROTECTED,
        ErrorCode.CONTACT_DETAILS_REFUSED,
        ErrorCode.CONVERSATION_FROZEN,
    }
)

GROUND_TEXT: dict[str, str] = {
    "child_safety": (
        "The law protecting children from sexual solicitation and abuse (French Penal Code, "
        "articles 227-22 to 227-28-3; EU Directive 2011/93/EU) and causerie's terms"
    ),
    "sexual": "causerie's terms: no sexual content where it is not allowed",
    "solicitation": "causerie's terms: no prostitution or paid solicitation",
    "drugs": "causerie's terms: no sale or promotion of drugs",
    "weapons": "causerie's terms: no sale of weapons",
    "violence": "causerie's terms: no threats or incitement to violence",
    "harassment": "causerie's terms: no harassment",
    "personal_data": "causerie's terms: no phone numbers, addresses or emails in public",
    "off_platform": "causerie's terms: no moving people to other apps",
    "spam": "causerie's terms: no spam, advertising or repeated text",
    "hate": (
        "The law against public incitement to hatred and insults on the grounds of origin, "
        "religion, sex, sexual orientation, gender identity or disability (French law of "
        "29 July 1881, articles 24 and 33) and causerie's terms"
    ),
    "non_consent": (
        "The law against sexual assault, administering a substance to commit one and sharing "
        "sexual images without consent (French Penal Code, articles 222-22 to 222-30-1 and "
        "226-2-1) and causerie's terms"
    ),
    "ambush": "causerie's terms: no luring anyone to a place to hurt or rob them",
    "scam": "causerie's terms: no fraud, phishing or extortion",
    "doxxing": (
        "The law against revealing information that lets someone be found in order to expose "
        "them to harm (French Penal Code, article 223-1-1) and causerie's terms"
    ),
    "other": "causerie's terms of use",
}
_FENCE_GROUND = (
    "causerie's terms protecting minors: no links, contact details, other apps or invitations "
    "to meet between adults and minors"
)
_FROZEN_GROUND = (
    "The protection of minors (French Penal Code, article 227-22-1): a conversation showing "
    "signs of grooming is paused while moderators look at it"
)
_WORDS = {
    "removed": "was removed",
    "warned": "was not delivered and counts as a warning",
    "muted": "was not delivered and you are muted for a while",
    "kicked": "was not delivered and your connection was ended",
    "suspended": "led to a suspension of your account",
    "banned": "was not delivered and you are banned",
    "blocked": "was not delivered",
}


def ground_of(category: str) -> str:
    """Child sexual abuse and grooming are illegal; the rest breaks the terms of use."""
    return "illegal" if category == Category.CHILD_SAFETY.value else "incompatible"


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d")


def plain_words(statement: Statement) -> str:
    """The statement in one or two English sentences (the web client writes its own)."""
    who = "an automated check" if statement.automated_decision else "a moderator"
    if statement.decision == "report_outcome":
        text = f"Your report was reviewed by {who}: {statement.facts}"
    elif statement.decision == "appeal_outcome":
        text = f"Your appeal was reviewed by {who}: {statement.facts}"
    else:
        what = "your conversation" if statement.content_type == "account" else "your content"
        done = _WORDS.get(statement.decision, statement.decision)
        text = (
            f"Decided by {who}: {what} {done} ({statement.category.replace('_', ' ')}). "
            f"{statement.facts} Rule: {statement.ground_text}."
        )
    until = statement.appeal_until
    if until is not None and statement.appeal_status == "none":
        text += f" You can appeal until {_day(until)}."
    return text


def frame_of(statement: Statement) -> f.StatementOfReasons:
    return f.StatementOfReasons(
        id=statement.id,
        decision=statement.decision,
        category=statement.category,
        ground=statement.ground_text,
        automated=statement.automated_decision,
        message=plain_words(statement),
        at=statement.application_date,
        content=statement.content_ref,
        appeal_until=statement.appeal_until,
        appeal_status=statement.appeal_status,
    )


_APPEAL_REFUSALS = {
    "not_found": (ErrorCode.STATEMENT_NOT_FOUND, "there is no such statement for you"),
    # The same answer as an unknown id: nobody learns what concerns someone else.
    "not_yours": (ErrorCode.STATEMENT_NOT_FOUND, "there is no such statement for you"),
    "appeal_closed": (ErrorCode.APPEAL_CLOSED, "the six months to appeal this decision are over"),
    "already_appealed": (ErrorCode.ALREADY_APPEALED, "you appealed this decision already"),
    "not_appealable": (ErrorCode.NOT_APPEALABLE, "an appeal's outcome cannot be appealed again"),
}


class Statements:
    def __init__(self, core: ChatCore, store: StatementStore) -> None:
        self.core = core
        self.store = store
        # (author key, category) -> when its last automated statement was issued.
        self._last: dict[tuple[str, str], float] = {}

    async def notify(self, statement: Statement) -> bool:
        """Push a statement to the chatter it concerns if they are online; True if so."""
        row = await self.core.presence.by_key(statement.subject_key)
        if row is None:
            return False
        await self.core.publish(frame_of(statement), session=row.id)
        return True

    async def list(self, session: LocalSession, ref: str | None = None) -> f.StatementList:
        found = await self.store.for_subject(session.key)
        return f.StatementList(statements=[frame_of(s) for s in found], ref=ref)

    async def appeal(
        self, session: LocalSession, statement_id: str, text: str, ref: str | None = None
    ) -> f.AppealReceived:
        text = text.strip()
        if not text:
            raise ChatError(ErrorCode.INVALID_FIELD, "say why you appeal", field="text")
        if len(text) > MAX_APPEAL_CHARS:
            raise ChatError(
                ErrorCode.INVALID_FIELD,
                f"an appeal has at most {MAX_APPEAL_CHARS} characters",
                field="text",
            )
        try:
            await self.store.appeal(statement_id[:40], session.key, text, self.core.clock())
        except StatementError as refused:
            code, message = _APPEAL_REFUSALS.get(
                refused.code, (ErrorCode.STATEMENT_NOT_FOUND, str(refused))
            )
            raise ChatError(code, message, field="statement") from None
        return f.AppealReceived(statement=statement_id, ref=ref)

    # -- automated restrictions ----------------------------------------------------------------

    async def refused(self, session: LocalSession, subject: Subject, verdict: Verdict) -> None:
        """The screen refused ``subject``: issue and push an automated statement, if it is a
        restriction and none was issued for this author and category within the interval.

        Never raises: the chatter's refusal must go out whatever happens here.
        """
        try:
            statement = self._automated(session, subject, verdict)
            if statement is None:
                return
            await self.store.issue(statement)
            # The author is this node's session: no presence lookup, no bus round trip.
            session.outbox.push(encode_text(frame_of(statement)))
        except Exception:
            log.exception("automated statement failed for %s", session.id)

    def _automated(
        self, session: LocalSession, subject: Subject, verdict: Verdict
    ) -> Statement | None:
        if subject.kind.is_name or verdict.code not in _RESTRICTING:
            return None
        if any(reason.startswith("sanction.") for reason in verdict.reasons):
            return None
        frozen = verdict.code is ErrorCode.CONVERSATION_FROZEN
        decision = "blocked" if frozen else _DECISION_OF_ACTION.get(verdict.action)
        if decision is None:
            return None
        if frozen:
            category = Category.CHILD_SAFETY.value
            ground_text = _FROZEN_GROUND
        elif verdict.category is not None:
            category = verdict.category
            ground_text = GROUND_TEXT.get(category, GROUND_TEXT["other"])
        else:  # the minors fence's own refusals name no policy category
            category = "other"
            ground_text = _FENCE_GROUND
        now = self.core.clock()
        if not self._due(session.key, category, now):
            return None
        where = "in a private conversation" if subject.recipient is not None else "in a room"
        if frozen:
            facts = f"A message you wrote {where} was held: the conversation is paused."
        else:
            facts = (
                f"A message you wrote {where} was refused by the automated screen "
                f"({category.replace('_', ' ')})."
            )
        return new_statement(
            subject_key=session.key,
            decision=decision,
            category=category,
            ground=ground_of(category),
            ground_text=ground_text,
            facts=facts,
            content_type="image" if subject.kind is ContentKind.PHOTO else "text",
            automated_detection=True,
            automated_decision=True,
            # Refused content is never stored: there is nothing to point at.
            content_ref=None,
            content_date=now,
            application_date=now,
            decision_id=verdict.decision_id,
        )

    def _due(self, author_key: str, category: str, now: float) -> bool:
        key = (author_key, category)
        last = self._last.get(key)
        if last is not None and now - last < STATEMENT_INTERVAL:
            return False
        if len(self._last) >= _MEMORY:
            self._last = {k: t for k, t in self._last.items() if now - t < STATEMENT_INTERVAL}
        self._last[key] = now
        return True


__all__ = ["STATEMENT_INTERVAL", "Statements", "frame_of", "ground_of", "plain_words"]
