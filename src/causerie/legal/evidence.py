"""The evidence locker: reported, escalated or ordered content, kept with its context.

Chat messages vanish after the visible window. When content is reported, escalated by the safety
pipeline, or falls under a preservation order, the locker copies it, with the messages around it
and the traffic records of its creation, into the retention database, sealed under the
operator's key and linked into a hash chain. It stays there until released; a release appends a
record to the chain and erases the sealed content, while the hash of that content stays so the
chain still verifies.

Chain: ``hash = SHA-256(prev_hash || canonical(seq, created_at, kind, reason, reference,
subject, content_hash, detail))`` with ``content_hash = SHA-256(plaintext content)``. Altering a
sealed payload breaks its AES-GCM tag or its content hash; altering any clear field, deleting or
reordering records breaks the chain from that record on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from causerie.legal.chain import GENESIS, content_hash, link_hash
from causerie.legal.codec import RetentionCodec
from causerie.legal.errors import EvidenceCorrupted, LegalError
from causerie.legal.scope import Scope
from causerie.legal.store import EvidenceRow, RetentionStores, TrafficStore
from causerie.protocol.identity import nickname_spelling
from causerie.store.messages import MessageStore, StoredMessage

log = logging.getLogger(__name__)

EvidenceReason = Literal["escalated", "reported", "preservation_order", "referral"]
# "referral": a moderator's referral to the legal officer (DSA Art. 18), a whole package.
REASONS: tuple[str, ...] = ("escalated", "reported", "preservation_order", "referral")


@dataclass(frozen=True, slots=True)
class EvidenceReceipt:
    seq: int
    hash: str
    subject: str


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One preserved record, opened."""

    seq: int
    created_at: float
    reason: str
    reference: str
    subject: str
    content: dict[str, Any]
    hash: str


@dataclass(slots=True)
class ChainReport:
    records: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _message_dict(message: StoredMessage) -> dict[str, Any]:
    return {
        "id": f"m{message.id}",
        "room": message.room_id,
        "sender_session": message.sender_session,
        "sender": message.sender_nickname,
        "recipient_session": message.recipient_session,
        "recipient": message.recipient_nickname,
        "text": message.text,
        "at": message.created_at,
    }


def _chain_fields(row: EvidenceRow | dict[str, Any], seq: int) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        "seq": seq,
        "created_at": get("created_at"),
        "kind": get("kind"),
        "reason": get("reason"),
        "reference": get("reference"),
        "subject": get("subject"),
        "content_hash": get("content_hash"),
        "detail": get("detail"),
    }


def _purpose(reference: str, subject: str) -> str:
    return f"evidence|{reference}|{subject}"


