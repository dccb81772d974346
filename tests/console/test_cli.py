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
