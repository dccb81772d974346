"""The moderation console in a real Chromium against a real server (issue 9's "done when").

A chatter reports a message, then its author (Python client ``report``); a moderator signs in
with password and TOTP, claims the jobs, removes the message and warns the author; the author
receives both statements (``statement`` frames) and appeals the removal; a senior moderator
reverses it; the staff audit log verifies. With CAUSERIE_SCREENSHOTS=docs it writes
docs/console-*.png.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from causerie.client import Client
from causerie.console.auth import totp_now
from causerie.console.wiring import from_node
from causerie.domain import JobStatus
from causerie.protocol import frames as f
from causerie.store.review import Source
from causerie.store.staff import Role
from tests.conftest import RunningServer
from tests.e2e.test_browser import browser, chromium_path, new_tab

__all__ = ["browser", "chromium_path"]
pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "a long staff password"


async def sign_in(page: Page, server: RunningServer, name: str, secret: str) -> None:
    await page.goto(f"{server.http}/console/login")
    await page.get_by_test_id("login-name").fill(name)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-code").fill(totp_now(secret, time.time()))
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("whoami")).to_contain_text(name)


async def statement(client: Client, decision: str) -> f.StatementOfReasons:
    while True:
        frame = await client.next_event(f.StatementOfReasons, within=10)
        if frame.decision == decision:
            return frame


async def test_report_remove_warn_appeal_reverse_and_verify(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    # The moderators' overrides and the screenshots go to this test's directory, not the
    # repository's data/ and docs/ (CAUSERIE_SCREENSHOTS=docs writes the documentation's).
    parts = from_node(server.node, overrides_file=tmp_path / "overrides.jsonl")
    shots = DOCS if os.environ.get("CAUSERIE_SCREENSHOTS") == "docs" else tmp_path
    mia = await parts.auth.add("mia", Role.MODERATOR, PASSWORD, by="test")
    sam = await parts.auth.add("sam", Role.SENIOR, PASSWORD, by="test")
    async with server.client() as alice, server.client() as bob:
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bernard", 41, "man", "69003")
        await alice.join("general")
        await bob.join("general")
        ack = await bob.say("general", "franchement t'as rien à faire dans ce salon")
        await alice.report(f"message:{ack.id}", "harassment", "insult")
        (job,) = await parts.review.jobs(sources=[Source.REPORT])
        message_job = job.id

        tab = await new_tab(browser, locale="en-GB")
        page = tab.page
        await sign_in(page, server, "mia", mia.account.totp_secret)
        await expect(page.get_by_test_id(f"job-{message_job}")).to_be_visible()
        await page.screenshot(path=str(shots / "console-queue.png"), full_page=True)

        await page.get_by_test_id(f"claim-{message_job}").click()
        await expect(page.get_by_test_id("claimed")).to_be_visible()
        await expect(page.get_by_test_id("item-text")).to_contain_text("rien à faire dans ce salon")
        await page.screenshot(path=str(shots / "console-job.png"), full_page=True)
        await page.get_by_test_id("decision").select_option("remove")
        await page.get_by_test_id("note").fill("An insult aimed at another chatter.")
        await page.get_by_test_id("decide").click()
        await expect(page.get_by_test_id("decided")).to_contain_text("remove")
        removed = await statement(bob, "removed")
        assert removed.content == f"message:{ack.id}" and removed.appeal_until

        # Reports about one person wait as one job; once decided, the next report opens another.
        await alice.report("person:Bernard", "harassment", "keeps going in private")
        waiting = await parts.review.jobs(sources=[Source.REPORT], status=JobStatus.OPEN)
        person_job = next(j.id for j in waiting if j.id != message_job)
        await page.goto(f"{server.http}/console/jobs/{person_job}")
        await page.get_by_test_id("claim").click()
        await page.get_by_test_id("decision").select_option("warn")
        await page.get_by_test_id("decide").click()
        await expect(page.get_by_test_id("decided")).to_contain_text("warn")
        await statement(bob, "warned")

        await bob.appeal(removed.id, "I was answering her insult, read what came before.")
        senior = (await new_tab(browser, locale="en-GB")).page
        await sign_in(senior, server, "sam", sam.account.totp_secret)
        await senior.goto(f"{server.http}/console/appeals")
        row = senior.get_by_test_id(f"appeal-{removed.id}")
        await expect(row).to_be_visible()
        await senior.screenshot(path=str(shots / "console-appeals.png"), full_page=True)
        await row.get_by_test_id("reverse").click()
        await expect(senior.get_by_test_id("appeal-decided")).to_be_visible()
        outcome = await statement(bob, "appeal_outcome")
        assert "reversed" in outcome.message
        assert (await parts.statements.get(removed.id)).appeal_status == "reversed"  # type: ignore[union-attr]

        await senior.goto(f"{server.http}/console/audit?verify=1")
        await expect(senior.get_by_test_id("verify-result")).to_contain_text("the chain verifies")
        await senior.screenshot(path=str(shots / "console-audit.png"), full_page=True)
        await senior.goto(f"{server.http}/console/transparency")
        await expect(senior.get_by_test_id("transparency")).to_contain_text("appeals_reversed")
        await senior.screenshot(path=str(shots / "console-transparency.png"), full_page=True)
        assert tab.outside == []
    report = await parts.audit.verify()
    assert report.ok
    actions = {e.action for e in await parts.staff.audit_latest(200)}
    assert {"login", "claim", "decide.remove", "decide.warn", "appeal.reversed"} <= actions
