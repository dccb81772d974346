"""The `causerie legal` commands that manage the database and the keys, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causerie.cli.main import main
from tests.legal.conftest import OFFICER
from tests.legal.test_e2e import write_config


def run(config: Path, *argv: str) -> int:
    return main(["--config", str(config), *argv])


def test_migrate_covers_the_retention_database(tmp_path: Path) -> None:
    config = write_config(tmp_path, auto_migrate="false")
    assert run(config, "migrate") == 0
    assert (tmp_path / "causerie.db").exists()
    assert (tmp_path / "causerie-retention.db").exists()


def test_keys_rotate_reencrypt_retire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    officer = ["legal", "--officer", OFFICER]
    assert run(config, *officer, "keys", "rotate") == 0  # creates the key file: k1
    assert run(config, *officer, "preserve", "--authority", "A", "--reference", "R",
               "--content", "m1") == 0  # fmt: skip
    assert run(config, *officer, "keys", "rotate") == 0
    keys = json.loads((tmp_path / "causerie-retention.keys").read_text())
    assert [k["id"] for k in keys["keys"]] == ["k1", "k2"]
    capsys.readouterr()
    assert run(config, *officer, "keys", "retire", "k1") == 1
    assert "still sealed under 'k1'" in capsys.readouterr().err
    assert run(config, *officer, "keys", "reencrypt") == 0
    assert run(config, *officer, "keys", "retire", "k1") == 0
    keys = json.loads((tmp_path / "causerie-retention.keys").read_text())
    assert [k["id"] for k in keys["keys"]] == ["k2"]
    capsys.readouterr()
    assert run(config, *officer, "keys", "list") == 0
    assert "k2" in capsys.readouterr().out
    assert run(config, *officer, "orders") == 0
    assert "active" in capsys.readouterr().out


def test_a_replaced_key_file_stops_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    officer = ["legal", "--officer", OFFICER]
    assert run(config, *officer, "keys", "rotate") == 0
    assert run(config, *officer, "purge") == 0
    keys = tmp_path / "causerie-retention.keys"
    keys.unlink()
    assert run(config, *officer, "keys", "rotate") == 0  # a new k1, not the one in use
    capsys.readouterr()
    assert run(config, *officer, "purge") == 1
    assert "does not hold the key this data was written with" in capsys.readouterr().err
