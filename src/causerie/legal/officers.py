"""Who may act on retained data: the seam between the legal service and whoever vouches for them.

Today the officers are the names in ``legal.officers`` (:class:`ConfiguredOfficers`), which only
says who is trusted, not that the person at the keyboard is them: anyone who can run the command
line with the site's settings can claim a listed name. The moderation console (issue #9) will
provide staff accounts with a second factor; it plugs in here by implementing
:class:`OfficerAuthenticator`, and the service, the command line and the audit log stay as they
are.
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
