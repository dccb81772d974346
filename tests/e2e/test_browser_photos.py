"""Photos in the web client, in a real Chromium against a real server (docs/web.md, "Photos").

Every image is generated here with Pillow (coloured shapes on a gradient, tests/photos/images.py),
never a photograph of anyone. Which photos the server masks is the server's business: the
nudity classifier runs for real, and the test seam is its threshold (`photos.explicit_threshold`),
set between the scores of two generated scenes (about 0.001 and 0.027) so that one is delivered
plainly and the other blurred. Nothing in the browser is mocked.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from causerie.photos.nudity import NudityClassifier
from causerie.settings import Settings
from tests.conftest import RunningServer, run_server
from tests.e2e.test_browser_reading import (
    chrome,
    enter,
    join,
    page_for,
    serious_violations,
    shot,
)
from tests.photos.images import encode, scene

__all__ = ["chrome"]
pytestmark = pytest.mark.browser

# Scores of these generated scenes by open_nsfw: 3 about 0.001, 7 about 0.002, 2 about 0.027.
PLAIN_SEED, OTHER_PLAIN_SEED, MASKED_SEED = 3, 7, 2
THRESHOLD = 0.01
ADULTS_ROOM = "25-40-ans"

# What the page did with its own upload, phase by phase (data-phase of the upload figure), and
# the progress words it showed: collected by a MutationObserver so that no state is missed.
WATCH_UPLOADS = """() => {
  window.__phases = [];
  window.__progress = [];
  new MutationObserver(() => {
    for (const fig of document.querySelectorAll("[data-testid=photo-upload]")) {
      const phase = fig.dataset.phase;
      if (window.__phases.at(-1) !== phase) window.__phases.push(phase);
      const words = fig.querySelector("[data-testid=photo-progress-text]")?.textContent;
      if (words && window.__progress.at(-1) !== words) window.__progress.push(words);
    }
  }).observe(document.body,
    { subtree: true, childList: true, attributes: true, characterData: true });
}"""

# A file dropped on the conversation, as a browser fires it for a drag from the desktop.
DROP = """([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const target = document.getElementById("messages");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: data, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""

# A paste into the message box, as a browser makes it from an image on the clipboard.
PASTE = """([b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const box = document.getElementById("composer-input");
  box.focus();
  box.dispatchEvent(
    new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def png(seed: int) -> bytes:
    return encode(scene(seed), "PNG")


@pytest.fixture(scope="module")
def scores() -> dict[int, float]:
    """The classifier's scores of the two scenes, so that a changed model fails here, clearly."""
    classifier = NudityClassifier()
    return {
        seed: classifier.score(scene(seed)) for seed in (PLAIN_SEED, OTHER_PLAIN_SEED, MASKED_SEED)
    }


@pytest.fixture
async def photo_server(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> AsyncIterator[RunningServer]:
    settings = make_settings(
        # Adults-only rooms without a verifier in the test: photos between adults in a room.
        minors={"adults_only_requires_verification": False},
        photos={"directory": str(tmp_path / "photos"), "explicit_threshold": THRESHOLD},
    )
    async with run_server(settings) as running:
        yield running


async def attach_with_picker(page: Page, data: bytes, name: str) -> None:
    async with page.expect_file_chooser() as chooser_info:
        await page.get_by_test_id("photo-attach").click()
    chooser = await chooser_info.value
    assert chooser.is_multiple() is False
    await chooser.set_files({"name": name, "mimeType": "image/png", "buffer": data})
    await expect(page.get_by_test_id("photo-staged")).to_be_visible()


def photo_message(page: Page, sender: str) -> Locator:
    return page.locator(f'[data-testid=message][data-sender="{sender}"].has-photo')


async def natural_width(image: Locator) -> int:
    await expect(image).to_be_visible()
    await image.evaluate(
        "img => img.complete ? null"
        " : new Promise(r => img.addEventListener('load', r, {once: true}))"
    )
    return int(await image.evaluate("img => img.naturalWidth"))


async def photo_urls(page: Page, message_id: str) -> dict[str, str]:
    found = await page.evaluate(
        """(id) => {
          for (const conv of Object.values(window.causerie.state().convs))
            for (const it of conv.items) if (String(it.id) === id && it.photo) return it.photo;
          return null;
        }""",
        message_id,
    )
    assert found, f"no photo {message_id} in the page's state"
    return {"url": str(found["url"]), "thumb": str(found["thumb"])}


async def test_a_photo_is_attached_seen_and_opened_and_a_masked_one_only_after_a_click(
    photo_server: RunningServer, chrome: Browser, scores: dict[int, float]
) -> None:
    assert max(scores[PLAIN_SEED], scores[OTHER_PLAIN_SEED]) < THRESHOLD < scores[MASKED_SEED], (
        scores
    )
    # Alice's page also runs axe-core (which needs the CSP bypassed to be injected); Bruno's page
    # keeps the site's CSP, so his thumbnails and full images prove it lets photos in.
    alice = await page_for(chrome, axe=True)
    bruno = await page_for(chrome, phone=True)
    photo_requests: list[str] = []
    bruno.on("request", lambda r: photo_requests.append(r.url) if "/photos/" in r.url else None)
    await enter(alice, photo_server, "Alice", 31)
    await enter(bruno, photo_server, "Bruno", 36)
    await join(alice, ADULTS_ROOM)
    await join(bruno, ADULTS_ROOM)
    await alice.evaluate(WATCH_UPLOADS)

    # Alice picks a photo (the file picker, as a phone's camera would hand it over), adds a
    # caption and sends.
    await attach_with_picker(alice, png(PLAIN_SEED), "formes.png")
    await expect(alice.get_by_test_id("photo-staged")).to_contain_text("formes.png")
    await alice.get_by_test_id("composer-input").fill("Des formes de couleur")
    await alice.get_by_test_id("composer-input").press("Enter")
    await expect(alice.get_by_test_id("photo-staged")).to_have_count(0)
    own = photo_message(alice, "Alice")
    await expect(own).to_have_attribute("data-id", re.compile(r"^\d+$"))
    assert await natural_width(own.get_by_test_id("photo-thumb")) == 320
    await expect(own.get_by_test_id("photo-progress")).to_have_count(0)
    phases = await alice.evaluate("window.__phases")
    # "checking" lasts as long as the server's screening: on a fast answer it may be replaced
    # before the page renders it, so it is required only in order, not always.
    assert "sending" in phases and phases[-1] in ("sending", "checking"), phases
    words = await alice.evaluate("window.__progress")
    assert any(re.match(r"Envoi : .+ sur .+ \(\d+ %\)", w) for w in words), words
    if phases[-1] == "checking":
        assert "Vérification de la photo…" in words, words

    # Bruno, on a phone, sees the thumbnail and the caption, and opens the full image.
    seen = photo_message(bruno, "Alice")
    await expect(seen.get_by_test_id("message-text")).to_have_text("Des formes de couleur")
    thumb = seen.get_by_test_id("photo-thumb")
    assert await natural_width(thumb) == 320
    assert await thumb.get_attribute("alt") == "Photo de Alice : Des formes de couleur"
    await seen.get_by_test_id("photo-open").click()
    viewer = bruno.get_by_test_id("photo-viewer")
    await expect(viewer).to_be_visible()
    assert await natural_width(viewer.get_by_test_id("photo-full")) == 640
    await expect(bruno.get_by_test_id("photo-viewer-close")).to_be_focused()
    await shot(bruno, "photo-viewer-phone")
    await bruno.keyboard.press("Escape")
    await expect(viewer).to_have_count(0)
    await expect(seen.get_by_test_id("photo-open")).to_be_focused()

    # The second photo is pasted into the message box; the classifier scores it over the
    # threshold, so it reaches Bruno masked: no image, and not even a request for it.
    await alice.evaluate(PASTE, [base64.b64encode(png(MASKED_SEED)).decode(), "collée.png"])
    await expect(alice.get_by_test_id("photo-staged")).to_contain_text("collée.png")
    await shot(alice, "photo-staged-desktop")
    await alice.get_by_test_id("composer-send").click()
    await expect(photo_message(alice, "Alice")).to_have_count(2)
    masked = photo_message(bruno, "Alice").nth(1)
    await expect(masked.get_by_test_id("photo-masked")).to_be_visible()
    await expect(masked.get_by_test_id("photo-masked")).to_contain_text("Photo masquée")
    await expect(masked.get_by_test_id("photo-thumb")).to_have_count(0)
    masked_id = await masked.get_attribute("data-id")
    assert masked_id is not None
    urls = await photo_urls(bruno, masked_id)
    await bruno.evaluate("document.activeElement?.blur()")
    await shot(bruno, "photos-phone")
    assert not any(u.endswith(urls["thumb"]) or u.endswith(urls["url"]) for u in photo_requests)

    # Only after "Show" does the thumbnail load, and only then can it be opened.
    await masked.get_by_test_id("reveal").click()
    assert await natural_width(masked.get_by_test_id("photo-thumb")) > 0
    assert any(u.endswith(urls["thumb"]) for u in photo_requests)
    await masked.get_by_test_id("photo-open").click()
    assert await natural_width(bruno.get_by_test_id("photo-full")) == 640
    # Bruno reports it from the viewer: the server finds the photo by the id in its URL.
    await bruno.get_by_test_id("photo-report").click()
    await bruno.get_by_test_id("photo-report-reason").select_option("sexual")
    await bruno.get_by_test_id("photo-report-send").click()
    await expect(bruno.get_by_test_id("photo-viewer")).to_have_count(0)
    await expect(bruno.get_by_test_id("toast").last).to_contain_text("Signalement envoyé")
    await masked.get_by_test_id("reveal").click()
    await expect(masked.get_by_test_id("photo-thumb")).to_have_count(0)

    # In private: Bruno writes to Alice from her name and sends a photo; Alice's tab is flagged.
    await seen.first.locator("button.sender").click()
    await bruno.get_by_test_id("card-write").click()
    await expect(bruno.get_by_test_id("conv-title")).to_contain_text("Alice")
    await attach_with_picker(bruno, png(OTHER_PLAIN_SEED), "privee.png")
    await bruno.get_by_test_id("composer-send").click()
    await expect(photo_message(bruno, "Bruno").get_by_test_id("photo-thumb")).to_be_visible()
    await expect(alice.get_by_test_id("toast").last).to_contain_text(
        "Nouvelle photo de Bruno en privé"
    )
    tab = alice.locator('[data-testid=conv-tab][data-conv="p:Bruno"]')
    await expect(tab.locator(".badge")).to_have_text("1")
    await tab.click()
    assert await natural_width(photo_message(alice, "Bruno").get_by_test_id("photo-thumb")) > 0
    assert await serious_violations(alice) == []
    await photo_message(alice, "Bruno").get_by_test_id("photo-open").click()
    await expect(alice.get_by_test_id("photo-viewer")).to_be_visible()
    assert await serious_violations(alice) == []

    for page in (alice, bruno):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()


async def test_every_refused_photo_is_said_in_plain_words_and_nothing_reaches_a_minor(
    photo_server: RunningServer, chrome: Browser
) -> None:
    marc = await page_for(chrome)
    lou = await page_for(chrome, phone=True)
    lou_requests: list[str] = []
    lou.on("request", lambda r: lou_requests.append(r.url) if "/photos/" in r.url else None)
    await enter(marc, photo_server, "Marc", 38)
    await enter(lou, photo_server, "Lou", 15)
    await join(marc, "general")
    await join(lou, "general")

    # An adult's photo in an all-ages room is refused before its bytes are sent: said to him,
    # and nothing of it reaches the minor reading the room.
    await attach_with_picker(marc, png(PLAIN_SEED), "formes.png")
    await marc.get_by_test_id("composer-send").click()
    failed = photo_message(marc, "Marc").get_by_test_id("message-failed")
    await expect(failed).to_have_text(
        "Pas de photos ici : des moins de 18 ans et des adultes lisent ce salon."
    )
    await marc.get_by_test_id("composer-input").fill("Bonjour tout le monde")
    await marc.get_by_test_id("composer-input").press("Enter")
    await expect(lou.locator('[data-testid=message][data-sender="Marc"]')).to_have_count(1)
    await expect(lou.locator(".has-photo")).to_have_count(0)
    state_photos = await lou.evaluate(
        "() => Object.values(window.causerie.state().convs).flatMap(c => c.items)"
        ".filter(it => it.photo || it.upload).length"
    )
    assert state_photos == 0
    assert lou_requests == []

    # The minor is told the same rule in the words for under-18s.
    await attach_with_picker(lou, png(PLAIN_SEED), "formes.png")
    await lou.get_by_test_id("composer-send").click()
    await expect(photo_message(lou, "Lou").get_by_test_id("message-failed")).to_have_text(
        "Pas de photos ici, pour votre protection : des adultes lisent aussi ce salon."
    )

    # In an adults' room, files the server refuses, each with its own sentence (English here).
    await marc.get_by_test_id("lang-select-app").select_option("en")
    await join(marc, ADULTS_ROOM)
    refusals = [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", "This photo is damaged"),
        (b"%PDF-1.7 not a photo at all", "notes.png", "This photo format is not accepted"),
        (png(PLAIN_SEED) + b"<script>x</script>", "two.png", "This file is not only a photo"),
    ]
    for data, name, words in refusals:
        await attach_with_picker(marc, data, name)
        await marc.get_by_test_id("composer-send").click()
        await expect(
            photo_message(marc, "Marc").last.get_by_test_id("message-failed")
        ).to_contain_text(words)
    # A caption over the server's limit is refused before the file is sent.
    await attach_with_picker(marc, png(PLAIN_SEED), "formes.png")
    await marc.get_by_test_id("composer-input").fill("x" * 301)
    await marc.get_by_test_id("composer-send").click()
    await expect(photo_message(marc, "Marc").last.get_by_test_id("message-failed")).to_have_text(
        "The photo's caption is too long: shorten it."
    )
    # An empty file is refused in the page, at once.
    async with marc.expect_file_chooser() as chooser_info:
        await marc.get_by_test_id("photo-attach").click()
    await (await chooser_info.value).set_files(
        {"name": "empty.png", "mimeType": "image/png", "buffer": b""}
    )
    await expect(marc.get_by_test_id("toast").last).to_contain_text("The photo file is empty.")
    await expect(marc.get_by_test_id("photo-staged")).to_have_count(0)
    # After all this, a good photo still goes through on the same connection, dropped on the
    # conversation this time.
    await marc.evaluate(DROP, [base64.b64encode(png(PLAIN_SEED)).decode(), "posee.png"])
    await expect(marc.get_by_test_id("photo-staged")).to_contain_text("posee.png")
    await marc.get_by_test_id("composer-send").click()
    await expect(photo_message(marc, "Marc").locator("[data-testid=photo-thumb]")).to_have_count(1)

    for page in (marc, lou):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
