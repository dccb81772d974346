"""Who may act on retained data: the seam between the legal service and whoever vouches for them.

The command line, the only way a person reaches retained data, authenticates officers as console
staff accounts of role ``legal`` with their password and TOTP code
(:class:`causerie.console.auth.StaffOfficers`, wired in ``causerie.cli.legal.open_service``).
:class:`ConfiguredOfficers` (the names in ``legal.officers``) says who is trusted, not who is at
the keyboard; it remains only as the default of a :class:`~causerie.legal.service.LegalService`
built in process (a node, whose code never searches or exports, and tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class OfficerAuthenticator(Protocol):
    """Decides whether ``officer`` may perform ``action`` on retained data now."""

    async def authenticate(self, officer: str, action: str) -> bool: ...

    def describe(self) -> str:
        """How officers are named, for the message of a refusal (``legal.officers``, ...)."""
        ...


class ConfiguredOfficers:
    """Officers as listed in the settings (``legal.officers``): the interim authenticator."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(n for n in names if n)

    async def authenticate(self, officer: str, action: str) -> bool:
        return bool(officer) and officer in self.names

    def describe(self) -> str:
        return "legal.officers in the settings"

    def __bool__(self) -> bool:
        return bool(self.names)
