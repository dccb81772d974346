"""TOTP secrets are sealed at rest under a key from the key file, not the database."""

from __future__ import annotations

from sqlalchemy import select, update

from causerie.console.auth import AuthError, StaffAuth, totp_now
from causerie.store.staff import Role, staff_accounts
from tests.console.conftest import PASSWORD, Console


async def _stored(console: Console, name: str) -> str:
    async with console.harness.node.engine.connect() as conn:
        row = (
            await conn.execute(
                select(staff_accounts.c.totp_secret).where(staff_accounts.c.name == name)
            )
        ).one()
    return str(row.totp_secret)


async def test_the_database_holds_no_totp_secret_in_clear(console: Console) -> None:
    secret = await console.add_staff("mia", Role.MODERATOR)
    stored = await _stored(console, "mia")
    assert stored.startswith("s1:") and secret not in stored
    # Signing in opens it with the key file's key.
    async with console.client() as http:
        assert (await console.login(http, "mia", secret)).status_code == 303
    # Under another key file (a copy of the database alone), it does not open.
    other = StaffAuth(
        console.parts.staff, console.parts.audit, totp_key=b"k" * 32, clock=console.harness.clock
    )
    console.harness.clock.advance(30)
    try:
        await other.sign_in("mia", PASSWORD, totp_now(secret, console.harness.clock()))
    except AuthError as refused:
        assert "does not open with this key file" in str(refused)
    else:
        raise AssertionError("a secret sealed under another key opened")


async def test_a_secret_written_in_clear_is_sealed_at_its_next_use(console: Console) -> None:
    secret = await console.add_staff("sam", Role.SENIOR)
    async with console.harness.node.engine.begin() as conn:
        await conn.execute(
            update(staff_accounts).where(staff_accounts.c.name == "sam").values(totp_secret=secret)
        )
    async with console.client() as http:
        assert (await console.login(http, "sam", secret)).status_code == 303
    stored = await _stored(console, "sam")
    assert stored.startswith("s1:") and secret not in stored


async def test_an_officer_session_is_a_legal_staff_members_only(console: Console) -> None:
    auth = console.parts.auth
    secret = await console.add_staff("durand", Role.LEGAL)
    token, _until = await auth.officer_login("durand", PASSWORD, console.code(secret))
    assert (await auth.officer_of_session(token)) is not None
    # A console cookie session of the same person is not an officer session.
    async with console.client() as http:
        await console.login(http, "durand", secret)
        cookie = next(iter(http.cookies.values()))
    assert await auth.officer_of_session(cookie) is None
    # A moderator cannot open one.
    mod = await console.add_staff("mia", Role.MODERATOR)
    try:
        await auth.officer_login("mia", PASSWORD, console.code(mod))
    except AuthError as refused:
        assert "not a legal staff account" in str(refused)
    else:
        raise AssertionError("a moderator opened an officer session")
