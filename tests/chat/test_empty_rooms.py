"""A chatter's room lives while someone is in it: once empty (and past a short grace for its host
reloading the page), the purge removes it; the operator's rooms stay, empty or not."""

from __future__ import annotations

from pathlib import Path

from causerie.chat.service import EMPTY_ROOM_GRACE_SECONDS
from tests.harness import harness


async def test_empty_chatter_rooms_are_removed_after_the_grace(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        host = await h.enter("Hote", 15)
        other = await h.enter("Invite", 16)
        left_alone = await h.node.chat.create_room(host.session, "Jardinage du dimanche", "")
        kept = await h.node.chat.create_room(other.session, "Cuisine du monde", "")
        await h.node.chat.leave(host.session, [left_alone.room.id])
        h.clock.advance(EMPTY_ROOM_GRACE_SECONDS / 2)
        await h.node.chat.purge_expired()
        # Within the grace the empty room is still there for its host.
        assert await h.node.rooms.get(left_alone.room.id) is not None
        h.clock.advance(EMPTY_ROOM_GRACE_SECONDS)
        await h.node.chat.purge_expired()
        assert await h.node.rooms.get(left_alone.room.id) is None
        assert await h.node.rooms.get(kept.room.id) is not None
        # The operator's rooms are not chatters' rooms: "general" stays though nobody is in it.
        assert await h.node.rooms.get("general") is not None
