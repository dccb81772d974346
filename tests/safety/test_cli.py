"""``causerie policy``: what an operator sees when tuning packs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causerie.cli.main import main


def test_check_shows_the_normalised_text_rules_scores_and_decision(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["policy", "check", "ajoute moi sur s.n.a.p", "--no-model"]) == 0
    # The trial node's retention key is its own and goes with it: nothing to back up.
    assert "retention key file" not in caplog.text
    out = capsys.readouterr().out
    assert "normalised  'ajoute moi sur snap'" in out
    assert "fr.off_platform.request" in out
    assert "off_platform" in out
    assert "pipeline    block (off_platform)" in out
    # Before the policy, the minors fence refuses another app where under-18s read.
    assert "decision    refused (minors_protected)" in out


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
    assert not minor["delivered"] and minor["refusal"] == "content_blocked"


def _live(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["policy", "check", *args, "--no-model", "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_check_decides_as_the_live_server_fence_and_guard_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invitation = "on se voit samedi au parc ?"
    # The policy's stages see nothing; the fence keeps a meeting away from where minors read.
    in_general = _live(capsys, invitation)
    assert in_general["action"] == "allow"
    assert not in_general["delivered"] and in_general["refusal"] == "minors_protected"
    assert _live(capsys, invitation, "--audience", "adults")["delivered"] is True
    # Privately, an adult and a minor have no channel at all; two adults do.
    to_minor = _live(capsys, invitation, "--kind", "private", "--to-band", "15-17")
    assert to_minor["refusal"] == "conversation_forbidden"
    assert _live(capsys, invitation, "--kind", "private")["delivered"] is True
    # Names go through entry and room creation.
    assert _live(capsys, "Baptiste92", "--kind", "nickname")["delivered"] is True
    assert _live(capsys, "Salon rando", "--kind", "room_name")["delivered"] is True


def test_validate_names_the_broken_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate"]) == 0
    assert "valid" in capsys.readouterr().out
    (tmp_path / "broken.toml").write_text('[pack]\nname = "x"\n[[rule]]\nid = "a"\n')
    config = tmp_path / "causerie.toml"
    config.write_text(f'[safety]\npack_dirs = ["{tmp_path}"]\n')
    assert main(["--config", str(config), "policy", "validate"]) == 2
    assert "broken.toml" in capsys.readouterr().err
