"""The web client in a real Chromium against a real server: entry, rooms, private conversations."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    async_playwright,
    expect,
)

from causerie.errors import ErrorCode
from causerie.gateway.app import STATIC
from causerie.settings import Settings
from tests.conftest import RunningServer, adults_in_general, run_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests drive Debian's chromium at {CHROMIUM}: apt install chromium"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    # Requests the page made to anywhere but the test server: the client must make none.
    outside: list[str] = field(default_factory=list)


async def new_tab(browser: Browser, locale: str = "fr-FR") -> Tab:
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    tab = Tab(context, await context.new_page())

    def check(request: Request) -> None:
        if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")):
            tab.outside.append(request.url)

    tab.page.on("request", check)
    return tab


async def fill_entry(page: Page, nickname: str, age: int, gender: str, postal_code: str) -> None:
    await page.get_by_test_id("entry-nickname").fill(nickname)
    await page.get_by_test_id("entry-age").fill(str(age))
    await page.get_by_test_id("entry-gender").select_option(gender)
    await page.get_by_test_id("entry-postal").fill(postal_code)
    await page.get_by_test_id("entry-submit").click()


async def enter(
    page: Page, server: RunningServer, nickname: str, age: int, gender: str, postal_code: str
) -> None:
    await page.goto(f"{server.http}/")
    await fill_entry(page, nickname, age, gender, postal_code)
    await expect(page.get_by_test_id("me")).to_have_text(nickname)


@pytest.mark.browser
async def test_two_chatters_talk_in_a_room_and_in_private(
    server: RunningServer, browser: Browser
) -> None:
    alice_tab, bob_tab = await new_tab(browser), await new_tab(browser)
    alice, bob = alice_tab.page, bob_tab.page
    await enter(alice, server, "Alice", 30, "woman", "75011")
    await enter(bob, server, "Bernard", 41, "man", "69003")

    await alice.locator('[data-testid=room-item][data-room="general"]').click()
    await expect(alice.get_by_test_id("conv-title")).to_have_text("Général")
    await bob.locator('[data-testid=room-item][data-room="general"]').click()
    await expect(bob.get_by_test_id("conv-title")).to_have_text("Général")
    alice_members = alice.get_by_test_id("member-list")
    await expect(alice_members.locator('[data-nickname="Bernard"]')).to_be_visible()

    await alice.get_by_test_id("composer-input").fill("Bonjour à tous !")
    await alice.get_by_test_id("composer-input").press("Enter")
    seen_by_bob = bob.locator('[data-testid=message][data-sender="Alice"]')
    await expect(seen_by_bob.get_by_test_id("message-text")).to_have_text("Bonjour à tous !")
    # Alice's own copy is confirmed by the server, not left pending.
    own = alice.locator('[data-testid=message][data-sender="Alice"]')
    await expect(own).to_have_count(1)
    await expect(own).not_to_have_class(re.compile(r"\bpending\b"))
    await expect(own).to_have_attribute("data-id", re.compile(r"^\d+$"))

    # Bernard writes to Alice privately from the room's member list.
    await (
        bob.get_by_test_id("member-list")
        .locator('[data-nickname="Alice"] [data-testid=person-write]')
        .click()
    )
    await expect(bob.get_by_test_id("conv-title")).to_contain_text("Alice")
    await bob.get_by_test_id("composer-input").fill("Salut Alice, tu écoutes quoi en ce moment ?")
    await bob.get_by_test_id("composer-send").click()
    sent = bob.locator('[data-testid=message][data-sender="Bernard"]')
    await expect(sent).to_have_attribute("data-id", re.compile(r"^\d+$"))

    # Alice was in the room: the private conversation opens as a flagged tab.
    tab = alice.locator('[data-testid=conv-tab][data-conv="p:Bernard"]')
    await expect(tab.locator(".badge")).to_have_text("1")
    await tab.click()
    received = alice.locator('[data-testid=message][data-sender="Bernard"]')
    await expect(received.get_by_test_id("message-text")).to_have_text(
        "Salut Alice, tu écoutes quoi en ce moment ?"
    )
    await expect(tab.locator(".badge")).to_have_count(0)

    for tab in (alice_tab, bob_tab):
        assert tab.outside == []
        await tab.context.close()


@pytest.mark.browser
async def test_a_refused_entry_is_explained_in_plain_words(
    server: RunningServer, browser: Browser
) -> None:
    tab = await new_tab(browser)
    page = tab.page
    await page.goto(f"{server.http}/")
    error = page.get_by_test_id("entry-error")

    await fill_entry(page, "Petitou", 12, "other", "75011")
    await expect(error).to_contain_text("à partir de 13 ans")
    await expect(page.get_by_test_id("entry-age")).to_have_attribute("aria-invalid", "true")

    await fill_entry(page, "Camille", 30, "nonbinary", "00000")
    await expect(error).to_contain_text("Ce code postal n'existe pas")
    await expect(page.get_by_test_id("entry-postal")).to_have_attribute("aria-invalid", "true")

    # The language switch applies at once and is remembered.
    await page.get_by_test_id("lang-select").select_option("en")
    await expect(page.get_by_test_id("entry-submit")).to_have_text("Enter")
    await page.get_by_test_id("entry-submit").click()
    await expect(error).to_contain_text("This postal code does not exist")
    await page.reload()
    await expect(page.get_by_test_id("entry-submit")).to_have_text("Enter")

    # Every error code the server can send has a sentence in both languages.
    errors = await page.evaluate(
        "async () => (await import('/js/i18n.js')).ERRORS",
    )
    for code in ErrorCode:
        assert errors.get(code.value, {}).get("fr"), code
        assert errors.get(code.value, {}).get("en"), code
    assert tab.outside == []
    await tab.context.close()


@pytest.mark.browser
async def test_a_minor_is_told_why_private_chats_and_adult_rooms_are_closed(
    server: RunningServer, browser: Browser
) -> None:
    teen_tab, adult_tab = await new_tab(browser), await new_tab(browser)
    teen, adult = teen_tab.page, adult_tab.page
    await enter(teen, server, "Lou", 15, "other", "33000")
    await enter(adult, server, "Marc", 35, "man", "33000")
    for page in (teen, adult):
        await page.locator('[data-testid=room-item][data-room="general"]').click()
        await expect(page.get_by_test_id("conv-title")).to_have_text("Général")

    # No adults-only room can be joined from the minor's list.
    closed = teen.locator('[data-testid=room-item][data-room="18-25-ans"]')
    assert await closed.count() == 0 or await closed.get_attribute("aria-disabled") == "true"

    # A minor's counts say what they count: only the people under 18.
    await expect(
        teen.locator('[data-testid=room-item][data-room="general"] .count')
    ).to_contain_text("jeunes en ligne")
    await expect(
        adult.locator('[data-testid=room-item][data-room="general"] .count')
    ).not_to_contain_text("jeunes")
    # In a room open to all ages, minors and adults are not listed to each other...
    await expect(teen.get_by_test_id("members-title")).to_have_text("Membres (1)")
    await expect(
        adult.get_by_test_id("member-list").locator('[data-nickname="Lou"]')
    ).to_have_count(0)
    # ...and a minor who tries to write privately to an adult is told why it cannot be.
    await adult.get_by_test_id("composer-input").fill("Bonjour tout le monde")
    await adult.get_by_test_id("composer-input").press("Enter")
    # Any nickname opens the person's card: write, ignore, report.
    await teen.locator('[data-testid=message][data-sender="Marc"] .sender').click()
    await teen.get_by_test_id("card-write").click()
    await teen.get_by_test_id("composer-input").fill("Salut")
    # Typing is enough for the page to learn, and say, that this chat cannot happen.
    await expect(teen.get_by_test_id("system-line").last).to_contain_text("pour vous protéger")
    await teen.get_by_test_id("composer-input").press("Enter")
    await expect(teen.get_by_test_id("message-failed")).to_contain_text(
        "pour vous protéger, les adultes et les moins de 18 ans ne peuvent pas discuter en privé"
    )

    # The people list of each side holds its own age group only, and says so.
    await teen.get_by_test_id("side-people").click()
    await expect(teen.get_by_test_id("people-note")).to_contain_text("moins de 18 ans")
    await expect(
        teen.get_by_test_id("people-list").locator('[data-nickname="Marc"]')
    ).to_have_count(0)
    for tab in (teen_tab, adult_tab):
        await tab.context.close()


def test_every_error_code_has_a_french_and_an_english_sentence() -> None:
    """Without a browser: the i18n module names every ErrorCode with both languages."""
    source = (STATIC / "js" / "i18n.js").read_text("utf-8")
    table = source[source.index("export const ERRORS") :]
    table = table[: table.index("\n};")]
    entries = dict(re.findall(r"\n  ([a-z_]+): \{(.*?)\n  \},", table, flags=re.S))
    missing = [code.value for code in ErrorCode if code.value not in entries]
    assert missing == [], f"add these codes to ERRORS in web/static/js/i18n.js: {missing}"
    for code, body in entries.items():
        assert re.search(r"\n    fr:", body) and re.search(r"\n    en:", body), code


def test_every_safety_category_has_a_french_and_an_english_name() -> None:
    """Without a browser: refusals name their category in the reader's language."""
    from causerie.safety.categories import Category

    source = (STATIC / "js" / "i18n.js").read_text("utf-8")
    table = source[source.index("const CATEGORY_NAMES") :]
    table = table[: table.index("\n};")]
    for language in ("fr", "en"):
        block = table[table.index(f"\n  {language}: {{") :]
        block = block[: block.index("\n  },")]
        named = set(re.findall(r"\n    ([a-z_]+):", block))
        assert named == {category.value for category in Category}, language


@pytest.mark.browser
async def test_a_big_rooms_member_list_comes_page_by_page(
    make_settings: Callable[..., Settings], browser: Browser
) -> None:
    names = ("Bruno", "Chloe", "Denis")
    async with (
        run_server(make_settings(chat={"members_page_size": 2})) as server,
        contextlib.AsyncExitStack() as stack,
    ):
        await adults_in_general(server, stack, names)
        tab = await new_tab(browser)
        page = tab.page
        # Zoe sorts last: the first page (Bruno, Chloe) does not name her, she is listed anyway.
        await enter(page, server, "Zoe", 30, "woman", "75011")
        await page.locator('[data-testid=room-item][data-room="general"]').click()
        listed = page.get_by_test_id("member-list").locator("[data-nickname]")
        await expect(page.get_by_test_id("members-title")).to_have_text("Membres (3+)")
        await expect(listed).to_have_count(3)
        await expect(listed.first).to_have_attribute("data-nickname", "Zoe")
        await page.get_by_test_id("members-more").click()
        await expect(listed).to_have_count(4)
        await expect(page.get_by_test_id("members-title")).to_have_text("Membres (4)")
        await expect(page.get_by_test_id("members-more")).to_have_count(0)
        assert tab.outside == []
