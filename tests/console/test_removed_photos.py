"""A photo a moderator removed cannot come back: its hashes join the bank's moderator list, and a
re-upload (even re-encoded) is refused plainly, without a child-safety escalation."""

from __future__ import annotations

import io

from causerie.domain import ReviewQueue
from causerie.errors import ChatError, ErrorCode
from causerie.photos.removed import REMOVED_LIST
from causerie.protocol import frames as f
from causerie.store.review import Source
from causerie.store.staff import Role
from tests.console.conftest import Console
from tests.harness import Chatter
from tests.photos.images import scene


def _png(seed: int, quality: int | None = None) -> bytes:
    out = io.BytesIO()
    image = scene(seed)
    if quality is None:
        image.save(out, format="PNG")
    else:
        image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


async def _send(chatter: Chatter, data: bytes) -> f.Ack:
    photos = chatter.node.chat.photos
    pending = await photos.grant(chatter.session, f.PhotoUpload(to="Alice"))
    return await photos.send(chatter.session, pending, data, chatter.peer)


async def test_a_removed_photo_is_refused_when_sent_again(console: Console) -> None:
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31)
    ack = await _send(bob, _png(7))
    await h.node.chat.report(alice.session, f"private:{ack.id}", "other", "", None)
    (job,) = await console.parts.review.jobs(sources=[Source.REPORT])
    mia = console.actor("mia", Role.MODERATOR)
    await console.parts.actions.claim(mia, job.id)
    outcome = await console.parts.actions.decide(mia, job.id, "remove", note="not here")
    assert outcome.removed == [ack.id]
    lists = {e.list_name for e in await h.node.photo_store.bank_entries()}
    assert REMOVED_LIST in lists

    # The same image, and a re-encoded copy of it, are refused; another image passes.
    for again in (_png(7), _png(7, quality=70)):
        try:
            await _send(bob, again)
        except ChatError as refused:
            assert refused.code == ErrorCode.PHOTO_REFUSED
            assert "removed this photo before" in refused.message
        else:
            raise AssertionError("a removed photo was delivered again")
    await _send(bob, _png(8))
    # A moderator's removal is not a known illegal image: nothing reaches the child-safety queue.
    jobs = await console.parts.review.jobs(limit=100)
    assert not [j for j in jobs if j.queue is ReviewQueue.CHILD_SAFETY]
