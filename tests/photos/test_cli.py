"""``causerie hashes import / list / remove`` on a migrated SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.cli.main import main
from causerie.store.database import migrate
from tests.conftest import off_loop
from tests.photos.test_lists import MD5, PDQ, PDQ2


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    off_loop(migrate, url)
    monkeypatch.setenv("CAUSERIE_DATABASE__URL", url)
    return url


def test_import_list_remove(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = tmp_path / "list.txt"
    listed.write_text(f"# test list\npdq:{PDQ}\n{MD5}\n")
    assert main(["hashes", "import", str(listed), "--list", "tests"]) == 0
    assert "2 hashes imported" in capsys.readouterr().out
    assert main(["hashes", "import", str(listed), "--list", "tests"]) == 0
    assert "0 hashes imported" in capsys.readouterr().out
    assert main(["hashes", "list"]) == 0
    out = capsys.readouterr().out
    assert "tests" in out and "pdq" in out and "md5" in out
    assert main(["hashes", "remove", "--list", "tests", f"md5:{MD5}"]) == 0
    assert "1 hashes removed" in capsys.readouterr().out
    assert main(["hashes", "list", "--hashes"]) == 0
    assert f"pdq:{PDQ}" in capsys.readouterr().out
    assert main(["hashes", "remove", "--list", "tests", "--all"]) == 0
    assert main(["hashes", "list"]) == 0
    assert "no hash lists" in capsys.readouterr().out


def test_a_file_with_bad_lines_imports_nothing(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"signal_type,signal_value\npdq,{PDQ}\npdq,{PDQ2[:10]}\n")
    assert main(["hashes", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "nothing imported" in err
    assert main(["hashes", "list"]) == 0
    assert "no hash lists" in capsys.readouterr().out
