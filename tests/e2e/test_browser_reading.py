"""The web client as people use it every day, in a real Chromium at phone and desktop sizes:
reading position, unread counts in the title, English room names, a reload that keeps the
chatter, and axe-core finding no serious accessibility violation.

Set CAUSERIE_SCREENSHOTS=docs to write docs/web-{desktop,phone}-{fr,en}.png while they run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    Page,
    ViewportSize,
    WebSocketRoute,
    async_playwright,
    expect,
)

from causerie.settings import Settings
from tests.conftest import RunningServer, run_server
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, fill_entry

AXE = Path(__file__).resolve().parent.parent / "web" / "vendor" / "axe.min.js"
DESKTOP: ViewportSize = {"width": 1366, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS = os.environ.get("CAUSERIE_SCREENSHOTS")


@pytest.fixture
async def chrome() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests drive Debian's chromium at {CHROMIUM}: apt install chromium"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def chatty(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningServer]:
    """A server whose flood limits let a test fill a room quickly."""
    settings = make_settings(
        limits={"messages_per_second": 500, "messages_burst": 500, "frames_burst": 1000}
    )
    async with run_server(settings) as running:
        yield running


async def page_for(
    browser: Browser,
    *,
    phone: bool = False,
    locale: str = "fr-FR",
    axe: bool = False,
    dark: bool = False,
) -> Page:
    context = await browser.new_context(
        locale=locale,
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        color_scheme="dark" if dark else "light",
        # Only to inject the test's own copy of axe-core: the page itself keeps its CSP.
        bypass_csp=axe,
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def enter(page: Page, server: RunningServer, nickname: str, age: int = 30) -> None:
    await page.goto(f"{server.http}/")
    await fill_entry(page, nickname, age, "woman", "35000")
    await expect(page.get_by_test_id("me")).to_have_text(nickname)


async def join(page: Page, room: str) -> None:
    if await page.get_by_test_id("nav-rooms").is_visible():
        await page.get_by_test_id("nav-rooms").click()
    await page.locator(f'[data-testid=room-item][data-room="{room}"]').click()
    await expect(page.locator(f'[data-testid=conv-tab][data-conv="r:{room}"]')).to_be_visible()


async def at_end(page: Page) -> bool:
    return bool(
        await page.evaluate(
            "() => { const b = document.getElementById('messages');"
            " return b.scrollHeight - b.scrollTop - b.clientHeight < 4; }"
        )
    )


async def serious_violations(page: Page) -> list[dict[str, object]]:
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(" ")) }));
        }"""
    )
    return list(found)


async def shot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"web-{name}.png"))


