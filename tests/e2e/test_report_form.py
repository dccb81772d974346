"""The public notice form /report over a real server: CSRF, escaping, receipt, rate limit."""

from __future__ import annotations

import re

import httpx
import pytest

from causerie.client import ClientError
from causerie.errors import ErrorCode
from causerie.gateway.notice import COOKIE, NOTICE_BURST
from causerie.protocol.frames import StatementOfReasons
from causerie.store.review import Source
from causerie.store.statements import new_statement
from tests.conftest import RunningServer


def _token(page: str) -> str:
    found = re.search(r"name='csrf' value='([0-9a-f]{64})'", page)
    assert found, page
    return found.group(1)


def _notice(token: str, **changes: str) -> dict[str, str]:
    fields = {
        "csrf": token,
        "location": "salon général, message de Bob vers 21 h",
        "explanation": "Il propose des photos d'enfants.",
        "category": "child_safety",
        "good_faith": "yes",
    }
    fields.update(changes)
    return fields


async def test_the_notice_form_end_to_end(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await http.get("/report", headers={"accept-language": "en-GB,en;q=0.9,fr;q=0.5"})
        assert page.status_code == 200
        assert "Report content" in page.text and "<script" not in page.text
        csp = page.headers["content-security-policy"]
        assert "form-action 'self'" in csp and "default-src 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert "optional" in page.text and "child sexual abuse" in page.text
        assert COOKIE in http.cookies
        token = _token(page.text)
        french = await http.get("/report")
        assert "Signaler un contenu" in french.text and _token(french.text) == token

        # CSRF: no token, a wrong token, the right token without its cookie.
        missing = await http.post("/report", data=_notice(""))
        assert missing.status_code == 403
        wrong = await http.post("/report", data=_notice("0" * 64))
        assert wrong.status_code == 403
        async with httpx.AsyncClient(base_url=server.http) as stranger:
            stolen = await stranger.post("/report", data=_notice(token))
            assert stolen.status_code == 403
        assert await server.node.chat.reports.store.review.jobs(sources=[Source.NOTICE]) == []

        # What the notifier wrote comes back escaped when the form is shown again.
        again = await http.post(
            "/report", data=_notice(token, explanation="<script>alert(1)</script>", good_faith="")
        )
        assert again.status_code == 400
        assert "<script>alert" not in again.text and "&lt;script&gt;alert(1)" in again.text

        sent = await http.post("/report", data=_notice(token, name="", email=""))
        assert sent.status_code == 200, sent.text
        found = re.search(r"<strong id='notice-id'>([0-9a-f]{32})</strong>", sent.text)
        assert found
        (job,) = await server.node.chat.reports.store.review.jobs(sources=[Source.NOTICE])
        assert job.queue.value == "child_safety" and job.priority == 0
        (notice,) = await server.node.chat.reports.store.notices_of(job.id)
        assert notice.id == found.group(1) and notice.good_faith and notice.email == ""

        # The address's bucket: every POST counts, refused ones included (five so far).
        assert NOTICE_BURST == 5
        limited = await http.post("/report", data=_notice(token))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert len(await server.node.chat.reports.store.review.jobs(sources=[Source.NOTICE])) == 1


async def test_report_statements_and_appeal_over_the_websocket(server: RunningServer) -> None:
    async with server.client() as alice, server.client() as bob:
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bob", 41, "man", "69001")
        await alice.join("general")
        await bob.join("general")
        ack = await bob.say("general", "bonjour")
        report = await alice.report(f"message:{ack.id}", "spam", "rien à voir")
        assert await alice.report(f"message:{ack.id}", "spam") == report
        with pytest.raises(ClientError) as refused:
            await alice.report("message:999999", "spam")
        assert refused.value.code == ErrorCode.REPORT_TARGET_NOT_FOUND
        with pytest.raises(ClientError) as refused:
            await alice.report(f"message:{ack.id}", "rudeness")
        assert refused.value.code == ErrorCode.INVALID_FIELD
        statement = await server.node.statements.issue(
            new_statement(
                subject_key=bob.welcome.me.key if bob.welcome else "bob",
                decision="warned",
                category="spam",
                ground="incompatible",
                ground_text="causerie's terms: no spam",
                facts="A message you wrote in a room was removed.",
                content_type="text",
                application_date=server.node.clock(),
                decided_by="mod1",
            )
        )
        await server.node.chat.statements.notify(statement)
        pushed = await bob.next_event(StatementOfReasons, within=5)
        assert pushed.id == statement.id
        (listed,) = await bob.statements()
        assert listed.id == statement.id and listed.appeal_until is not None
        await bob.appeal(statement.id, "je conteste")
        with pytest.raises(ClientError) as refused:
            await bob.appeal(statement.id, "encore")
        assert refused.value.code == ErrorCode.ALREADY_APPEALED
        with pytest.raises(ClientError) as refused:
            await alice.appeal(statement.id, "moi aussi")
        assert refused.value.code == ErrorCode.STATEMENT_NOT_FOUND
