"""Every role boundary of the console, over HTTP: sign-in, lockout, TOTP, CSRF, queues, appeals."""

from __future__ import annotations

import contextlib

import pytest

from causerie.console.app import PLAIN_COOKIE
from causerie.console.auth import LOCK_SECONDS, MAX_FAILURES
from causerie.domain import Category
from causerie.store.staff import Role
from causerie.store.statements import new_statement
from tests.console.conftest import Console, csrf_of

PAGES = ["/queue", "/jobs/1", "/appeals", "/bulk", "/transparency", "/audit", "/staff"]


@pytest.mark.parametrize("path", PAGES)
async def test_no_staff_page_without_signing_in(console: Console, path: str) -> None:
    async with console.client() as http:
        response = await http.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


async def test_no_post_without_signing_in(console: Console) -> None:
    job = await console.job()
    async with console.client() as http:
        response = await http.post(f"/jobs/{job}/decide", data={"decision": "remove"})
    assert response.status_code == 303
    assert (await console.parts.review.job(job)).job.status.value == "open"  # type: ignore[union-attr]


async def test_sign_in_needs_the_totp_code(console: Console) -> None:
    secret = await console.add_staff("mia", Role.MODERATOR)
    async with console.client() as http:
        no_code = await console.login(http, "mia", secret, code="")
        wrong = await console.login(http, "mia", secret, code="000000")
        assert no_code.status_code == wrong.status_code == 401
        assert (await http.get("/queue")).status_code == 303
        ok = await console.login(http, "mia", secret)
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert PLAIN_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert (await http.get("/queue")).status_code == 200


async def test_a_totp_code_is_good_once(console: Console) -> None:
    secret = await console.add_staff("mia", Role.MODERATOR)
    code = console.code(secret)
    async with console.client() as first, console.client() as second:
        assert (await console.login(first, "mia", secret, code=code)).status_code == 303
        assert (await console.login(second, "mia", secret, code=code)).status_code == 401


async def test_five_failures_lock_the_account_for_fifteen_minutes(console: Console) -> None:
    secret = await console.add_staff("mia", Role.MODERATOR)
    async with console.client() as http:
        for _ in range(MAX_FAILURES):
            response = await console.login(http, "mia", secret, password="wrong password!")
            assert response.status_code == 401
        locked = await console.login(http, "mia", secret)
        assert locked.status_code == 401 and "locked" in locked.text
        console.harness.clock.advance(LOCK_SECONDS)
        assert (await console.login(http, "mia", secret)).status_code == 303
    outcomes = [e.outcome for e in await console.parts.staff.audit_latest(20, actor="mia")]
    assert "locked_now" in outcomes and "locked" in outcomes


async def test_a_post_without_the_session_csrf_token_is_refused(console: Console) -> None:
    job = await console.job()
    http, csrf = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        missing = await http.post(f"/jobs/{job}/claim", data={})
        wrong = await http.post(f"/jobs/{job}/claim", data={"csrf": "x" + csrf})
        assert missing.status_code == wrong.status_code == 403
        assert (await console.parts.review.job(job)).job.claimed_by is None  # type: ignore[union-attr]
        right = await http.post(f"/jobs/{job}/claim", data={"csrf": csrf})
        assert right.status_code == 303
    assert (await console.parts.review.job(job)).job.claimed_by == "mia"  # type: ignore[union-attr]
    denied = [e for e in await console.parts.staff.audit_latest(20) if e.action == "csrf"]
    assert len(denied) == 2


async def test_the_login_form_has_its_own_csrf_token(console: Console) -> None:
    secret = await console.add_staff("mia", Role.MODERATOR)
    async with console.client() as http:
        response = await http.post(
            "/login",
            data={"name": "mia", "password": "x", "code": console.code(secret)},
        )
    assert response.status_code == 403


