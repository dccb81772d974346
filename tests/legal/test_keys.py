"""Retained data protected by more than procedure (issue 12, finding 4): a keyed audit chain, key
operations that need an officer and are audited, key files kept private and away from the data,
database files readable by their owner only."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from causerie.cli.main import main
from causerie.legal.audit import _fields
from causerie.legal.chain import GENESIS, canonical
from causerie.legal.crypto import Keyring
from causerie.legal.database import default_key_directory, resolve_paths
from causerie.legal.errors import KeyMaterialError
from causerie.legal.runtime import LegalNode, preflight
from causerie.legal.store import AuditRow
from causerie.settings import Settings, load_settings
from tests.legal.conftest import OFFICER, OFFICER_PASSWORD, LegalEnv, officer_argv
from tests.legal.test_e2e import write_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def plain_link(prev_hash: str, fields: dict[str, object]) -> str:
    """The unkeyed link the chain used before: anyone with the database could recompute it."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


@pytest.mark.parametrize("retention_url", ["sqlite"], indirect=True)
async def test_a_rewritten_audit_chain_with_recomputed_hashes_fails_verification(
    legal: LegalEnv, retention_url: str
) -> None:
    for reference in ("PV-1", "PV-2", "PV-3"):
        await legal.service.register_request(
            OFFICER,
            authority="Parquet",
            reference=reference,
            legal_basis="art. 60-1",
            deadline=None,
            content_ids=["m1"],
        )
    assert (await legal.service.audit.verify()).ok

    # Whoever can write the database (not read the key file) drops the append-only triggers,
    # blames someone else for entry 2 and recomputes every hash after it.
    database = retention_url.removeprefix("sqlite+aiosqlite:///")

    def rewrite() -> None:
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute("UPDATE audit_log SET actor = 'officer.martin' WHERE seq = 2")
            prev = GENESIS
            rows = conn.execute(
                "SELECT seq, at, actor, action, request_id, outcome, detail FROM audit_log "
                "ORDER BY seq"
            ).fetchall()
            for seq, at, actor, action, request_id, outcome, detail in rows:
                fields = _fields(
                    AuditRow(seq, at, actor, action, request_id, outcome, detail, "", ""), seq
                )
                digest = plain_link(prev, fields)
                conn.execute(
                    "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                    (prev, digest, seq),
                )
                prev = digest

    await asyncio.to_thread(rewrite)
    report = await legal.service.audit.verify()
    assert not report.ok
    assert "entry 1 was altered" in report.problems


def test_the_chain_key_survives_rotation_and_retirement(tmp_path: Path) -> None:
    path = tmp_path / "k" / "keys"
    first = Keyring.generate()
    first.save(path)
    assert "chain_key" in json.loads(path.read_text())
    rotated = Keyring.load(path).rotated()
    rotated.save(path)
    retired = Keyring.load(path).without("k1")
    assert retired.chain_key == rotated.chain_key == first.chain_key
    assert Keyring.generate().chain_key != first.chain_key


async def test_key_operations_need_an_officer_and_are_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *argv])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    keys = tmp_path / "keys" / "causerie-retention.keys"
    signing = tmp_path / "keys" / "causerie-legal-signing.pem"
    # Not an officer: no key file is created, rotated or signed for.
    # The first key file, before any staff account exists (nobody can prove anything yet).
    code, out = await asyncio.to_thread(run, "legal", "--officer", OFFICER, "keys", "rotate")
    assert code == 0, out
    before = keys.read_text()
    officer = await asyncio.to_thread(officer_argv, config)
    # Mallory, with no staff account of role legal, gives a password (as a script would, from
    # the environment) and a code: refused, nothing rotated or signed for.
    monkeypatch.setenv("LEGAL_OFFICER_PASSWORD", OFFICER_PASSWORD)
    not_legal = ["legal", "--officer", "mallory", "--code", "000000"]
    for argv in (["keys", "rotate"], ["keys", "signing"]):
        code, out = await asyncio.to_thread(run, *not_legal, *argv)
        assert code == 1 and "is not a legal officer" in out, out
        # Someone else's officer session is not mallory's.
        code, out = await asyncio.to_thread(run, *not_legal[:3], "--session", officer[4], *argv)
        assert code == 1 and "is not a legal officer" in out, out
    assert keys.read_text() == before and not signing.exists()
    for argv in (["keys", "rotate"], ["keys", "signing"]):
        code, out = await asyncio.to_thread(run, *officer, *argv)
        assert code == 0, out
    assert [k["id"] for k in json.loads(keys.read_text())["keys"]] == ["k1", "k2"]
    assert mode(signing) == 0o600 and mode(keys) == 0o600

    code, out = await asyncio.to_thread(run, *officer, "audit")
    entries = [line.split()[2:5] for line in out.splitlines()]
    for expected in (
        [OFFICER, "keys.create", "ok"],
        ["mallory", "keys.rotate", "denied"],
        ["mallory", "keys.signing", "denied"],
        [OFFICER, "keys.rotate", "ok"],
        [OFFICER, "keys.signing", "ok"],
    ):
        assert expected in entries, out
    code, out = await asyncio.to_thread(run, *officer, "audit", "--verify")
    assert code == 0, out


async def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    keys = resolve_paths(settings).keys_file
    Keyring.generate().save(keys)
    keys.chmod(0o644)
    with pytest.raises(KeyMaterialError, match=r"readable by others \(mode 644\): run `chmod 600"):
        await preflight(settings)
    keys.chmod(0o600)
    await preflight(settings)


def test_a_key_file_beside_the_database_is_refused_unless_for_development(tmp_path: Path) -> None:
    def settings(**legal: object) -> Settings:
        return Settings(
            database={"url": f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"},
            legal={"keys_file": tmp_path / "causerie-retention.keys", **legal},
        )

    with pytest.raises(KeyMaterialError, match="same directory as the database"):
        LegalNode(settings(), messages=None)
    asyncio.run(LegalNode(settings(keys_beside_database=True), messages=None).stop())


def test_the_default_key_file_is_in_the_state_directory_not_the_data_directory(
    tmp_path: Path,
) -> None:
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path / 'causerie.db'}"})
    paths = resolve_paths(settings)
    assert paths.keys_file == default_key_directory() / "causerie-retention.keys"
    assert paths.signing_key_file.parent == paths.keys_file.parent
    assert default_key_directory({"XDG_STATE_HOME": "/srv/state"}) == Path("/srv/state/causerie")
    assert default_key_directory({}) == Path.home() / ".local" / "state" / "causerie"
    # A new state directory is the owner's only.
    state = tmp_path / "state"
    Keyring.generate().save(state / "causerie" / "keys")
    assert mode(state / "causerie") == 0o700


async def test_both_database_files_are_created_readable_by_their_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, auto_migrate="false")
    assert await asyncio.to_thread(main, ["--config", str(config), "migrate"]) == 0
    for name in ("causerie.db", "causerie-retention.db"):
        assert mode(tmp_path / name) == 0o600, name
