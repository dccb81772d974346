"""Age assurance for adults-only spaces: a third party proves "over 18" and nothing else.

The French Arcom framework for age verification (référentiel technique, 2024) asks for double
anonymity: the site learns only the age attribute, and the verifier never learns which site
asked. The token format here gives both:

- The chatter's device draws a random nonce and takes it to the verifier of its choice (an app,
  a bank, an identity wallet). The verifier checks the person's age by its own means and signs
  ``{"over18": true, "nonce": ..., "iat": ..., "exp": ...}`` with its Ed25519 key. Nothing in
  the request names causerie, so the verifier cannot tell which site will receive the proof.
- causerie checks the signature with the verifier's public key, the expiry, and that the nonce
  was never used before (a token is good once). The token carries no name, no birth date, no
  identifier: causerie learns "over 18" and nothing else, and keeps only a hash of the nonce
  until the token expires.

An operator plugs another scheme in through :class:`AgeVerifier` (``minors.age_verifier``);
:class:`DevelopmentAgeIssuer` plays the verifier in tests and on a developer's machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from causerie.settings import MinorsSettings

TOKEN_PREFIX = "v1"
# Clocks of the verifier and of the site differ a little.
CLOCK_SKEW_SECONDS = 60.0


class AgeTokenInvalid(Exception):
    """The token does not prove "over 18" to this site (the message says why, for logs)."""


@dataclass(frozen=True, slots=True)
class AgeAssertion:
    """What a valid token tells the site: the person is over 18, and nothing else."""

    over_18: bool
    expires_at: float
    # A hash of the token's nonce: the site remembers it until expiry so the token works once.
    replay_key: str


class AgeVerifier(Protocol):
    """Checks a verification token; never contacts the verifier, so it never learns who asked."""

    def verify(self, token: str, *, now: float) -> AgeAssertion:
        """Return the assertion, or raise :class:`AgeTokenInvalid`."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from the base64 of its 32 raw bytes (standard or URL alphabet)."""
    try:
        raw = _b64decode(text.strip().replace("+", "-").replace("/", "_"))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise ValueError(f"not an Ed25519 public key (base64 of 32 bytes): {text[:60]!r}") from None


class Ed25519TokenVerifier:
    """Accepts ``v1.<payload>.<signature>`` tokens signed by any of the trusted verifiers."""

    def __init__(self, public_keys: Sequence[Ed25519PublicKey], *, max_lifetime: float) -> None:
        self.public_keys = list(public_keys)
        self.max_lifetime = max_lifetime

    def verify(self, token: str, *, now: float) -> AgeAssertion:
        if not self.public_keys:
            raise AgeTokenInvalid("no age verifier is trusted on this site")
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 2_000:
            raise AgeTokenInvalid("not a v1 age token")
        try:
            payload_bytes = _b64decode(parts[1])
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise AgeTokenInvalid("token is not base64") from None
        signed = f"{parts[0]}.{parts[1]}".encode()
        if not any(_signed_by(key, signature, signed) for key in self.public_keys):
            raise AgeTokenInvalid("signature from no trusted verifier")
        try:
            payload: Any = json.loads(payload_bytes)
        except ValueError:
            raise AgeTokenInvalid("payload is not JSON") from None
        if not isinstance(payload, dict):
            raise AgeTokenInvalid("payload is not an object")
        over_18 = payload.get("over18")
        nonce = payload.get("nonce")
        issued = payload.get("iat")
        expires = payload.get("exp")
        if over_18 is not True:
            raise AgeTokenInvalid("the token does not say over 18")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 200:
            raise AgeTokenInvalid("the token has no usable nonce")
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise AgeTokenInvalid("the token has no issue or expiry time")
        if issued > now + CLOCK_SKEW_SECONDS:
            raise AgeTokenInvalid("the token is issued in the future")
        if expires <= now:
            raise AgeTokenInvalid("the token has expired")
        if expires - issued > self.max_lifetime:
            raise AgeTokenInvalid("the token lives longer than this site accepts")
        replay_key = hashlib.sha256(b"age-token-nonce:" + nonce.encode()).hexdigest()[:48]
        return AgeAssertion(over_18=True, expires_at=float(expires), replay_key=replay_key)


def _signed_by(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


class DevelopmentAgeIssuer:
    """A stand-in verifier for tests and development: it signs whatever age it is told.

    Never trust its key in production: anyone holding the private key can mint "over 18".
    """

    def __init__(self, private_key: Ed25519PrivateKey | None = None) -> None:
        self._key = private_key or Ed25519PrivateKey.generate()

    @property
    def public_key_text(self) -> str:
        """What an operator puts in ``minors.age_verifier_keys`` to trust this issuer."""
        raw = self._key.public_key().public_bytes_raw()
        return base64.b64encode(raw).decode()

    def issue(
        self,
        *,
        over_18: bool = True,
        lifetime: float = 300.0,
        nonce: str | None = None,
        now: float | None = None,
    ) -> str:
        issued = time.time() if now is None else now
        payload = {
            "over18": over_18,
            "nonce": nonce or secrets.token_urlsafe(24),
            "iat": issued,
            "exp": issued + lifetime,
        }
        body = f"{TOKEN_PREFIX}.{_b64encode(json.dumps(payload).encode())}"
        return f"{body}.{_b64encode(self._key.sign(body.encode()))}"


def build_verifier(settings: MinorsSettings) -> AgeVerifier:
    """The built-in Ed25519 verifier over the trusted keys, or the operator's own factory."""
    if settings.age_verifier:
        module_name, _, attribute = settings.age_verifier.partition(":")
        if not module_name or not attribute:
            raise ValueError("minors.age_verifier is 'module:callable'")
        factory = getattr(importlib.import_module(module_name), attribute)
        verifier: AgeVerifier = factory(settings)
        return verifier
    keys = [public_key_from_text(text) for text in settings.age_verifier_keys]
    return Ed25519TokenVerifier(keys, max_lifetime=settings.age_token_max_seconds)
