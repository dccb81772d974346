"""The scope of a judicial request or a preservation order: which retained data it reaches.

A scope names people or content (nicknames, addresses, content ids) and, for people, a bounded
time range. Selectors are alternatives (a record matches if it matches any of them); the time
range restricts them all. There is no way to express "everything": a scope without selectors, or
a person without a time range, is refused before anything is stored or searched.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from causerie.legal.errors import ScopeError
from causerie.protocol.identity import nickname_spelling

MAX_SELECTORS = 100
_CONTENT_ID = re.compile(r"^[a-z]{1,8}[0-9]{1,19}$")
DAY = 86_400.0


def normalise_address(text: str) -> str:
    """An IP address in its canonical text form; IPv4-mapped IPv6 becomes plain IPv4."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise ScopeError(f"{text!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def normalise_nickname(text: str) -> str:
    # The spelling, not the chat's look-alike key: a scope names the nickname the authority
    # wrote, not everyone who looked like it, and the blind indexes were written this way.
    key = nickname_spelling(text.strip())
    if not key:
        raise ScopeError(f"{text!r} is not a nickname")
    return key


def normalise_content_id(text: str) -> str:
    value = text.strip()
    if not _CONTENT_ID.match(value):
        raise ScopeError(f"{text!r} is not a content id (they look like m1234)")
    return value


@dataclass(frozen=True)
class Scope:
    """A validated scope; build it with :meth:`build`, never by hand."""

    nicknames: tuple[str, ...] = ()  # nickname keys (folded)
    addresses: tuple[str, ...] = ()
    content_ids: tuple[str, ...] = ()
    start: float | None = None
    end: float | None = None

    @classmethod
    def build(
        cls,
        *,
        nicknames: list[str] | tuple[str, ...] = (),
        addresses: list[str] | tuple[str, ...] = (),
        content_ids: list[str] | tuple[str, ...] = (),
        start: float | None = None,
        end: float | None = None,
        max_days: float = 366.0,
    ) -> Scope:
        scope = cls(
            nicknames=tuple(sorted({normalise_nickname(n) for n in nicknames})),
            addresses=tuple(sorted({normalise_address(a) for a in addresses})),
            content_ids=tuple(sorted({normalise_content_id(c) for c in content_ids})),
            start=start,
            end=end,
        )
        scope._check(max_days)
        return scope

    def _check(self, max_days: float) -> None:
        selectors = len(self.nicknames) + len(self.addresses) + len(self.content_ids)
        if selectors == 0 and self.start is None and self.end is None:
            raise ScopeError(
                "the scope is empty: name at least one nickname, address or content id"
            )
        if selectors == 0:
            raise ScopeError(
                "the scope is unbounded: a time range alone would reach everyone; "
                "name at least one nickname, address or content id"
            )
        if selectors > MAX_SELECTORS:
            raise ScopeError(f"the scope names {selectors} selectors; at most {MAX_SELECTORS}")
        people = bool(self.nicknames or self.addresses)
        if people and (self.start is None or self.end is None):
            raise ScopeError(
                "the scope is unbounded: a nickname or an address needs a time range "
                "(both a start and an end)"
            )
        if (self.start is None) != (self.end is None):
            raise ScopeError("a time range needs both a start and an end")
        if self.start is not None and self.end is not None:
            if self.end <= self.start:
                raise ScopeError("the time range ends before it starts")
            if self.end - self.start > max_days * DAY:
                raise ScopeError(
                    f"the scope is unbounded: its time range spans "
                    f"{(self.end - self.start) / DAY:.0f} days, more than {max_days:.0f}"
                )

    def covers(self, *, nickname: str, address: str, content_id: str, at: float) -> bool:
        """Whether one decrypted record falls within the scope (the authoritative check)."""
        if self.start is not None and self.end is not None and not self.start <= at < self.end:
            return False
        return (
            (bool(nickname) and nickname_spelling(nickname) in self.nicknames)
            or (bool(address) and address in self.addresses)
            or (bool(content_id) and content_id in self.content_ids)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "nicknames": list(self.nicknames),
            "addresses": list(self.addresses),
            "content_ids": list(self.content_ids),
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scope:
        return cls(
            nicknames=tuple(data.get("nicknames", ())),
            addresses=tuple(data.get("addresses", ())),
            content_ids=tuple(data.get("content_ids", ())),
            start=data.get("start"),
            end=data.get("end"),
        )
