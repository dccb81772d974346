"""``causerie staff``, ``causerie moderation`` and ``causerie dsa`` end to end on a SQLite file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from causerie.cli.main import main


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAUSERIE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_staff_moderation_and_dsa_commands(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long staff password\n"))
    assert main(["staff", "add", "mia", "--role", "moderator", "--password-stdin"]) == 0
    assert "otpauth://totp/" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "add", "max", "--role", "senior", "--password-stdin"]) == 2
    assert "12 characters" in capsys.readouterr().err
    assert main(["moderation", "queue", "--staff", "mia", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["jobs"] == [] and set(listing["counts"]) == {"general", "violence"}
    assert main(["moderation", "decide", "1", "warn", "--staff", "nobody"]) == 2
    assert main(["dsa", "export", "--since", "2020-01-01", "--out", str(site / "out")]) == 0
    assert "0 statements" in capsys.readouterr().out
    assert main(["staff", "audit", "verify"]) == 0
    assert "verifies" in capsys.readouterr().out


def test_decisions_from_the_command_line_reach_bans_and_the_legal_workflow(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from sqlalchemy import select

    from causerie.domain import Category
    from causerie.legal.runtime import LegalNode
    from causerie.settings import Settings
    from causerie.store.database import create_engine
    from causerie.store.review import ItemKind, NewItem, NewJob, ReviewStore, Source
    from causerie.store.safety import EntryKeys, SafetyStore, safety_sanctions
    from causerie.store.staff import staff_accounts

    monkeypatch.setattr("sys.stdin", io.StringIO("a long staff password\n"))
    assert main(["staff", "add", "sam", "--role", "senior", "--password-stdin"]) == 0
    url = f"sqlite+aiosqlite:///{site / 'chat.db'}"

    async def prepare() -> list[int]:
        engine = create_engine(url)
        review = ReviewStore(engine)
        await SafetyStore(engine).record_entry_keys(
            EntryKeys("s-bob", "bob", "dev-bob", "adr-home", 1_000.0), keep_seconds=10**12
        )
        jobs = []
        for n in (1, 2):
            enqueued = await review.enqueue(
                NewItem(
                    kind=ItemKind.MESSAGE,
                    key=f"cli:{n}",
                    author_key="bob",
                    author_nickname="Bob",
                    author_session="s-bob",
                    text=f"message {n}",
                ),
                NewJob.for_category(
                    Category.VIOLENCE, source=Source.REPORT, kind="report", reason="reported"
                ),
                now=1_000.0,
            )
            jobs.append(enqueued.job_id)
        async with engine.connect() as conn:
            (secret,) = (await conn.execute(select(staff_accounts.c.totp_secret))).one()
        assert secret.startswith("s1:")  # sealed at rest, from the command line too
        await engine.dispose()
        return jobs

    suspend, refer = asyncio.run(prepare())
    argv = ["moderation", "decide", str(suspend), "suspend", "--minutes", "2880", "--address"]
    assert main([*argv, "--staff", "sam"]) == 0, capsys.readouterr().err
    assert main(["moderation", "decide", str(refer), "refer", "--staff", "sam"]) == 0

    async def check() -> None:
        engine = create_engine(url)
        async with engine.connect() as conn:
            (ban,) = (await conn.execute(select(safety_sanctions))).all()
        assert ban.device_key == "dev-bob" and ban.address_key == "adr-home"
        assert ban.ends_at - ban.starts_at == 2880 * 60
        assert ban.address_ends_at - ban.starts_at == 24 * 3600  # an address: a day at most
        await engine.dispose()
        legal = LegalNode(Settings(database={"url": url}), messages=None)
        (item,) = await legal.service.evidence.referrals()
        assert item.reference == f"referral-job{refer}"
        assert item.content["content"]["text"] == "message 2"
        await legal.stop()

    asyncio.run(check())
