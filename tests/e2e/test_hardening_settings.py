"""Issue 12, item 7: a misspelt setting stops start-up and names the closest valid one."""

from __future__ import annotations

from pathlib import Path

import pytest

from causerie.cli.main import main
from causerie.settings import UnknownSetting, check_environment, load_settings


def test_a_misspelt_toml_setting_stops_start_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "causerie.toml"
    config.write_text("[chat]\nvisible_hour = 4\n")
    with pytest.raises(UnknownSetting) as refused:
        load_settings(config)
    message = "unknown setting chat.visible_hour; did you mean chat.visible_hours?"
    assert str(refused.value) == message
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "serve"]) == 2
    assert message in capsys.readouterr().err
    config.write_text("[chatt]\nvisible_hours = 4\n")
    with pytest.raises(UnknownSetting, match="unknown setting chatt; did you mean chat"):
        load_settings(config)


def test_a_misspelt_environment_variable_stops_start_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAUSERIE_SERVER__PROT", "1")
    with pytest.raises(UnknownSetting, match=r"server\.prot; did you mean server\.port\?"):
        load_settings()
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert "unknown setting server.prot; did you mean server.port?" in capsys.readouterr().err


def test_known_variables_pass() -> None:
    check_environment(
        {
            "CAUSERIE_SERVER__PORT": "1",
            "CAUSERIE_LEGAL__TRUSTED_PROXIES": "[]",
            "CAUSERIE_CONFIG": "x.toml",
            "CAUSERIE_TEST_POSTGRES": "postgresql://",
            "HOME": "/root",
        }
    )
    with pytest.raises(UnknownSetting, match=r"unknown setting limits\.max_ignore;"):
        check_environment({"CAUSERIE_LIMITS__MAX_IGNORE": "3"})
