"""Issue 14: a join lists one page of members, the next pages on request; minors and adults
never see each other on any page."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from causerie.protocol import frames as f
from causerie.settings import Settings
from tests.conftest import adults_in_general, run_server
from tests.harness import Chatter, Harness, harness

ADULTS = ("Anna", "Bruno", "Chloe", "Denis", "Elsa", "Farid", "Gina")
MINORS = ("Max", "Nina", "Oscar")


async def fill(h: Harness) -> tuple[list[Chatter], list[Chatter]]:
    adults = [await h.enter(name, 30 + i) for i, name in enumerate(ADULTS)]
    minors = [await h.enter(name, 15) for name in MINORS]
    for chatter in adults + minors:
        await chatter.join("general")
    return adults, minors


async def pages(h: Harness, chatter: Chatter, joined: f.Joined) -> list[list[str]]:
    """The names on the join's page and on every page after it, asked one by one."""
    listed = [[p.nickname for p in joined.members]]
    after = joined.members_next
    while after is not None:
        page = await h.node.chat.members(chatter.session, "general", after)
        assert page.after == after
        listed.append([p.nickname for p in page.members])
        after = page.next
    return listed


async def test_a_join_lists_one_page_and_the_rest_comes_page_by_page(tmp_path: Path) -> None:
    async with harness(tmp_path, chat={"members_page_size": 3}) as h:
        adults, minors = await fill(h)
        newcomer = await h.enter("Hugo", 52)
        (joined,) = await newcomer.join("general")
        # The count is the room's, as the room list shows it; the pages are the viewer's side.
        assert joined.room.count == len(ADULTS) + len(MINORS) + 1
        assert len(joined.members) == 3
        assert await pages(h, newcomer, joined) == [
            ["Anna", "Bruno", "Chloe"],
            ["Denis", "Elsa", "Farid"],
            ["Gina", "Hugo"],
        ]

        teen = await h.enter("Zoe", 14)
        (joined,) = await teen.join("general")
        assert await pages(h, teen, joined) == [["Max", "Nina", "Oscar"], ["Zoe"]]

        first = await h.node.chat.members(adults[0].session, "general", "")
        assert first.after == "" and first.next is not None
        assert [p.nickname for p in first.members] == ["Anna", "Bruno", "Chloe"]
        # A cursor past the end is an empty last page, not an error.
        last = await h.node.chat.members(minors[0].session, "general", "zzz")
        assert (last.members, last.next) == ([], None)


async def test_a_room_within_one_page_has_no_next(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        alice = await h.enter("Alice", 30)
        (joined,) = await alice.join("general")
        assert [p.nickname for p in joined.members] == ["Alice"]
        assert joined.members_next is None


async def test_the_client_follows_the_pages(
    make_settings: Callable[..., Settings],
) -> None:
    names = ("Alice", "Bruno", "Chloe", "Denis", "Elsa")
    async with (
        run_server(make_settings(chat={"members_page_size": 2})) as server,
        contextlib.AsyncExitStack() as stack,
    ):
        *_, (client, joined) = await adults_in_general(server, stack, names)
        assert [p.nickname for p in joined.members] == ["Alice", "Bruno"]
        assert joined.members_next is not None
        page = await client.member_page("general", after=joined.members_next)
        assert [p.nickname for p in page.members] == ["Chloe", "Denis"]
        assert page.next is not None
        last = await client.member_page("general", after=page.next)
        assert ([p.nickname for p in last.members], last.next) == (["Elsa"], None)
        assert [p.nickname for p in await client.members("general")] == list(names)