async def test_a_moderator_never_sees_child_safety_jobs(console: Console) -> None:
    hidden = await console.job(category=Category.CHILD_SAFETY, text="grooming attempt")
    shown = await console.job(category=Category.SPAM, text="buy followers")
    http, csrf = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        queue = await http.get("/queue")
        assert f'data-testid="job-{shown}"' in queue.text
        assert f'data-testid="job-{hidden}"' not in queue.text
        assert "grooming attempt" not in queue.text
        filtered = await http.get("/queue", params={"queue": "child_safety"})
        assert f'data-testid="job-{hidden}"' not in filtered.text
        assert (await http.get(f"/jobs/{hidden}")).status_code == 403
        assert (await http.post(f"/jobs/{hidden}/claim", data={"csrf": csrf})).status_code == 403
        decide = await http.post(
            f"/jobs/{hidden}/decide", data={"csrf": csrf, "decision": "dismiss"}
        )
        assert decide.status_code == 403
        # "Claim the most urgent" skips it too, though it is the most urgent job.
        await http.post("/queue/next", data={"csrf": csrf})
    assert (await console.parts.review.job(hidden)).job.status.value == "open"  # type: ignore[union-attr]
    assert (await console.parts.review.job(shown)).job.claimed_by == "mia"  # type: ignore[union-attr]
    specialist, _ = await console.signed_in("cleo", Role.CHILD_SAFETY)
    async with contextlib.aclosing(specialist):
        assert f'data-testid="job-{hidden}"' in (await specialist.get("/queue")).text
        assert (await specialist.get(f"/jobs/{hidden}")).status_code == 200


async def test_an_admin_sees_no_queue_and_a_moderator_no_staff_page(console: Console) -> None:
    admin, _ = await console.signed_in("ada", Role.ADMIN)
    async with contextlib.aclosing(admin):
        assert (await admin.get("/queue")).status_code == 403
        assert (await admin.get("/staff")).status_code == 200
    moderator, _ = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(moderator):
        for path in ("/staff", "/appeals", "/bulk", "/audit", "/transparency"):
            assert (await moderator.get(path)).status_code == 403, path


async def test_a_moderator_cannot_ban(console: Console) -> None:
    job = await console.job()
    http, csrf = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        response = await http.post(f"/jobs/{job}/decide", data={"csrf": csrf, "decision": "ban"})
    assert response.status_code == 403
    assert (await console.parts.review.job(job)).job.status.value == "open"  # type: ignore[union-attr]


async def _appealed(console: Console, decided_by: str) -> str:
    statement = new_statement(
        subject_key="bob",
        decision="muted",
        category="harassment",
        ground="incompatible",
        ground_text="Terms of service: rules on harassment",
        facts="insults",
        content_type="text",
        application_date=console.harness.clock(),
        decided_by=decided_by,
    )
    await console.parts.statements.issue(statement)
    await console.parts.statements.appeal(
        statement.id, "bob", "I was quoting", console.harness.clock()
    )
    return statement.id


async def test_an_appeal_is_never_decided_by_who_took_the_decision(console: Console) -> None:
    own = await _appealed(console, "sam")
    moderator, mcsrf = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(moderator):
        mine = await _appealed(console, "mia")
        refused = await moderator.post(
            f"/appeals/{mine}", data={"csrf": mcsrf, "outcome": "reversed"}
        )
        assert refused.status_code == 403
    senior, csrf = await console.signed_in("sam", Role.SENIOR)
    async with contextlib.aclosing(senior):
        page = await senior.get("/appeals")
        assert "You took this decision" in page.text
        same = await senior.post(f"/appeals/{own}", data={"csrf": csrf, "outcome": "reversed"})
        assert same.status_code == 403
    assert (await console.parts.statements.get(own)).appeal_status == "pending"  # type: ignore[union-attr]
    other, ocsrf = await console.signed_in("ola", Role.SENIOR)
    async with contextlib.aclosing(other):
        done = await other.post(f"/appeals/{own}", data={"csrf": ocsrf, "outcome": "reversed"})
        assert done.status_code == 200
    assert (await console.parts.statements.get(own)).appeal_status == "reversed"  # type: ignore[union-attr]


async def test_pages_forbid_scripts_and_post_only_to_themselves(console: Console) -> None:
    http, _ = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        page = await http.get("/queue")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "script" not in csp
    assert "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_signing_out_ends_the_session(console: Console) -> None:
    http, csrf = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        await http.post("/logout", data={"csrf": csrf})
        assert (await http.get("/queue")).status_code == 303


def test_csrf_helper() -> None:
    assert csrf_of('<input name="csrf" value="abc">') == "abc"


async def test_explicit_text_is_blurred_until_the_moderator_asks(console: Console) -> None:
    job = await console.job(category=Category.SEXUAL, text="explicit words")
    http, _ = await console.signed_in("mia", Role.MODERATOR)
    async with contextlib.aclosing(http):
        page = await http.get(f"/jobs/{job}")
        assert 'class="blurred" data-testid="item-text"' in page.text
        assert 'data-testid="reveal"' in page.text
        shown = await http.get(f"/jobs/{job}", params={"reveal": "1"})
        assert 'class="" data-testid="item-text"' in shown.text
    reveals = [e for e in await console.parts.staff.audit_latest(20) if e.action == "job.reveal"]
    assert [e.target for e in reveals] == [f"job:{job}"]