class EvidenceLocker:
    """The service the safety pipeline and moderation call to keep content as evidence."""

    def __init__(
        self,
        stores: RetentionStores,
        codec: RetentionCodec,
        messages: MessageStore | None,
        *,
        context_messages: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stores = stores
        self.codec = codec
        self.messages = messages
        self.context_messages = context_messages
        self.clock = clock

    async def preserve_message(
        self,
        message_id: int,
        reason: EvidenceReason,
        *,
        reference: str,
        context: int | None = None,
    ) -> EvidenceReceipt:
        """Copy a stored chat message, its neighbours and its traffic records into evidence.

        ``reference`` ties the evidence to what caused it (a report id, a decision id, a
        preservation order id); :meth:`release` frees everything under one reference.
        """
        if self.messages is None:
            raise LegalError("the evidence locker was built without the chat message store")
        span = self.context_messages if context is None else context
        thread = await self.messages.around(message_id, span, span)
        subject = next((m for m in thread if m.id == message_id), None)
        if subject is None:
            raise LegalError(
                f"message m{message_id} is no longer in the chat store (messages are purged after"
                " the visible window): preserve content when it is reported or escalated"
            )
        traffic = await _traffic_of(self.stores.traffic, self.codec, f"m{message_id}")
        content = {
            "message": _message_dict(subject),
            "context": [_message_dict(m) for m in thread if m.id != message_id],
            "traffic": traffic,
        }
        return await self._append(
            reason, reference, f"m{message_id}", subject.sender_nickname, content
        )

    async def preserve_submission(
        self,
        *,
        reason: EvidenceReason,
        reference: str,
        session_id: str,
        nickname: str,
        text: str,
        at: float,
        room_id: str | None = None,
        recipient: str | None = None,
        submission_id: str,
    ) -> EvidenceReceipt:
        """Keep content that was never stored as a message (the pipeline blocked it).

        ``submission_id`` names it (for example ``b<decision id>``); the context is the room's
        latest messages, and the traffic records are those of the author's session.
        """
        context: list[dict[str, Any]] = []
        if self.messages is not None and room_id is not None:
            recent = await self.messages.recent_in_room(room_id, 0.0, self.context_messages)
            context = [_message_dict(m) for m in recent]
        traffic = await _traffic_of(self.stores.traffic, self.codec, "", session_id=session_id)
        content = {
            "message": {
                "id": submission_id,
                "room": room_id,
                "sender_session": session_id,
                "sender": nickname,
                "recipient": recipient,
                "text": text,
                "at": at,
                "delivered": False,
            },
            "context": context,
            "traffic": traffic,
        }
        return await self._append(reason, reference, submission_id, nickname, content)

    async def _append(
        self, reason: str, reference: str, subject: str, author: str, content: dict[str, Any]
    ) -> EvidenceReceipt:
        if reason not in REASONS:
            raise LegalError(f"unknown evidence reason {reason!r}; one of {REASONS}")
        if not reference or len(reference) > 200:
            raise LegalError("evidence needs a reference of 1 to 200 characters")
        plaintext = msgspec.json.encode(content)
        key = self.codec.keyring.current
        values = {
            "created_at": self.clock(),
            "kind": "preserved",
            "reason": reason,
            "reference": reference,
            "subject": subject,
            "key_id": key.id,
            "nickname_idx": key.index(nickname_spelling(author)) if author else None,
            "sealed": key.seal(plaintext, _purpose(reference, subject).encode()),
            "content_hash": content_hash(plaintext),
            "detail": "",
        }
        seq, digest = await self.stores.evidence.append(
            values, lambda seq, prev: self._link(prev, values, seq)
        )
        return EvidenceReceipt(seq=seq, hash=digest, subject=subject)

    async def preserve_referral(
        self, *, reference: str, subject: str, author: str, content: dict[str, Any]
    ) -> EvidenceReceipt:
        """Seal a referral package (content, times, reasons, locating data) in the chain."""
        return await self._append("referral", reference, subject, author, content)

    async def referrals(self) -> list[EvidenceItem]:
        """Every referral package still held, oldest first."""
        items: list[EvidenceItem] = []
        after = 0
        while True:
            rows = await self.stores.evidence.page(after, 500)
            if not rows:
                return items
            for row in rows:
                if row.reason == "referral" and row.kind == "preserved" and row.sealed:
                    items.append(self.open(row))
            after = rows[-1].seq

    async def release(self, reference: str, *, why: str) -> int:
        """Free everything held under ``reference``: the content is erased, the chain stays."""
        held = await self.stores.evidence.held(reference)
        if not held:
            return 0
        detail = json.dumps({"released": [r.seq for r in held], "why": why[:200]})
        values = {
            "created_at": self.clock(),
            "kind": "released",
            "reason": "released",
            "reference": reference,
            "subject": "",
            "key_id": None,
            "nickname_idx": None,
            "sealed": None,
            "content_hash": content_hash(b""),
            "detail": detail,
        }
        # The release is recorded before the erasure: a crash between them leaves content
        # that verify reports as released-but-present, never content that vanished unrecorded.
        await self.stores.evidence.append(values, lambda seq, prev: self._link(prev, values, seq))
        await self.stores.evidence.erase([r.seq for r in held])
        return len(held)

    def _link(self, prev_hash: str, values: dict[str, Any], seq: int) -> str:
        return link_hash(self.codec.keyring.chain_key, prev_hash, _chain_fields(values, seq))

    def _plaintext(self, row: EvidenceRow) -> bytes:
        if row.sealed is None or row.key_id is None:
            raise EvidenceCorrupted(f"evidence record {row.seq} holds no content (released)")
        try:
            plaintext = self.codec.keyring.open(
                row.key_id, row.sealed, _purpose(row.reference, row.subject).encode()
            )
        except LegalError as exc:
            raise EvidenceCorrupted(f"evidence record {row.seq} cannot be opened: {exc}") from None
        if content_hash(plaintext) != row.content_hash:
            raise EvidenceCorrupted(f"evidence record {row.seq} does not match its content hash")
        return plaintext

    def open(self, row: EvidenceRow) -> EvidenceItem:
        """The record's content, after checking it against its seal and its content hash."""
        return EvidenceItem(
            seq=row.seq,
            created_at=row.created_at,
            reason=row.reason,
            reference=row.reference,
            subject=row.subject,
            content=msgspec.json.decode(self._plaintext(row)),
            hash=row.hash,
        )

    def reseal(self, row: EvidenceRow) -> tuple[str, str | None, bytes]:
        """The record's content sealed under the current key (for re-encryption).

        Only the key id, the author index and the ciphertext change: the chain covers the
        content's hash, not its ciphertext, so re-encryption leaves it intact.
        """
        plaintext = self._plaintext(row)
        content = msgspec.json.decode(plaintext)
        key = self.codec.keyring.current
        author = str(content.get("message", {}).get("sender", ""))
        author_idx = key.index(nickname_spelling(author)) if author else None
        return (
            key.id,
            author_idx,
            key.seal(plaintext, _purpose(row.reference, row.subject).encode()),
        )

    async def for_scope(self, scope: Scope) -> list[EvidenceItem]:
        """Held evidence about the scope's content ids or written by its nicknames, in range."""
        rows = await self.stores.evidence.find(
            scope.content_ids, self.codec.nickname_indexes(scope.nicknames)
        )
        items: list[EvidenceItem] = []
        for row in rows:
            item = self.open(row)
            message = item.content.get("message", {})
            at = float(message.get("at", item.created_at))
            in_range = scope.start is None or scope.end is None or scope.start <= at < scope.end
            by_content = row.subject in scope.content_ids
            by_author = nickname_spelling(str(message.get("sender", ""))) in scope.nicknames
            if by_content or (by_author and in_range):
                items.append(item)
        return items

    async def verify(self) -> ChainReport:
        """Recompute the whole chain and open every held record; report every mismatch."""
        report = ChainReport()
        chain_key = self.codec.keyring.chain_key
        prev = GENESIS
        expected_seq = 1
        released: set[int] = set()
        erased: list[int] = []
        after = 0
        while True:
            page = await self.stores.evidence.page(after, 500)
            if not page:
                break
            for row in page:
                after = row.seq
                report.records += 1
                if row.seq != expected_seq:
                    report.problems.append(
                        f"record {expected_seq} is missing (the next one is {row.seq})"
                    )
                expected_seq = row.seq + 1
                if row.prev_hash != prev:
                    report.problems.append(
                        f"record {row.seq} does not follow the record before it (prev_hash)"
                    )
                if link_hash(chain_key, row.prev_hash, _chain_fields(row, row.seq)) != row.hash:
                    report.problems.append(
                        f"record {row.seq} was altered: its fields no longer match its hash"
                    )
                prev = row.hash
                if row.kind == "released":
                    try:
                        released.update(int(s) for s in json.loads(row.detail)["released"])
                    except (ValueError, KeyError, TypeError):
                        report.problems.append(f"release record {row.seq} is unreadable")
                elif row.sealed is None:
                    erased.append(row.seq)
                else:
                    try:
                        self.open(row)
                    except EvidenceCorrupted as exc:
                        report.problems.append(str(exc))
        for seq in erased:
            if seq not in released:
                report.problems.append(
                    f"record {seq} has lost its content without a release record"
                )
        report.head = prev
        return report


async def _traffic_of(
    store: TrafficStore, codec: RetentionCodec, content_id: str, *, session_id: str = ""
) -> list[dict[str, Any]]:
    scope = Scope(content_ids=(content_id,) if content_id else ())
    query = codec.query(scope, sessions=(session_id,) if session_id else ())
    records = [codec.open_traffic(row) for row in await store.find(query, limit=100)]
    return [
        r.as_dict()
        for r in records
        if (content_id and r.content_id == content_id)
        or (session_id and r.session_id == session_id)
    ]
