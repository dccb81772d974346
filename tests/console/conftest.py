"""A started node (the in-process harness) with its console, driven over ASGI by httpx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from causerie.console.app import create_console
from causerie.console.auth import totp_now
from causerie.console.wiring import ConsoleParts, from_node
from causerie.domain import Category
from causerie.moderation.actions import Actor
from causerie.store.review import ItemKind, NewItem, NewJob, Source
from causerie.store.staff import Role
from tests.harness import Harness, harness

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


@dataclass
class Console:
    harness: Harness
    parts: ConsoleParts
    app: object
    overrides: Path

    async def add_staff(self, name: str, role: Role) -> str:
        """A staff account; returns its TOTP secret."""
        created = await self.parts.auth.add(name, role, PASSWORD, by="test")
        return created.account.totp_secret

    def actor(self, name: str, role: Role) -> Actor:
        return Actor(name, role)

    def code(self, secret: str) -> str:
        # A fresh step for every sign-in: each TOTP code is good once.
        self.harness.clock.advance(30)
        return totp_now(secret, self.harness.clock())

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),  # type: ignore[arg-type]
            base_url="http://127.0.0.1/console",
        )

    async def login(
        self,
        http: httpx.AsyncClient,
        name: str,
        secret: str,
        *,
        password: str = PASSWORD,
        code: str | None = None,
    ) -> httpx.Response:
        page = await http.get("/login")
        token = _LOGIN.search(page.text)
        assert token is not None
        return await http.post(
            "/login",
            data={
                "login_token": token.group(1),
                "name": name,
                "password": password,
                "code": code if code is not None else self.code(secret),
            },
        )

    async def signed_in(self, name: str, role: Role) -> tuple[httpx.AsyncClient, str]:
        """A client signed in as a new staff member of ``role``, and its CSRF token."""
        secret = await self.add_staff(name, role)
        http = self.client()
        response = await self.login(http, name, secret)
        assert response.status_code == 303, response.text
        page = await http.get("/queue" if role is not Role.ADMIN else "/staff")
        found = _CSRF.search(page.text)
        assert found is not None, page.text
        return http, found.group(1)

    async def job(
        self,
        *,
        category: Category | None = Category.HARASSMENT,
        text: str = "a nasty message",
        author_key: str = "bob",
        author: str = "Bob",
        source: Source = Source.REPORT,
        content_id: str | None = None,
        room_id: str | None = None,
        kind: str = "report",
        key: str | None = None,
    ) -> int:
        enqueued = await self.parts.review.enqueue(
            NewItem(
                kind=ItemKind.MESSAGE,
                key=key or f"test:{text}:{author_key}:{category}",
                author_key=author_key,
                author_nickname=author,
                text=text,
                content_id=content_id,
                room_id=room_id,
            ),
            NewJob.for_category(category, source=source, kind=kind, reason="reported"),
            now=self.harness.clock(),
        )
        return enqueued.job_id


def csrf_of(text: str) -> str:
    found = _CSRF.search(text)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async with harness(tmp_path) as h:
        overrides = tmp_path / "overrides.jsonl"
        parts = from_node(h.node, overrides_file=overrides)
        app = Starlette(routes=[Mount("/console", create_console(parts))])
        yield Console(h, parts, app, overrides)
