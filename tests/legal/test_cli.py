"""The `causerie legal` commands that manage the database and the keys, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causerie.cli.main import main
from causerie.legal.crypto import Keyring
from tests.legal.conftest import OFFICER, officer_argv
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
    # The first key file, before any staff account exists.
    assert run(config, "legal", "--officer", OFFICER, "keys", "rotate") == 0  # k1
    officer = officer_argv(config)
    assert run(config, *officer, "preserve", "--authority", "A", "--reference", "R",
               "--content", "m1") == 0  # fmt: skip
    assert run(config, *officer, "keys", "rotate") == 0
    keys = json.loads((tmp_path / "keys" / "causerie-retention.keys").read_text())
    assert [k["id"] for k in keys["keys"]] == ["k1", "k2"]
    capsys.readouterr()
    assert run(config, *officer, "keys", "retire", "k1") == 1
    assert "still sealed under 'k1'" in capsys.readouterr().err
    assert run(config, *officer, "keys", "reencrypt") == 0
    assert run(config, *officer, "keys", "retire", "k1") == 0
    keys = json.loads((tmp_path / "keys" / "causerie-retention.keys").read_text())
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
    assert run(config, "legal", "--officer", OFFICER, "keys", "rotate") == 0
    officer = officer_argv(config)
    assert run(config, *officer, "purge") == 0
    keys = tmp_path / "keys" / "causerie-retention.keys"
    keys.unlink()
    capsys.readouterr()
    # A lost key file is not silently replaced by a new one that cannot read the data.
    assert run(config, *officer, "keys", "rotate") == 1
    assert "restore the key file that wrote" in capsys.readouterr().err
    Keyring.generate().save(keys)  # a new k1, not the one in use
    for argv in (["purge"], ["keys", "rotate"], ["keys", "signing"]):
        assert run(config, *officer, *argv) == 1
        assert "does not hold the key this data was written with" in capsys.readouterr().err
    # The server says it in one line too, before it starts (issue 12, finding 7).
    assert run(config, "serve", "--port", "1") == 1
    err = capsys.readouterr().err
    assert "does not hold the key this data was written with" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