@pytest.mark.browser
async def test_phone_opens_at_the_newest_message_and_keeps_the_reading_position(
    chatty: RunningServer, chrome: Browser
) -> None:
    async with chatty.client() as bob:
        await bob.enter("Bob", 31, "man", "35000")
        await bob.join("general")
        for n in range(40):
            await bob.say(
                "general", f"Phrase {n} pour remplir le salon, avec assez de mots pour une ligne."
            )

        page = await page_for(chrome, phone=True, axe=True, dark=True)
        await enter(page, chatty, "Lucie")
        await join(page, "general")
        last = page.locator('[data-testid=message][data-sender="Bob"]').last
        await expect(last.get_by_test_id("message-text")).to_contain_text("Phrase 39 ")
        await expect(last).to_be_in_viewport()
        assert await at_end(page)
        # Consecutive messages of one sender are one run: one avatar, one name.
        assert await page.locator(".msg:not(.cont) .avatar").count() == 1

        # Scrolled up to read: a new message does not move the page; a button says it is there.
        await page.evaluate("() => { document.getElementById('messages').scrollTop = 0; }")
        # No wait for the scroll event: a message painted before it reaches the client must still
        # find the reader where they scrolled (the race that failed in CI on a loaded machine).
        await expect(page.get_by_test_id("new-below")).to_have_count(0)
        await bob.say("general", "Et un message de plus")
        await expect(page.get_by_test_id("new-below")).to_be_visible()
        assert not await at_end(page)
        await page.get_by_test_id("new-below").click()
        await expect(page.get_by_test_id("new-below")).to_have_count(0)
        await expect(
            page.locator('[data-testid=message][data-sender="Bob"]').last
        ).to_be_in_viewport()

        # Scrolled up again, then writing: one's own message brings the page back to the end.
        await page.evaluate("() => { document.getElementById('messages').scrollTop = 0; }")
        await page.evaluate(
            "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        assert not await at_end(page)
        await page.get_by_test_id("composer-input").fill("Je remonte lire puis je réponds")
        await page.get_by_test_id("composer-input").press("Enter")
        mine = page.locator('[data-testid=message][data-sender="Lucie"]').last
        await expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"))
        await expect(mine).to_be_in_viewport()
        assert await at_end(page)

        # Unread counts in the tab title: a message in a room one is not looking at.
        await join(page, "musique")
        await expect(page).to_have_title("causerie")
        await bob.say("general", "Tu lis la suite ?")
        await expect(page).to_have_title("(1) causerie")
        await expect(page.get_by_test_id("nav-chat")).to_contain_text("1")
        await page.locator('[data-testid=conv-tab][data-conv="r:general"]').click()
        await expect(page).to_have_title("causerie")

        # A private message: a toast that does not cover the tabs, gone once the chat is read.
        await bob.send_private("Lucie", "Coucou en privé")
        toast = page.get_by_test_id("toast").filter(has_text="Bob")
        await expect(toast).to_be_visible()
        tabs = await page.get_by_test_id("conv-tabs").bounding_box()
        box = await toast.bounding_box()
        assert tabs and box and box["y"] + box["height"] <= tabs["y"] + 1
        await shot(page, "phone-fr")
        await page.locator('[data-testid=conv-tab][data-conv="p:Bob"]').click()
        await expect(toast).to_have_count(0)
        await expect(page.get_by_test_id("conv-topic")).to_contain_text("Bretagne")
        # The phone in the dark scheme, too, has no serious accessibility violation.
        assert await serious_violations(page) == []
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()


@pytest.mark.browser
async def test_multi_line_messages_and_one_sentence_refusals(
    chatty: RunningServer, chrome: Browser
) -> None:
    page = await page_for(chrome)
    await enter(page, chatty, "Claire")
    await join(page, "general")
    box = page.get_by_test_id("composer-input")
    await box.fill("première ligne")
    await box.press("Shift+Enter")
    await box.type("deuxième ligne")
    await box.press("Enter")
    own = page.locator('[data-testid=message][data-sender="Claire"]').last
    await expect(own.get_by_test_id("message-text")).to_have_text("première ligne\ndeuxième ligne")
    await expect(own).to_have_attribute("data-id", re.compile(r"^\d+$"))
    await expect(box).to_have_value("")
    # A refused message says why once, not "Not sent: This message was not sent: ...".
    await box.fill("x" * 1001)
    await page.evaluate("() => { document.getElementById('composer-input').maxLength = 5000; }")
    await box.fill("y" * 1001)
    await box.press("Enter")
    toast = page.get_by_test_id("toast").last
    await expect(toast).to_be_visible()
    text = await toast.inner_text()
    assert "Non envoyé" not in text or text.count("envoyé") == 1
    await page.context.close()


@pytest.mark.browser
async def test_english_names_and_no_serious_accessibility_violation(
    server: RunningServer, chrome: Browser
) -> None:
    page = await page_for(chrome, locale="en-GB", axe=True)
    await page.goto(f"{server.http}/")
    await expect(page.get_by_test_id("entry-submit")).to_have_text("Enter")
    assert await serious_violations(page) == []
    await fill_entry(page, "Grace", 29, "woman", "69003")
    await expect(page.get_by_test_id("me")).to_have_text("Grace")
    general = page.locator('[data-testid=room-item][data-room="general"]')
    await expect(general.locator(".room-name")).to_have_text("General")
    await expect(page.get_by_test_id("quit")).to_have_text("Log out")
    await general.click()
    await expect(page.get_by_test_id("conv-title")).to_have_text("General")
    await expect(page.get_by_test_id("conv-topic")).to_contain_text("with respect")
    await expect(page.get_by_test_id("conv-leave")).to_have_text("Leave the room")
    async with server.client() as ada:
        await ada.enter("Ada", 36, "woman", "75011")
        await ada.join("general")
        await ada.say("general", "Hello Grace, welcome!")
        await ada.say("general", "Nice to see you here.")
        await expect(page.locator('[data-testid=message][data-sender="Ada"]')).to_have_count(2)
        assert await serious_violations(page) == []
        await shot(page, "desktop-en")

        # The person card from a nickname, by keyboard only.
        sender = page.locator('[data-testid=message][data-sender="Ada"] .sender').first
        await sender.focus()
        await page.keyboard.press("Enter")
        card = page.get_by_test_id("person-card")
        await expect(card).to_be_visible()
        await expect(page.get_by_test_id("card-write")).to_be_focused()
        assert await serious_violations(page) == []
        await page.get_by_test_id("card-report").click()
        await page.get_by_test_id("report-reason").select_option("harassment")
        await page.get_by_test_id("report-send").click()
        # Whether the server takes reports yet or not, the answer is one clear sentence.
        await expect(page.get_by_test_id("toast").last).to_contain_text(
            re.compile(r"Report sent|cannot take reports yet")
        )
        await expect(card).to_have_count(0)
        await expect(sender).to_be_focused()
    await page.context.close()


@pytest.mark.browser
async def test_a_reload_keeps_the_chatter_rooms_and_private_conversation(
    server: RunningServer, chrome: Browser
) -> None:
    page = await page_for(chrome)
    async with server.client() as bob:
        await bob.enter("Bob", 31, "man", "35000")
        await bob.join("general")
        await enter(page, server, "Alice")
        await join(page, "general")
        await join(page, "musique")
        await bob.send_private("Alice", "Une question pour toi")
        await page.locator('[data-testid=conv-tab][data-conv="p:Bob"]').click()
        await expect(page.get_by_test_id("message-text").last).to_have_text("Une question pour toi")
        await page.get_by_test_id("composer-input").fill("Bien reçu")
        await page.get_by_test_id("composer-input").press("Enter")
        await expect(page.locator('[data-testid=message][data-sender="Alice"]')).to_have_attribute(
            "data-id", re.compile(r"^\d+$")
        )

        await page.reload()
        await expect(page.get_by_test_id("me")).to_have_text("Alice")
        await expect(page.get_by_test_id("banner")).to_have_count(0)
        for conv in ("r:general", "r:musique", "p:Bob"):
            await expect(
                page.locator(f'[data-testid=conv-tab][data-conv="{conv}"]')
            ).to_be_visible()
        await expect(page.get_by_test_id("conv-title")).to_have_text("Bob")
        texts = page.get_by_test_id("message-text")
        await expect(texts).to_have_text(["Une question pour toi", "Bien reçu"])
        # Back in the rooms for real: the server lists Alice as a member again.
        members = await bob.members("general")
        assert "Alice" in [m.nickname for m in members]
        await bob.send_private("Alice", "Toujours là ?")
        await expect(texts.last).to_have_text("Toujours là ?")

        # Log out forgets it all: a reload shows the empty form.
        await page.get_by_test_id("quit").click()
        await expect(page.get_by_test_id("entry-screen")).to_be_visible()
        await page.reload()
        await expect(page.get_by_test_id("entry-nickname")).to_have_value("")
        saved = await page.evaluate("() => sessionStorage.getItem('causerie.session')")
        assert saved is None or json.loads(saved) is None
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


@pytest.mark.browser
async def test_a_dropped_connection_comes_back_in_the_same_rooms(
    server: RunningServer, chrome: Browser
) -> None:
    page = await page_for(chrome)
    sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    async def through(ws: WebSocketRoute) -> None:
        sockets.append((ws, ws.connect_to_server()))

    # Every socket of the page goes through the test, which can cut it like a network would.
    await page.route_web_socket(re.compile(r"/ws$"), through)
    async with server.client() as bob:
        await bob.enter("Bob", 31, "man", "35000")
        await bob.join("general")
        await enter(page, server, "Alice")
        await join(page, "general")
        await bob.send_private("Alice", "Avant la coupure")
        await expect(page.locator('[data-testid=conv-tab][data-conv="p:Bob"]')).to_be_visible()

        # Both ends see the connection die, as after a network change the server notices.
        page_end, server_end = sockets[-1]
        await server_end.close(code=1001, reason="gone")
        await page_end.close(code=1012, reason="network change")
        await expect(page.get_by_test_id("banner")).to_be_visible()
        token = await page.evaluate("() => window.causerie.state().resumeToken")
        if not token:
            # Without a resume token the page enters again, which the server refuses
            # (nickname_taken) until it notices the old socket is dead: tens of seconds.
            pytest.xfail("the server's welcome has no resume_token yet (issue 13, server side)")
        await expect(page.get_by_test_id("banner")).to_have_count(0, timeout=15_000)
        await expect(page.get_by_test_id("me")).to_have_text("Alice")
        members = await bob.members("general")
        assert "Alice" in [m.nickname for m in members]
        await bob.say("general", "Après la coupure")
        await page.locator('[data-testid=conv-tab][data-conv="r:general"]').click()
        await expect(page.get_by_test_id("message-text").last).to_have_text("Après la coupure")
        await expect(page.locator('[data-testid=conv-tab][data-conv="p:Bob"]')).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


@pytest.mark.browser
async def test_screens_for_the_documentation(server: RunningServer, chrome: Browser) -> None:
    """Desktop FR and phone EN screens (written only with CAUSERIE_SCREENSHOTS)."""
    if not SHOTS:
        pytest.skip("set CAUSERIE_SCREENSHOTS=docs to write the screenshots")
    async with server.client() as nour, server.client() as yanis:
        await nour.enter("Nour", 27, "woman", "35000")
        await yanis.enter("Yanis", 34, "man", "69003")
        for c in (nour, yanis):
            await c.join("general")
        desktop = await page_for(chrome)
        await enter(desktop, server, "Camille")
        await join(desktop, "general")
        await nour.say("general", "Bonjour tout le monde !")
        await nour.say("general", "Quelqu'un a vu le dernier film de Céline Sciamma ?")
        await yanis.say("general", "Oui, samedi. Très beau.")
        await desktop.get_by_test_id("composer-input").fill("Pas encore, il est bien ?")
        await desktop.get_by_test_id("composer-input").press("Enter")
        await yanis.send_private("Camille", "Salut Camille, ça va ?")
        await expect(desktop.get_by_test_id("toast")).to_be_visible()
        await shot(desktop, "desktop-fr")

        phone = await page_for(chrome, phone=True, locale="en-GB")
        await enter(phone, server, "Lena")
        await join(phone, "general")
        await nour.say("general", "Welcome Lena!")
        await expect(
            phone.locator('[data-testid=message][data-sender="Nour"]').last
        ).to_be_visible()
        await shot(phone, "phone-en")
        for p in (desktop, phone):
            await p.context.close()
