"""Age verification tokens: "over 18" and nothing else, signed, short-lived, good once."""

from __future__ import annotations

import json

import pytest

from causerie.settings import MinorsSettings
from causerie.trust.assurance import (
    AgeTokenInvalid,
    DevelopmentAgeIssuer,
    _b64decode,
    build_verifier,
)

NOW = 1_800_000_000.0


@pytest.fixture
def issuer() -> DevelopmentAgeIssuer:
    return DevelopmentAgeIssuer()


def test_a_token_from_a_trusted_verifier_proves_over_18(issuer: DevelopmentAgeIssuer) -> None:
    verifier = build_verifier(MinorsSettings(age_verifier_keys=[issuer.public_key_text]))
    token = issuer.issue(now=NOW)
    assertion = verifier.verify(token, now=NOW + 10)
    assert assertion.over_18 and assertion.expires_at == NOW + 300
    # The same nonce gives the same replay key: the site refuses the token a second time.
    assert verifier.verify(token, now=NOW + 20).replay_key == assertion.replay_key


def test_the_token_says_nothing_but_the_age_and_names_no_site(
    issuer: DevelopmentAgeIssuer,
) -> None:
    payload = json.loads(_b64decode(issuer.issue(now=NOW).split(".")[1]))
    assert set(payload) == {"over18", "nonce", "iat", "exp"}


@pytest.mark.parametrize(
    "case", ["other_issuer", "expired", "not_over_18", "too_long", "future", "tampered", "junk"]
)
def test_bad_tokens_are_refused(issuer: DevelopmentAgeIssuer, case: str) -> None:
    verifier = build_verifier(MinorsSettings(age_verifier_keys=[issuer.public_key_text]))
    token = {
        "other_issuer": lambda: DevelopmentAgeIssuer().issue(now=NOW),
        "expired": lambda: issuer.issue(now=NOW - 400),
        "not_over_18": lambda: issuer.issue(now=NOW, over_18=False),
        "too_long": lambda: issuer.issue(now=NOW, lifetime=86_400),
        "future": lambda: issuer.issue(now=NOW + 3_600),
        "tampered": lambda: issuer.issue(now=NOW)[:-6] + "AAAAAA",
        "junk": lambda: "v1.not-a-token",
    }[case]()
    with pytest.raises(AgeTokenInvalid):
        verifier.verify(token, now=NOW)


def test_without_a_trusted_key_no_token_passes(issuer: DevelopmentAgeIssuer) -> None:
    with pytest.raises(AgeTokenInvalid):
        build_verifier(MinorsSettings()).verify(issuer.issue(now=NOW), now=NOW)


def test_a_bad_key_in_settings_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        build_verifier(MinorsSettings(age_verifier_keys=["not a key"]))
