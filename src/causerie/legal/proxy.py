"""Who is really at the other end of a connection when a reverse proxy stands in between.

Forwarding headers are only words a client can write. They are believed when, and only when,
the machine that connected to us is one of the proxies the operator configured, and only the one
header the operator named (``legal.proxy_header``): a proxy passes on every header it does not
set itself, so a ``Forwarded`` written by the client would reach us through an nginx that only
sets ``X-Forwarded-For``. The chain is read from the nearest hop backwards, skipping further
trusted proxies, and the first address that is not one of them is the client. ``Forwarded``
(RFC 7239) can carry the client's source port (``for="203.0.113.7:51234"``), which the law
requires; with ``X-Forwarded-For`` or ``X-Real-IP`` the port comes from the header the operator
names (``X-Real-Port`` by default, nginx: ``proxy_set_header X-Real-Port $remote_port;``) or
stays 0.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientAddress:
    ip: str
    port: int
    # The scheme the client used, as the outermost trusted proxy saw it (``https``/``wss``).
    scheme: str = ""
    via_proxy: bool = False


HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


class TrustedProxies:
    def __init__(self, networks: Iterable[str], header: str = "x-forwarded-for") -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n.strip(), strict=False) for n in networks if n.strip()
        )
        header = header.strip().lower()
        if header not in HEADERS:
            raise ValueError(f"legal.proxy_header must be one of {', '.join(HEADERS)}")
        self.header = header

    def __contains__(self, ip: str) -> bool:
        address = _parse_ip(ip)
        if address is None:
            return False
        return any(address in network for network in self.networks)

    def resolve(
        self, direct_ip: str, direct_port: int, headers: Mapping[str, str], port_header: str
    ) -> ClientAddress:
        """The client's address and port, believing forwarding headers only from trusted hops."""
        if not self.networks or direct_ip not in self:
            return ClientAddress(_canonical(direct_ip), direct_port)
        if self.header == "forwarded":
            # Every Forwarded header line, in order: a client's own line comes first.
            lines = _all(headers, "forwarded")
            hops = _parse_forwarded(",".join(lines))
            scheme = hops[0][2] if hops else ""
            for ip, port, _proto in reversed(hops):
                if ip not in self:
                    return ClientAddress(_canonical(ip), port, scheme, via_proxy=True)
            return ClientAddress(_canonical(direct_ip), direct_port)
        if self.header == "x-real-ip":
            # One value, set by the nearest proxy; more than one line means someone added one.
            values = _all(headers, "x-real-ip")
            chain = [values[-1].strip()] if values else []
        else:
            chain = [h.strip() for h in ",".join(_all(headers, "x-forwarded-for")).split(",")]
            chain = [h for h in chain if h]
        scheme = headers.get("x-forwarded-proto", "").strip().lower()
        for position, hop in enumerate(reversed(chain)):
            ip, port = _split_host_port(hop)
            if ip in self:
                continue
            if position == 0 and not port:
                # The nearest proxy names the port it saw only for the hop it talked to.
                port = _port(headers.get(port_header.lower(), ""))
            return ClientAddress(_canonical(ip), port, scheme, via_proxy=True)
        return ClientAddress(_canonical(direct_ip), direct_port)


def _all(headers: Mapping[str, str], name: str) -> list[str]:
    """Every line of a header (Starlette's Headers keep repeats), or the one a mapping has."""
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(name)]
    value = headers.get(name)
    return [value] if value else []


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _canonical(ip: str) -> str:
    address = _parse_ip(ip)
    return str(address) if address is not None else ip[:64]


def _port(text: str) -> int:
    text = text.strip()
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    return 0


def _split_host_port(text: str) -> tuple[str, int]:
    text = text.strip().strip('"')
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, _port(rest.removeprefix(":"))
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port)
    return text, 0


def _parse_forwarded(value: str) -> list[tuple[str, int, str]]:
    """The ``for`` and ``proto`` of each element of an RFC 7239 header, nearest hop last."""
    hops: list[tuple[str, int, str]] = []
    for element in value.split(","):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            name, _, raw = pair.strip().partition("=")
            pairs[name.strip().lower()] = raw.strip().strip('"')
        if "for" in pairs:
            ip, port = _split_host_port(pairs["for"])
            hops.append((ip, port, pairs.get("proto", "").lower()))
    return hops
