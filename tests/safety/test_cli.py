"""``causerie policy``: what an operator sees when tuning packs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causerie.cli.main import main


def test_check_shows_the_normalised_text_rules_scores_and_decision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["policy", "check", "ajoute moi sur s.n.a.p", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "normalised  'ajoute moi sur snap'" in out
    assert "fr.off_platform.request" in out
    assert "off_platform" in out
    assert "decision    block (off_platform)" in out


def test_check_takes_the_audience_and_the_authors_band(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["policy", "check", "un porno ?", "--audience", "adults", "--no-model", "--json"])
    adults = json.loads(capsys.readouterr().out)
    assert adults["action"] == "blur"
    main(
        [
            "policy",
            "check",
            "un porno ?",
            "--kind",
            "private",
            "--band",
            "15-17",
            "--json",
            "--no-model",
        ]
    )
    minor = json.loads(capsys.readouterr().out)
    assert minor["action"] == "block" and minor["scores"]["sexual"] >= 0.6


def test_validate_names_the_broken_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate"]) == 0
    assert "valid" in capsys.readouterr().out
    (tmp_path / "broken.toml").write_text('[pack]\nname = "x"\n[[rule]]\nid = "a"\n')
    config = tmp_path / "causerie.toml"
    config.write_text(f'[safety]\npack_dirs = ["{tmp_path}"]\n')
    assert main(["--config", str(config), "policy", "validate"]) == 2
    assert "broken.toml" in capsys.readouterr().err
