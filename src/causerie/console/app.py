"""The console's web pages, mounted under ``/console/``: server-rendered HTML, no script.

Every page but the sign-in needs a staff session: a random token in a cookie that is HttpOnly,
SameSite=Strict and, over https, ``Secure`` with the ``__Host-`` prefix. Over plain http the
cookie is ``causerie_console`` without ``Secure``, and only when the server listens on a loopback
address (``server.host``); anywhere else the console refuses to sign anyone in over http. Every
POST carries the session's CSRF token (the sign-in form a double-submit token of its own). The
pages load one stylesheet from ``/console/static/`` and no script at all; explicit text is
blurred by CSS until the moderator asks to see it (a plain GET form), and that is audited.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from causerie.console.auth import AuthError
from causerie.console.transparency import compute
from causerie.console.wiring import ConsoleParts
from causerie.domain import Category, JobStatus, ReviewQueue
from causerie.moderation.actions import ALLOWED, Actor, Decision, ModerationError
from causerie.store.staff import Role, StaffAccount, StaffSession

PREFIX = "/console"
HERE = Path(str(resources.files("causerie.console")))
SECURE_COOKIE = "__Host-causerie_console"
PLAIN_COOKIE = "causerie_console"
LOGIN_COOKIE = "causerie_console_login"
MAX_FORM_BYTES = 64 * 1024
# Categories whose text is blurred until the moderator asks to see it.
EXPLICIT = frozenset(
    {
        Category.SEXUAL,
        Category.CHILD_SAFETY,
        Category.VIOLENCE,
        Category.SOLICITATION,
        Category.NON_CONSENT,
    }
)
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def _when(at: float | None) -> str:
    if at is None:
        return "–"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Page:
    """What a handler has once the staff member is known."""

    def __init__(self, request: Request, session: StaffSession, account: StaffAccount) -> None:
        self.request = request
        self.session = session
        self.account = account
        self.actor = Actor(account.name, account.role)


def create_console(parts: ConsoleParts) -> Starlette:
    """The console as an ASGI app, to be mounted at ``/console``."""
    settings = parts.settings
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.globals["inf"] = math.inf
    env.filters["pretty"] = lambda v: json.dumps(v, indent=1, sort_keys=True, ensure_ascii=False)
    plain_allowed = _loopback(settings.server.host)

    def cookie_name(request: Request) -> str | None:
        if request.url.scheme == "https":
            return SECURE_COOKIE
        return PLAIN_COOKIE if plain_allowed else None

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = env.get_template(template).render(prefix=PREFIX, request=request, **context)
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    async def form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return {}
        parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    async def current(request: Request) -> tuple[StaffSession, StaffAccount] | None:
        name = cookie_name(request)
        token = request.cookies.get(name or "", "") if name else ""
        return await parts.auth.session(token)

    def to_login() -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303, headers=HEADERS)

    def forbidden(request: Request, why: str, status: int = 403) -> HTMLResponse:
        return render(request, "error.html", status, message=why, staff=None, csrf="")

    Handler = Callable[[Page, dict[str, str]], Awaitable[Response]]

    def staff_page(
        handler: Handler, *, roles: frozenset[Role] | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in staff (of ``roles``); a POST must carry the session's token."""

        async def endpoint(request: Request) -> Response:
            found = await current(request)
            if found is None:
                return to_login()
            session, account = found
            data: dict[str, str] = {}
            if request.method == "POST":
                data = await form(request)
                if not hmac.compare_digest(data.get("csrf", ""), session.csrf):
                    await parts.audit.record(account.name, "csrf", request.url.path[:120], "denied")
                    return forbidden(request, "This form has expired: reload the page.")
            if roles is not None and account.role not in roles:
                await parts.audit.record(
                    account.name, "page", request.url.path[:120], "denied", role=account.role
                )
                return forbidden(request, "Your role does not open this page.")
            try:
                return await handler(Page(request, session, account), data)
            except ModerationError as exc:
                status = {"forbidden": 403, "not_found": 404, "conflict": 409}.get(exc.code, 400)
                return forbidden(request, exc.message, status)

        return endpoint

    def page(p: Page, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(p.request, template, status, staff=p.account, csrf=p.session.csrf, **context)

    # -- sign-in --------------------------------------------------------------------------------

    async def login(request: Request) -> Response:
        name = cookie_name(request)
        if name is None:
            return forbidden(
                request,
                "The console signs in only over https (or on a loopback server.host).",
            )
        if request.method == "GET":
            token = secrets.token_urlsafe(24)
            response = render(request, "login.html", login_token=token, error="", staff=None)
            response.set_cookie(
                LOGIN_COOKIE,
                token,
                max_age=600,
                path=f"{PREFIX}/login",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        data = await form(request)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(data.get("login_token", ""), expected):
            await parts.audit.record(data.get("name", "")[:40] or "(empty)", "csrf", "login")
            return forbidden(request, "This form has expired: reload the page.")
        try:
            signed = await parts.auth.sign_in(
                data.get("name", ""), data.get("password", ""), data.get("code", "")
            )
        except AuthError as exc:
            return render(
                request, "login.html", 401, login_token=expected, error=str(exc), staff=None
            )
        done = RedirectResponse(f"{PREFIX}/queue", status_code=303, headers=HEADERS)
        done.set_cookie(
            name,
            signed.token,
            max_age=int(parts.auth.session_seconds),
            path="/",
            httponly=True,
            samesite="strict",
            secure=name == SECURE_COOKIE,
        )
        done.delete_cookie(LOGIN_COOKIE, path=f"{PREFIX}/login")
        return done

    async def logout(p: Page, data: dict[str, str]) -> Response:
        name = cookie_name(p.request) or PLAIN_COOKIE
        await parts.auth.sign_out(p.request.cookies.get(name, ""), p.account.name)
        response = to_login()
        response.delete_cookie(name, path="/")
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/queue", status_code=303, headers=HEADERS)

    # -- the queue ------------------------------------------------------------------------------

    async def queue(p: Page, data: dict[str, str]) -> Response:
        params = p.request.query_params
        chosen = params.get("queue") or None
        category = params.get("category") or None
        wanted = ReviewQueue(chosen) if chosen in {q.value for q in ReviewQueue} else None
        queues = parts.actions.queues(p.actor, wanted)
        cat = Category(category) if category in {c.value for c in Category} else None
        jobs = (
            await parts.review.jobs(
                queue=queues, status=(JobStatus.OPEN, JobStatus.CLAIMED), category=cat, limit=200
            )
            if queues
            else []
        )
        counts = await parts.review.counts()
        visible = {
            q.value: {s.value: n for s, n in counts[q].items()}
            for q in parts.actions.queues(p.actor)
        }
        await parts.audit.record(p.account.name, "queue.view", chosen or "", jobs=len(jobs))
        return page(
            p,
            "queue.html",
            jobs=jobs,
            counts=visible,
            queues=parts.actions.queues(p.actor),
            categories=[c.value for c in Category],
            chosen=chosen or "",
            category=category or "",
            now=parts.clock(),
        )

    async def next_job(p: Page, data: dict[str, str]) -> Response:
        wanted = data.get("queue") or None
        chosen = ReviewQueue(wanted) if wanted in {q.value for q in ReviewQueue} else None
        job = await parts.actions.next_job(p.actor, chosen)
        if job is None:
            return RedirectResponse(f"{PREFIX}/queue", status_code=303, headers=HEADERS)
        return RedirectResponse(f"{PREFIX}/jobs/{job.id}", status_code=303, headers=HEADERS)

    # -- a job ----------------------------------------------------------------------------------

    async def job(p: Page, data: dict[str, str]) -> Response:
        job_id = int(p.request.path_params["job_id"])
        detail = await parts.actions.job(p.actor, job_id)
        item = detail.item
        reveal = p.request.query_params.get("reveal") == "1"
        explicit = detail.job.category in EXPLICIT or "blur" in item.signals
        if reveal:
            await parts.audit.record(p.account.name, "job.reveal", f"job:{job_id}")
        await parts.audit.record(p.account.name, "job.view", f"job:{job_id}")
        now = parts.clock()
        decision = await parts.safety.decision(item.decision_id) if item.decision_id else None
        if decision is None and item.content_id:
            # A report names the stored message: its screening is recorded under its id.
            found = await parts.safety.decisions(content_id=item.content_id, limit=1)
            decision = found[0] if found else None
        reporters = await parts.reports.reporters_of(job_id)
        trusted = {
            r.reporter_key: await parts.reports.is_trusted(r.reporter_key) for r in reporters
        }
        notices = await parts.reports.notices_of(job_id)
        records = await parts.reports.author_records(job_id)
        author = item.author_key
        history = await parts.safety.decisions(author_key=author, limit=20)
        strikes = await parts.safety.strikes_since(author, now - 30 * 86400)
        sanctions = await parts.safety.active_sanctions(now, author)
        statements = await parts.statements.for_subject(author, 20)
        decisions = [d.value for d in Decision if p.account.role in ALLOWED[d]]
        return page(
            p,
            "job.html",
            detail=detail,
            job=detail.job,
            item=item,
            blurred=explicit and not reveal,
            explicit=explicit,
            decision=decision,
            reporters=reporters,
            trusted=trusted,
            notices=notices,
            records=records,
            history=history,
            strikes=strikes,
            sanctions=sanctions,
            statements=statements,
            decisions=decisions,
            mine=detail.job.claimed_by == p.account.name
            and (detail.job.claim_expires_at or 0) > now,
            senior=p.account.role is Role.SENIOR,
            now=now,
        )

    async def claim(p: Page, data: dict[str, str]) -> Response:
        job_id = int(p.request.path_params["job_id"])
        await parts.actions.claim(p.actor, job_id)
        return RedirectResponse(f"{PREFIX}/jobs/{job_id}", status_code=303, headers=HEADERS)

    async def unclaim(p: Page, data: dict[str, str]) -> Response:
        job_id = int(p.request.path_params["job_id"])
        await parts.actions.unclaim(p.actor, job_id)
        return RedirectResponse(f"{PREFIX}/queue", status_code=303, headers=HEADERS)

    async def decide(p: Page, data: dict[str, str]) -> Response:
        job_id = int(p.request.path_params["job_id"])
        minutes_text = data.get("minutes", "").strip()
        try:
            minutes = float(minutes_text) if minutes_text else None
        except ValueError:
            raise ModerationError("invalid", "minutes is a number") from None
        outcome = await parts.actions.decide(
            p.actor,
            job_id,
            data.get("decision", ""),
            minutes=minutes,
            note=data.get("note", ""),
            address=data.get("address") == "1",
        )
        return page(p, "decided.html", outcome=outcome)

    async def trusted(p: Page, data: dict[str, str]) -> Response:
        await parts.actions.mark_trusted(
            p.actor, data.get("reporter", ""), data.get("trusted", "1") == "1"
        )
        back = data.get("back", "")
        target = back if back.startswith(f"{PREFIX}/") else f"{PREFIX}/queue"
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    # -- appeals, bulk --------------------------------------------------------------------------

    async def appeals(p: Page, data: dict[str, str]) -> Response:
        pending = await parts.statements.pending_appeals(200)
        return page(p, "appeals.html", appeals=pending)

    async def decide_appeal(p: Page, data: dict[str, str]) -> Response:
        statement_id = str(p.request.path_params["statement_id"])
        result = await parts.actions.decide_appeal(
            p.actor, statement_id, data.get("outcome", ""), note=data.get("note", "")
        )
        return page(p, "appeal_decided.html", statement=result)

    async def bulk(p: Page, data: dict[str, str]) -> Response:
        if p.request.method == "GET":
            return page(p, "bulk.html", outcome=None)
        minutes_text = data.get("minutes", "").strip() or "60"
        try:
            minutes = float(minutes_text)
        except ValueError:
            raise ModerationError("invalid", "minutes is a number") from None
        outcome = await parts.actions.bulk(
            p.actor, data.get("phrase", ""), minutes=minutes, note=data.get("note", "")
        )
        return page(p, "bulk.html", outcome=outcome)

    # -- transparency, audit, staff -------------------------------------------------------------

    async def _report(p: Page) -> Any:
        params = p.request.query_params
        now = parts.clock()

        def day(name: str, default: float) -> float:
            value = params.get(name, "")
            if not value:
                return default
            try:
                return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            except ValueError:
                raise ModerationError("invalid", f"{name} is a date, YYYY-MM-DD") from None

        return await compute(
            parts.review,
            parts.statements,
            parts.reports,
            since=day("since", 0.0),
            until=day("until", now + 1),
            is_trusted=parts.reports.is_trusted,
        )

    async def transparency(p: Page, data: dict[str, str]) -> Response:
        report = await _report(p)
        return page(p, "transparency.html", report=report)

    async def transparency_json(p: Page, data: dict[str, str]) -> Response:
        return JSONResponse((await _report(p)).as_dict(), headers=HEADERS)

    async def transparency_csv(p: Page, data: dict[str, str]) -> Response:
        report = await _report(p)
        return Response(
            report.csv(),
            media_type="text/csv; charset=utf-8",
            headers={**HEADERS, "content-disposition": "attachment; filename=transparency.csv"},
        )

    async def audit(p: Page, data: dict[str, str]) -> Response:
        entries = await parts.staff.audit_latest(200)
        report = await parts.audit.verify() if p.request.query_params.get("verify") else None
        return page(p, "audit.html", entries=entries, report=report)

    async def staff(p: Page, data: dict[str, str]) -> Response:
        return page(p, "staff.html", accounts=await parts.staff.accounts(), now=parts.clock())

    reviewers = frozenset({Role.MODERATOR, Role.CHILD_SAFETY, Role.SENIOR, Role.LEGAL})
    overseers = frozenset({Role.SENIOR, Role.ADMIN, Role.LEGAL})
    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", staff_page(logout), methods=["POST"]),
        Route("/queue", staff_page(queue, roles=reviewers)),
        Route("/queue/next", staff_page(next_job, roles=reviewers), methods=["POST"]),
        Route("/jobs/{job_id:int}", staff_page(job, roles=reviewers)),
        Route("/jobs/{job_id:int}/claim", staff_page(claim, roles=reviewers), methods=["POST"]),
        Route("/jobs/{job_id:int}/unclaim", staff_page(unclaim, roles=reviewers), methods=["POST"]),
        Route("/jobs/{job_id:int}/decide", staff_page(decide, roles=reviewers), methods=["POST"]),
        Route("/trusted", staff_page(trusted), methods=["POST"]),
        Route("/appeals", staff_page(appeals, roles=frozenset({Role.SENIOR}))),
        Route(
            "/appeals/{statement_id}",
            staff_page(decide_appeal, roles=frozenset({Role.SENIOR})),
            methods=["POST"],
        ),
        Route("/bulk", staff_page(bulk, roles=frozenset({Role.SENIOR})), methods=["GET", "POST"]),
        Route("/transparency", staff_page(transparency, roles=overseers)),
        Route("/transparency.json", staff_page(transparency_json, roles=overseers)),
        Route("/transparency.csv", staff_page(transparency_csv, roles=overseers)),
        Route("/audit", staff_page(audit, roles=overseers)),
        Route("/staff", staff_page(staff, roles=frozenset({Role.ADMIN}))),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="console-static"),
    ]
    app = Starlette(routes=routes)
    app.state.parts = parts
    return app


__all__ = ["PLAIN_COOKIE", "PREFIX", "SECURE_COOKIE", "create_console"]
