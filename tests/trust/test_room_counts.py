"""Room counts, like member lists, do not tell one side of the age line about the other."""

from __future__ import annotations

from tests.conftest import RunningServer


async def test_room_counts_only_include_the_viewers_side(server: RunningServer) -> None:
    async with server.client() as teen, server.client() as adult, server.client() as other:
        await teen.enter("Lina", 15, "woman", "33000")
        await adult.enter("Marc", 40, "man", "33000")
        await other.enter("Sofia", 35, "woman", "69001")
        for client in (teen, adult, other):
            await client.join("general")
        seen_by_adult = {room.id: room.count for room in await adult.rooms()}
        seen_by_teen = {room.id: room.count for room in await teen.rooms()}
        assert seen_by_adult["general"] == 2
        assert seen_by_teen["general"] == 1
