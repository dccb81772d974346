"""Encryption at rest, blind indexes and the operator's signing key.

Every retained row is sealed with AES-256-GCM under one key of the operator's keyring and carries
that key's id, so that a new key can be added at any time: new rows use the newest key, rows
written under older keys stay readable, and ``causerie legal keys reencrypt`` moves them forward.

Searching encrypted rows by nickname, address or content id uses blind indexes: an HMAC of the
normalised value under a subkey of the row's own key. The database can then answer an equality
query without ever holding the value in clear; a search computes the HMAC under every key of the
ring. The two subkeys are derived with HKDF so that the index and the cipher never share a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from causerie.legal.errors import KeyMaterialError
from causerie.unique import UniqueValues

_NONCE_BYTES = 12
# A GCM nonce must never repeat under one key; it need not be secret. Eight random bytes a
# process and a four-byte counter (causerie.unique): no system call a sealed row.
_NONCES = UniqueValues(prefix_bytes=8, counter_bytes=_NONCE_BYTES - 8)
# Sixteen bytes of HMAC: collisions are out of reach and the index stays compact.
_INDEX_BYTES = 16
# A constant sealed under each key when it is first used, so that a key file swapped for the
# wrong one is caught at start-up instead of after a year of unreadable rows.
KEY_CHECK_PLAINTEXT = b"causerie retention key check"


def _derive(material: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)


class DataKey:
    """One data key: the operator's 32 random bytes, from which the seal and index keys derive."""

    __slots__ = ("_cipher", "_index", "created_at", "id", "material")

    def __init__(self, id: str, created_at: float, material: bytes) -> None:
        self.id = id
        self.created_at = created_at
        self.material = material
        self._cipher = AESGCM(_derive(material, b"causerie seal"))
        # Keyed once; each index copies it, which skips HMAC's key schedule per value.
        self._index = hmac.new(_derive(material, b"causerie index"), digestmod=hashlib.sha256)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = _NONCES.next()
        return nonce + self._cipher.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        try:
            return self._cipher.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
        except InvalidTag:
            raise KeyMaterialError(
                f"data sealed under key {self.id!r} cannot be opened with the key file's "
                f"{self.id!r}: the key file does not hold the key this data was written with, "
                "or the data was altered"
            ) from None

    def index(self, value: str) -> str:
        mac = self._index.copy()
        mac.update(value.encode())
        return mac.digest()[:_INDEX_BYTES].hex()


class Keyring:
    """The operator's data keys, oldest first; the last one seals new rows.

    The ring also holds the chain key, which keys the audit and evidence hash chains. It is
    derived from the first data key when the ring is created, then written to the key file and
    kept across rotations and retirements, so that a chain verifies for as long as it exists.
    """

    def __init__(
        self, keys: list[DataKey], path: Path | None = None, chain_key: bytes | None = None
    ) -> None:
        if not keys:
            raise KeyMaterialError("the keyring holds no key")
        ids = [k.id for k in keys]
        if len(set(ids)) != len(ids):
            raise KeyMaterialError(f"the keyring lists a key id twice: {ids}")
        if chain_key is not None and len(chain_key) != 32:
            raise KeyMaterialError("the chain key is not 32 bytes long")
        self.keys = list(keys)
        self.path = path
        self.chain_key = chain_key or _derive(keys[0].material, b"causerie chain")
        self._by_id = {k.id: k for k in keys}

    @property
    def current(self) -> DataKey:
        return self.keys[-1]

    def get(self, key_id: str) -> DataKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise KeyMaterialError(
                f"data was sealed under key {key_id!r}, which the key file "
                f"{self.path or '(in memory)'} does not hold (it has {list(self._by_id)})"
            ) from None

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]:
        key = self.current
        return key.id, key.seal(plaintext, associated)

    def open(self, key_id: str, sealed: bytes, associated: bytes) -> bytes:
        return self.get(key_id).open(sealed, associated)

    def indexes(self, value: str) -> dict[str, str]:
        """The blind index of ``value`` under every key, for searches across rotations."""
        return {k.id: k.index(value) for k in self.keys}

    # -- files ---------------------------------------------------------------------------------

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        return cls([_new_key(key_id or "k1")])

    def rotated(self, key_id: str | None = None) -> Keyring:
        """A keyring with one more key, which becomes the current one."""
        new_id = key_id or f"k{len(self.keys) + 1}"
        while new_id in self._by_id:
            new_id = f"{new_id}x"
        return Keyring([*self.keys, _new_key(new_id)], self.path, self.chain_key)

    def without(self, key_id: str) -> Keyring:
        self.get(key_id)
        if key_id == self.current.id:
            raise KeyMaterialError(f"key {key_id!r} is the current key; rotate before retiring it")
        return Keyring([k for k in self.keys if k.id != key_id], self.path, self.chain_key)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        check_private_file(path, "retention key file")
        try:
            document = json.loads(path.read_text())
            keys = [
                DataKey(
                    id=str(entry["id"]),
                    created_at=float(entry.get("created_at", 0.0)),
                    material=base64.b64decode(entry["key"], validate=True),
                )
                for entry in document["keys"]
            ]
            chain = document.get("chain_key")
            chain_key = base64.b64decode(chain, validate=True) if chain is not None else None
        except FileNotFoundError:
            raise KeyMaterialError(
                f"retention key file {path} not found: create it with `causerie legal keys rotate`"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyMaterialError(f"retention key file {path} is unreadable: {exc}") from None
        for key in keys:
            if len(key.material) != 32:
                raise KeyMaterialError(f"key {key.id!r} in {path} is not 32 bytes long")
        return cls(keys, path, chain_key)

    def save(self, path: Path) -> None:
        """Write the keyring readable by its owner only, replacing the file atomically."""
        document = {
            "chain_key": base64.b64encode(self.chain_key).decode(),
            "keys": [
                {
                    "id": k.id,
                    "created_at": k.created_at,
                    "key": base64.b64encode(k.material).decode(),
                }
                for k in self.keys
            ],
        }
        private_directory(path.parent)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        self.path = path


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) readable by its owner only; an existing one is kept."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def check_private_file(path: Path, what: str) -> None:
    """Refuse key material that others than its owner can read (group or world bits set)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # the loader says what is missing
    if mode & 0o077:
        raise KeyMaterialError(
            f"{what} {path} is readable by others (mode {mode & 0o777:o}): "
            f"run `chmod 600 {path}` and check who could have read it"
        )


def _new_key(key_id: str) -> DataKey:
    return DataKey(id=key_id, created_at=time.time(), material=secrets.token_bytes(32))


# -- signing ---------------------------------------------------------------------------------------


def generate_signing_key(private_path: Path) -> Path:
    """Create an Ed25519 key pair: ``private_path`` (mode 600) and ``<private_path>.pub``."""
    if private_path.exists():
        raise KeyMaterialError(f"{private_path} exists already; it is not overwritten")
    key = Ed25519PrivateKey.generate()
    private_directory(private_path.parent)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path = public_key_path(private_path)
    public_path.write_bytes(public_pem(key.public_key()))
    return public_path


def public_key_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    check_private_file(path, "signing key")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise KeyMaterialError(
            f"signing key {path} not found: create it with `causerie legal keys signing`"
        ) from None
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"signing key {path} is unreadable: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMaterialError(f"signing key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise KeyMaterialError(f"public key {path} not found") from None
    except ValueError as exc:
        raise KeyMaterialError(f"public key {path} is unreadable: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyMaterialError(f"public key {path} is not an Ed25519 key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def signature_valid(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
