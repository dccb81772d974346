"""Export packages for an authority: data files, a manifest of their SHA-256, a signature.

A package is a directory::

    request.json     the request as registered (authority, reference, basis, scope, deadline)
    traffic.json     the retained records in scope
    traffic.csv      the same, for a spreadsheet
    evidence.json    preserved content in scope, with its context
    manifest.json    every file above with its size and SHA-256, the signer's key fingerprint
    manifest.sig     Ed25519 signature of manifest.json (base64)
    signing-key.pub  the operator's public key, for convenience only

:func:`verify_package` needs nothing but the package and the operator's public key, obtained
separately (the copy inside the package proves nothing on its own).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from causerie.legal.crypto import fingerprint, public_pem, signature_valid
from causerie.legal.errors import ExportError

FORMAT = "causerie-legal-export/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing-key.pub"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_package(
    target: Path,
    files: Mapping[str, bytes],
    about: Mapping[str, Any],
    key: Ed25519PrivateKey,
) -> str:
    """Write a signed package into ``target``, which must not exist; returns the manifest hash.

    The directory is claimed with ``mkdir`` (atomic, fails if anything is there), so an export
    can never overwrite or mix with an earlier one; if writing fails, what was written is
    removed and nothing else is touched.
    """
    if not target.parent.is_dir():
        raise ExportError(f"cannot export to {target}: {target.parent} is not a directory")
    try:
        target.mkdir(mode=0o700)
    except FileExistsError:
        raise ExportError(
            f"cannot export to {target}: it exists already; choose a new path "
            "(an export never overwrites anything)"
        ) from None
    try:
        manifest = {
            "format": FORMAT,
            **about,
            "signer": fingerprint(key.public_key()),
            "files": [
                {"name": name, "bytes": len(data), "sha256": sha256(data)}
                for name, data in sorted(files.items())
            ],
        }
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
        signature = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
        for name, data in {
            **files,
            MANIFEST: manifest_bytes,
            SIGNATURE: signature,
            PUBLIC_KEY: public_pem(key.public_key()),
        }.items():
            _write(target / name, data)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return sha256(manifest_bytes)


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


@dataclass(slots=True)
class PackageReport:
    path: Path
    signer: str = ""
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path, public_key: Ed25519PublicKey) -> PackageReport:
    """Check the signature of the manifest, then every file against it; list every problem."""
    report = PackageReport(path=path)
    if not path.is_dir():
        report.problems.append(f"{path} is not a package directory")
        return report
    try:
        manifest_bytes = (path / MANIFEST).read_bytes()
        signature = base64.b64decode((path / SIGNATURE).read_bytes().strip(), validate=True)
    except FileNotFoundError as exc:
        report.problems.append(f"missing {Path(str(exc.filename)).name}")
        return report
    except ValueError:
        report.problems.append(f"{SIGNATURE} is not base64")
        return report
    report.signer = fingerprint(public_key)
    if not signature_valid(public_key, signature, manifest_bytes):
        report.problems.append(
            f"the signature of {MANIFEST} is not valid for the key {report.signer}: "
            "the manifest was altered or another key signed it"
        )
    try:
        manifest = json.loads(manifest_bytes)
        entries = manifest["files"]
    except (ValueError, KeyError, TypeError):
        report.problems.append(f"{MANIFEST} is unreadable")
        return report
    report.manifest = manifest
    if manifest.get("format") != FORMAT:
        report.problems.append(f"unknown package format {manifest.get('format')!r}")
    listed: set[str] = set()
    for entry in entries:
        name = str(entry.get("name", ""))
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            report.problems.append(f"the manifest lists an unsafe file name {name!r}")
            continue
        listed.add(name)
        try:
            data = (path / name).read_bytes()
        except FileNotFoundError:
            report.problems.append(f"{name} is listed in the manifest but missing")
            continue
        if sha256(data) != entry.get("sha256") or len(data) != entry.get("bytes"):
            report.problems.append(f"{name} does not match its SHA-256 in the manifest")
            continue
        report.files.append(name)
    extra = sorted(
        p.name for p in path.iterdir() if p.name not in listed | {MANIFEST, SIGNATURE, PUBLIC_KEY}
    )
    report.problems.extend(f"{name} is in the package but not in the manifest" for name in extra)
    return report


def bundled_public_key(path: Path) -> Path | None:
    candidate = path / PUBLIC_KEY
    with contextlib.suppress(OSError):
        if candidate.is_file():
            return candidate
    return None
