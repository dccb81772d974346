"""Photos in rooms and private conversations, on the same delivery path as text.

A chatter sends ``photo_upload`` (where, caption); the server checks that the photo may go there
and answers ``upload_granted``; the next binary WebSocket message is the file. Then, before anyone
receives anything:

1. the file is sanitised and re-encoded (nothing of the upload's bytes or metadata is kept),
   hashed (PDQ, MD5, SHA-256) and matched against the operator's hash lists, and scored for
   nudity, in a worker thread (:class:`causerie.photos.service.PhotoPipeline`);
2. a match is never delivered: the original bytes are sealed in the evidence locker with the
   sender's traffic records, a child-safety review job holds the report's fields, and the sender
   reads only that the photo was not sent;
3. the caption and the photo go through the one moderation chain (:class:`Moderation`), the
   minors fence included (an adult's photo to a minor is an attempt, and is escalated);
4. an explicit photo never goes where a minor receives it and is blurred between adults;
5. the photo is stored (files on disk, metadata with the message), recorded for retention and
   published with capability URLs that only its recipients receive.

Where photos may go is written once (:meth:`causerie.domain.Audience.shares_photos_from`): only
rooms whose every reader is on the sender's side of the age line, and private conversations on
one side (the fence refuses the others).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from dataclasses import dataclass

from causerie.chat.core import ChatCore, author_of
from causerie.chat.delivery import Delivery
from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.domain import Audience, Category, ContentKind, ReviewQueue
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.verdict import Subject
from causerie.photos.errors import PhotoError
from causerie.photos.removed import REMOVED_LIST
from causerie.photos.service import PhotoPipeline, Processed
from causerie.photos.storage import PhotoStorage
from causerie.photos.store import PhotoRecord, PhotoStore
from causerie.protocol import frames as f
from causerie.protocol.codec import encode_text
from causerie.protocol.identity import nickname_key
from causerie.settings import PhotoSettings
from causerie.store.presence import OnlineSession
from causerie.store.review import ItemKind, NewItem, NewJob, ReviewStore, Source
from causerie.store.rooms import RoomRow
from causerie.trust.fence import EvidenceSink

log = logging.getLogger(__name__)

NOT_HERE = (
    "Photos can only be shared where everyone is on your side of the age line: in teen rooms"
    " between under-18s, in adults-only rooms and in private between adults."
)
REFUSED = "This photo was not sent."
REMOVED_BEFORE = "Our moderators removed this photo before: it cannot be sent again."


@dataclass(frozen=True, slots=True)
class PendingPhoto:
    """A granted upload, waiting for its bytes."""

    ref: str | None
    caption: str
    expires_at: float
    room: RoomRow | None = None
    recipient: OnlineSession | None = None


@dataclass(frozen=True, slots=True)
class PhotoParts:
    """What the photo use case needs besides the chat core, built by the node."""

    settings: PhotoSettings
    pipeline: PhotoPipeline
    store: PhotoStore
    storage: PhotoStorage
    review: ReviewStore
    evidence: EvidenceSink


class Photos:
    def __init__(self, core: ChatCore, delivery: Delivery, parts: PhotoParts) -> None:
        self.core = core
        self.delivery = delivery
        self.settings = parts.settings
        self.pipeline = parts.pipeline
        self.store = parts.store
        self.storage = parts.storage
        self.review = parts.review
        self.evidence = parts.evidence

    async def grant(self, session: LocalSession, frame: f.PhotoUpload) -> PendingPhoto:
        """Check where the photo would go, before its bytes are sent."""
        core = self.core
        if not self.settings.enabled:
            raise ChatError(ErrorCode.PHOTOS_DISABLED, "photos are turned off on this site")
        caption = " ".join(frame.caption.split())
        if len(caption) > self.settings.caption_max_chars:
            raise ChatError(
                ErrorCode.MESSAGE_TOO_LONG,
                f"a caption has at most {self.settings.caption_max_chars} characters",
                field="caption",
            )
        expires_at = core.clock() + self.settings.upload_seconds
        if (frame.room is None) == (frame.to is None):
            raise ChatError(
                ErrorCode.INVALID_FIELD, "a photo goes to one room or one person", field="room"
            )
        if frame.room is not None:
            if frame.room not in session.rooms:
                raise ChatError(
                    ErrorCode.NOT_IN_ROOM, f"join {frame.room!r} first", room=frame.room
                )
            room = await core.room_for_message(frame.room)
            if not Audience(room.audience).shares_photos_from(session.band):
                raise ChatError(ErrorCode.PHOTO_NOT_HERE, NOT_HERE, room=room.id)
            return PendingPhoto(frame.ref, caption, expires_at, room=room)
        assert frame.to is not None
        key = nickname_key(frame.to)
        recipient = await core.presence.by_key(key)
        if recipient is None or key == session.key:
            raise ChatError(
                ErrorCode.RECIPIENT_NOT_FOUND, f"{frame.to} is not connected", nickname=frame.to
            )
        return PendingPhoto(frame.ref, caption, expires_at, recipient=recipient)

    async def send(
        self, session: LocalSession, pending: PendingPhoto, data: bytes, peer: Peer
    ) -> f.Ack:
        core = self.core
        if core.clock() > pending.expires_at:
            raise ChatError(ErrorCode.PHOTO_NOT_EXPECTED, "the upload's time ran out: try again")
        try:
            processed = await asyncio.to_thread(self.pipeline.process, data)
        except PhotoError as refused:
            log.info("photo from %s refused: %s", session.id, refused)
            raise ChatError(ErrorCode(refused.code.value), _words(refused)) from None
        if processed.match is not None and processed.match.list_name == REMOVED_LIST:
            log.info("photo from %s refused: a moderator removed it before", session.id)
            raise ChatError(ErrorCode.PHOTO_REFUSED, REMOVED_BEFORE)
        if processed.match is not None:
            await self._known_image(session, pending, data, processed, peer)
            raise ChatError(ErrorCode.PHOTO_REFUSED, REFUSED)
        explicit = (
            processed.nsfw_score is not None
            and processed.nsfw_score >= self.settings.explicit_threshold
        )
        subject = Subject(
            kind=ContentKind.PHOTO,
            text=pending.caption,
            author=author_of(session),
            room=pending.room,
            recipient=pending.recipient,
        )
        # The fence reads a photo as an image whatever its caption says; the policy reads the
        # caption.
        verdict = await self.delivery.screen(session, subject, refused=ErrorCode.PHOTO_REFUSED)
        if explicit and self._minor_receives(pending):
            await self._explicit_where_minors_read(session, pending, processed)
            raise ChatError(ErrorCode.PHOTO_REFUSED, REFUSED)
        return await self._deliver(
            session, pending, processed, peer, blurred=explicit or verdict.blurred
        )

    def _minor_receives(self, pending: PendingPhoto) -> bool:
        if pending.recipient is not None:
            return pending.recipient.age < 18
        return pending.room is not None and Audience(pending.room.audience).minors_may_read

    async def _deliver(
        self,
        session: LocalSession,
        pending: PendingPhoto,
        processed: Processed,
        peer: Peer,
        *,
        blurred: bool,
    ) -> f.Ack:
        core = self.core
        image = processed.image
        photo_id = secrets.token_urlsafe(24)
        storage_key = await asyncio.to_thread(self.storage.put, image.data)
        thumbnail_key = await asyncio.to_thread(self.storage.put, image.thumbnail)
        now = core.clock()
        room, recipient = pending.room, pending.recipient
        try:
            await self.store.add_photo(
                PhotoRecord(
                    id=photo_id,
                    owner_session=session.id,
                    room_id=room.id if room else None,
                    recipient_key=recipient.nickname_key if recipient else None,
                    width=image.width,
                    height=image.height,
                    content_type=image.content_type,
                    storage_key=storage_key,
                    thumbnail_key=thumbnail_key,
                    pdq=processed.hashes.pdq,
                    sha256=processed.hashes.sha256,
                    nsfw_score=processed.nsfw_score,
                    created_at=now,
                    expires_at=now + core.visible_seconds,
                )
            )
            message_id = await core.messages.add(
                room_id=room.id if room else None,
                sender_session=session.id,
                sender_nickname=session.nickname,
                recipient_session=recipient.id if recipient else None,
                recipient_nickname=recipient.nickname if recipient else None,
                text=pending.caption,
                blurred=blurred,
                photo_id=photo_id,
                created_at=now,
                expires_at=now + core.visible_seconds,
            )
        except BaseException:
            # Nothing half-stored: the files go with the rows that failed.
            self.storage.delete(storage_key)
            self.storage.delete(thumbnail_key)
            await self.store.delete_photos([photo_id])
            raise
        await self.delivery.record_content(session, message_id, f"photo:{photo_id}", peer, now)
        frame = f.PhotoMessage(
            id=message_id,
            sender=session.nickname,
            width=image.width,
            height=image.height,
            url=f"/photos/{photo_id}",
            thumb_url=f"/photos/{photo_id}/thumb",
            at=now,
            room=room.id if room else None,
            recipient=recipient.nickname if recipient else None,
            caption=pending.caption,
            blurred=blurred,
            sender_key=session.key,
        )
        if room is not None:
            await core.publish(frame, room=room.id, sender_key=session.key)
        else:
            assert recipient is not None
            await core.publish(frame, session=recipient.id, sender_key=session.key)
            # The sender sees what they sent, as in a room.
            session.outbox.push(encode_text(frame))
        return f.Ack(ref=pending.ref, id=message_id, at=now)

    async def purge(self, now: float) -> int:
        """Photos expire with their messages: files first, then their rows."""
        removed = 0
        while expired := await self.store.expired(now):
            for _photo_id, storage_key, thumbnail_key in expired:
                self.storage.delete(storage_key)
                self.storage.delete(thumbnail_key)
            removed += await self.store.delete_photos([photo_id for photo_id, _, _ in expired])
        return removed

    async def file(self, photo_id: str, *, thumbnail: bool) -> tuple[bytes, str] | None:
        """A photo's bytes and type, by its capability id; None once it expired or was
        blocked."""
        record = await self.store.get_photo(photo_id)
        if record is None or record.blocked or record.expires_at <= self.core.clock():
            return None
        key = record.thumbnail_key if thumbnail else record.storage_key
        data = await asyncio.to_thread(self.storage.get, key)
        if data is None:
            return None
        return data, record.content_type

    async def _known_image(
        self,
        session: LocalSession,
        pending: PendingPhoto,
        data: bytes,
        processed: Processed,
        peer: Peer,
    ) -> None:
        """A hash-list match: seal the original, open a child-safety job with the report's
        fields. Nothing is delivered and the sender is not told why."""
        match = processed.match
        assert match is not None
        core = self.core
        now = core.clock()
        hashes = processed.hashes
        reference = f"photo-match-{hashes.sha256[:16]}-{secrets.token_hex(4)}"
        place = _place(pending)
        log.warning(
            "photo from session %s matched list %s (%s distance %d): blocked",
            session.id,
            match.list_name,
            match.kind,
            match.distance,
        )
        report = {
            "incident": "known image matched before delivery",
            "place": place,
            "screen_name": session.nickname,
            "session": session.id,
            "ip": peer.ip,
            "port": peer.port,
            "at": now,
            "list": match.list_name,
            "match_kind": str(match.kind),
            "distance": match.distance,
            "quality": match.quality,
            "pdq": hashes.pdq,
            "md5": hashes.md5,
            "sha256": hashes.sha256,
            "staff_viewed": False,
        }
        try:
            await self.evidence.preserve_submission(
                reason="escalated",
                reference=reference,
                session_id=session.id,
                nickname=session.nickname,
                text=json.dumps(
                    {**report, "original_b64": base64.b64encode(data).decode("ascii")},
                    sort_keys=True,
                ),
                at=now,
                room_id=pending.room.id if pending.room else None,
                recipient=pending.recipient.nickname if pending.recipient else None,
                submission_id=f"p{hashes.sha256[:32]}",
            )
        except Exception:
            log.exception("evidence locker failed for a matched photo (%s)", reference)
        await self.review.enqueue(
            NewItem(
                kind=ItemKind.PHOTO,
                key=f"photo-match:{session.key}:{hashes.sha256}",
                author_key=session.key,
                author_nickname=session.nickname,
                text=json.dumps(report, sort_keys=True),
                author_session=session.id,
                author_band=session.band,
                room_id=pending.room.id if pending.room else None,
                recipient_key=pending.recipient.nickname_key if pending.recipient else None,
                place=place,
                content_id=f"evidence:{reference}",
                signals=(f"hash_match:{match.kind}:{match.distance}",),
            ),
            NewJob(
                queue=ReviewQueue.CHILD_SAFETY,
                priority=0,
                source=Source.HASH_MATCH,
                kind="known_image",
                reason=(
                    f"photo matched list {match.list_name}"
                    f" ({match.kind}, distance {match.distance})"
                ),
                category=Category.CHILD_SAFETY,
            ),
            now=now,
        )

    async def _explicit_where_minors_read(
        self, session: LocalSession, pending: PendingPhoto, processed: Processed
    ) -> None:
        """An explicit photo bound for a minor (a teen room, a private chat between minors):
        refused, and a child-safety moderator looks."""
        now = self.core.clock()
        place = _place(pending)
        await self.review.enqueue(
            NewItem(
                kind=ItemKind.PHOTO,
                key=f"photo-explicit:{session.key}:{processed.hashes.sha256}",
                author_key=session.key,
                author_nickname=session.nickname,
                author_session=session.id,
                author_band=session.band,
                room_id=pending.room.id if pending.room else None,
                recipient_key=pending.recipient.nickname_key if pending.recipient else None,
                place=place,
                signals=(f"nudity:{processed.nsfw_score:.2f}",),
            ),
            NewJob(
                queue=ReviewQueue.CHILD_SAFETY,
                priority=0,
                source=Source.NUDITY,
                kind="explicit_photo",
                reason="an explicit photo where a minor would receive it",
                category=Category.CHILD_SAFETY,
                score=processed.nsfw_score,
            ),
            now=now,
        )


def _place(pending: PendingPhoto) -> str:
    if pending.room is not None:
        return pending.room.id
    return f"@{pending.recipient.nickname}" if pending.recipient is not None else ""


_WORDS = {
    "photo_too_large": "This photo is too large.",
    "photo_empty": "The photo was empty.",
    "photo_format_unsupported": "Send a JPEG, PNG, WebP or GIF photo.",
    "photo_corrupt": "This photo is damaged and cannot be read.",
    "photo_polyglot": "This file holds more than a photo and cannot be sent.",
    "photo_dimensions": "This photo's dimensions are not accepted.",
    "photo_bomb": "This photo is too large to open safely.",
}


def _words(refused: PhotoError) -> str:
    return _WORDS.get(refused.code.value, "This photo cannot be sent.")
