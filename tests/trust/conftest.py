"""Servers and clients for the protection of minors, with a development age verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from causerie.client import Client
from causerie.protocol import frames as f
from causerie.settings import Settings
from causerie.trust.assurance import DevelopmentAgeIssuer
from tests.conftest import RunningServer, run_server


@pytest.fixture
def issuer() -> DevelopmentAgeIssuer:
    return DevelopmentAgeIssuer()


def fence_settings(
    make_settings: Callable[..., Settings], issuer: DevelopmentAgeIssuer, **sections: Any
) -> Settings:
    minors = {"age_verifier_keys": [issuer.public_key_text], **sections.pop("minors", {})}
    if "safety" in Settings.model_fields:
        # The fence must hold by itself, whatever the safety pipeline would add.
        sections.setdefault("safety", {"enabled": False})
    return make_settings(minors=minors, **sections)


@pytest.fixture
async def fenced(
    make_settings: Callable[..., Settings], issuer: DevelopmentAgeIssuer
) -> AsyncIterator[RunningServer]:
    async with run_server(fence_settings(make_settings, issuer)) as running:
        yield running


async def enter(
    client: Client,
    nickname: str,
    age: int,
    *,
    gender: str = "woman",
    postal_code: str = "75011",
    device: str | None = None,
    age_token: str | None = None,
) -> f.Welcome:
    """``Client.enter`` with the optional device and age token of the enter frame."""
    frame = f.Enter(
        nickname=nickname,
        age=age,
        gender=gender,
        postal_code=postal_code,
        device=device,
        age_token=age_token,
    )
    (client.welcome,) = await client._request(frame, (f.Welcome,))
    return client.welcome
