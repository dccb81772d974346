"""Keys, scopes, forwarding headers and packages, tested without a database or a socket."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from causerie.legal.crypto import (
    Keyring,
    generate_signing_key,
    load_public_key,
    load_signing_key,
)
from causerie.legal.errors import ExportError, KeyMaterialError, ScopeError
from causerie.legal.package import verify_package, write_package
from causerie.legal.proxy import TrustedProxies
from causerie.legal.scope import DAY, Scope

# -- keys -----------------------------------------------------------------------------------------


def test_rotation_seals_with_the_newest_key_and_still_opens_the_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = Keyring.generate()
    first.save(path)
    key_id, sealed = first.seal(b"203.0.113.7", b"row")
    rotated = Keyring.load(path).rotated()
    rotated.save(path)
    reloaded = Keyring.load(path)
    assert reloaded.current.id == "k2"
    assert reloaded.seal(b"x", b"row")[0] == "k2"
    assert reloaded.open(key_id, sealed, b"row") == b"203.0.113.7"
    # A blind index depends on the key, so searches compute it under each key of the ring.
    assert reloaded.keys[0].index("alice") != reloaded.keys[1].index("alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_wrong_key_file_is_a_clear_error_not_garbage(tmp_path: Path) -> None:
    key_id, sealed = Keyring.generate().seal(b"secret", b"row")
    impostor = Keyring.generate()  # same id "k1", other bytes
    with pytest.raises(KeyMaterialError, match="does not hold the key"):
        impostor.open(key_id, sealed, b"row")
    with pytest.raises(KeyMaterialError, match="does not hold"):
        impostor.open("k9", sealed, b"row")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.json").chmod(0o600)
    with pytest.raises(KeyMaterialError, match="unreadable"):
        Keyring.load(tmp_path / "bad.json")
    with pytest.raises(KeyMaterialError, match="not found"):
        Keyring.load(tmp_path / "absent.json")


def test_a_payload_moved_to_another_row_no_longer_opens() -> None:
    keyring = Keyring.generate()
    key_id, sealed = keyring.seal(b"payload", b"traffic|content|1.0")
    with pytest.raises(KeyMaterialError):
        keyring.open(key_id, sealed, b"traffic|content|2.0")


def test_signing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    public = generate_signing_key(path)
    assert load_signing_key(path).public_key() == load_public_key(public)
    with pytest.raises(KeyMaterialError, match="exists already"):
        generate_signing_key(path)


# -- scopes ---------------------------------------------------------------------------------------

START = 1_740_000_000.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "empty"),
        ({"start": START, "end": START + DAY}, "unbounded: a time range alone"),
        ({"nicknames": ["Alice"]}, "unbounded: a nickname or an address needs a time range"),
        ({"addresses": ["203.0.113.7"], "start": START}, "unbounded"),
        ({"nicknames": ["Alice"], "start": START, "end": START + 400 * DAY}, "spans 400 days"),
        ({"nicknames": ["Alice"], "start": START, "end": START - 1}, "ends before it starts"),
        ({"addresses": ["not-an-ip"], "start": START, "end": START + 1}, "not an IP address"),
        ({"content_ids": ["DROP TABLE"]}, "not a content id"),
        ({"nicknames": ["   "], "start": START, "end": START + 1}, "not a nickname"),
    ],
)
def test_empty_or_unbounded_scopes_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        Scope.build(**kwargs)  # type: ignore[arg-type]


def test_scope_normalises_what_it_names() -> None:
    scope = Scope.build(
        nicknames=["ÀLICE", "alice"],
        addresses=["::ffff:203.0.113.7", "2001:DB8::1"],
        content_ids=["m42"],
        start=START,
        end=START + DAY,
    )
    assert scope.nicknames == ("alice",)
    assert scope.addresses == ("2001:db8::1", "203.0.113.7")
    assert Scope.build(content_ids=["m42"]).content_ids == ("m42",)
    assert scope.covers(nickname="Alice", address="", content_id="", at=START)
    assert not scope.covers(nickname="Alice", address="", content_id="", at=START + DAY)
    assert not scope.covers(nickname="Bob", address="198.51.100.1", content_id="m1", at=START)


# -- forwarding headers -----------------------------------------------------------------------


def test_forwarding_headers_from_an_untrusted_peer_are_ignored() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    headers = {"x-forwarded-for": "198.51.100.9", "forwarded": "for=198.51.100.9"}
    address = proxies.resolve("203.0.113.7", 51234, headers, "x-real-port")
    assert (address.ip, address.port, address.via_proxy) == ("203.0.113.7", 51234, False)
    # No proxies configured: nobody's headers count.
    assert TrustedProxies([]).resolve("10.0.0.2", 1, headers, "x-real-port").ip == "10.0.0.2"


def test_x_forwarded_for_is_read_from_the_nearest_hop_skipping_trusted_proxies() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "192.0.2.10"])
    headers = {
        # The client forged the first entry; the trusted proxies appended the rest.
        "x-forwarded-for": "1.2.3.4, 203.0.113.7, 192.0.2.10",
        "x-real-port": "51234",
        "x-forwarded-proto": "https",
    }
    address = proxies.resolve("10.0.0.2", 443, headers, "x-real-port")
    assert (address.ip, address.scheme, address.via_proxy) == ("203.0.113.7", "https", True)
    # The port header describes the nearest hop only; past another proxy it is unknown.
    assert address.port == 0
    direct = proxies.resolve(
        "10.0.0.2", 443, {"x-forwarded-for": "203.0.113.7", "x-real-port": "51234"}, "x-real-port"
    )
    assert (direct.ip, direct.port) == ("203.0.113.7", 51234)


def test_rfc_7239_forwarded_carries_the_source_port() -> None:
    proxies = TrustedProxies(["10.0.0.2"], "forwarded")
    headers = {"forwarded": 'for="[2001:db8::7]:51234";proto=https, for=10.0.0.2'}
    address = proxies.resolve("10.0.0.2", 443, headers, "x-real-port")
    assert (address.ip, address.port, address.scheme) == ("2001:db8::7", 51234, "https")


def test_only_the_named_header_is_believed() -> None:
    # nginx sets X-Forwarded-For and passes on the client's own Forwarded line untouched.
    forged = {
        "forwarded": 'for="198.51.100.66:4444"',
        "x-real-ip": "198.51.100.67",
        "x-forwarded-for": "203.0.113.7",
        "x-real-port": "51234",
    }
    address = TrustedProxies(["127.0.0.1"]).resolve("127.0.0.1", 80, forged, "x-real-port")
    assert (address.ip, address.port) == ("203.0.113.7", 51234)
    real_ip = TrustedProxies(["127.0.0.1"], "x-real-ip")
    assert real_ip.resolve("127.0.0.1", 80, forged, "x-real-port").ip == "198.51.100.67"
    with pytest.raises(ValueError, match="proxy_header"):
        TrustedProxies([], "x-client-ip")


# -- packages ---------------------------------------------------------------------------------


def test_a_package_verifies_and_any_change_is_caught(tmp_path: Path) -> None:
    private = tmp_path / "signing.pem"
    public = load_public_key(generate_signing_key(private))
    target = tmp_path / "package"
    write_package(target, {"traffic.csv": b"a,b\n"}, {"request": {}}, load_signing_key(private))
    assert verify_package(target, public).ok
    (target / "traffic.csv").write_bytes(b"a,c\n")
    assert "traffic.csv does not match" in verify_package(target, public).problems[0]
    (target / "traffic.csv").write_bytes(b"a,b\n")
    (target / "extra.txt").write_text("slipped in")
    assert verify_package(target, public).problems == [
        "extra.txt is in the package but not in the manifest"
    ]
    (target / "extra.txt").unlink()
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["request"] = {"reference": "changed"}
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert "signature" in verify_package(target, public).problems[0]
    other = load_public_key(generate_signing_key(tmp_path / "other.pem"))
    (target / "manifest.json").write_text("{}")
    assert not verify_package(target, other).ok


def test_an_export_never_writes_into_an_existing_path(tmp_path: Path) -> None:
    private = tmp_path / "signing.pem"
    generate_signing_key(private)
    target = tmp_path / "earlier"
    target.mkdir()
    (target / "keep.txt").write_text("earlier work")
    with pytest.raises(ExportError, match="exists already"):
        write_package(target, {"a": b"b"}, {}, load_signing_key(private))
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "earlier work"


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_escaped() -> None:
    from causerie.legal.service import csv_cell

    for formula in ('=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(formula) == "'" + formula
    assert csv_cell("Mozilla/5.0") == "Mozilla/5.0"
    assert csv_cell(51234) == 51234
