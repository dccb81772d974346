"""Bounds the gateway keeps across connections: per-address caps, list budgets, quiet logs.

Everything here is plain code with an injected clock, tested without sockets. One
:class:`Guard` per application holds what one address may use at once (connections) and over
time (list frames), and logs each kind of refusal at most a few times per interval, so that an
attacker who triggers a refusal in a loop cannot flood the log either.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from causerie.protocol.ratelimit import TokenBucket
from causerie.settings import LimitSettings

log = logging.getLogger("causerie.gateway")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class RateLimitedLog:
    """At most ``burst`` lines per ``interval`` seconds for each key; the rest are counted.

    The first line after a quiet spell says how many were left out, so nothing is hidden.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = 5,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._windows: dict[str, tuple[float, int, int]] = {}  # key: (start, logged, dropped)

    def warning(self, key: str, message: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, message, *args)

    def log(self, level: int, key: str, message: str, *args: object) -> bool:
        """Log unless ``key`` has used its lines for this interval; True when logged."""
        now = self.clock()
        start, logged, dropped = self._windows.get(key, (now, 0, 0))
        if now - start >= self.interval:
            start, logged = now, 0
        if logged >= self.burst:
            self._windows[key] = (start, logged, dropped + 1)
            return False
        if dropped:
            message += " (%d similar lines left out)"
            args = (*args, dropped)
        self._windows[key] = (start, logged + 1, 0)
        self.logger.log(level, message, *args)
        return True


class _Utf8Filter(logging.Filter):
    """Turns uvicorn's traceback for an invalid UTF-8 text frame into one rate-limited line.

    The peer is closed with 1007 either way; a traceback at ERROR per frame is log flooding.
    """

    def __init__(self, quiet: RateLimitedLog) -> None:
        super().__init__()
        self.quiet = quiet

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Invalid UTF-8 sequence received from client"):
            self.quiet.warning(
                "invalid_utf8", "invalid UTF-8 in a text frame: connection closed (1007)"
            )
            return False
        return True


def quiet_invalid_utf8(quiet: RateLimitedLog) -> None:
    """Install the filter on uvicorn's error logger once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _Utf8Filter) for f in logger.filters):
        logger.addFilter(_Utf8Filter(quiet))


def is_local(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _origin_key(scheme: str, host: str, port: int | None) -> str:
    scheme = scheme.lower()
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host.lower()}:{port}"


class OriginPolicy:
    """Which pages may open the chat WebSocket.

    A browser always sends ``Origin`` on a WebSocket handshake, so a page of another site cannot
    connect as a visitor's browser unless the operator lists it. Clients that send no Origin are
    not browsers, and could forge any Origin anyway: they are let in.
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        self.any = False
        self.allowed: set[str] = set()
        for entry in allowed:
            entry = entry.strip().rstrip("/")
            if entry == "*":
                self.any = True
            elif entry:
                parts = urlsplit(entry)
                if not parts.scheme or not parts.hostname:
                    raise ValueError(f"server.allowed_origins: not an origin: {entry!r}")
                self.allowed.add(_origin_key(parts.scheme, parts.hostname, parts.port))

    def allows(self, headers: Mapping[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is None or self.any:
            return True
        try:
            parts = urlsplit(origin.strip())
            port = parts.port
        except ValueError:
            return False
        if not parts.scheme or not parts.hostname:
            return False  # "null" (sandboxed frames, file:) and garbage
        key = _origin_key(parts.scheme, parts.hostname, port)
        if key in self.allowed:
            return True
        # The site's own pages: the Origin names the host the request was sent to.
        host = headers.get("host", "")
        try:
            own = urlsplit(f"//{host}")
            own_port = own.port
        except ValueError:
            return False
        if own.hostname is None:
            return False
        return own.hostname == parts.hostname and (
            own_port or _DEFAULT_PORTS.get(parts.scheme, 0)
        ) == (port or _DEFAULT_PORTS.get(parts.scheme, 0))


class Guard:
    """Per-address bounds shared by every connection of one application."""

    # Addresses whose list budget is remembered; the oldest are forgotten past this (a
    # forgotten one starts again with a full budget, which only errs on the side of the user).
    MAX_ADDRESSES = 100_000

    def __init__(self, limits: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.connections: dict[str, int] = {}
        self._list_budgets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.quiet = RateLimitedLog(log, clock=clock)
        self.refusals: dict[str, int] = {}

    def admit(self, ip: str) -> bool:
        """Count a new connection from ``ip``; False (and nothing counted) past the cap."""
        count = self.connections.get(ip, 0)
        if count >= self.limits.max_connections_per_address:
            return False
        self.connections[ip] = count + 1
        return True

    def release(self, ip: str) -> None:
        count = self.connections.get(ip, 0) - 1
        if count > 0:
            self.connections[ip] = count
        else:
            self.connections.pop(ip, None)

    def list_budget(self, ip: str) -> TokenBucket:
        """The list-frame budget of one address, shared by all its connections."""
        bucket = self._list_budgets.get(ip)
        if bucket is None:
            bucket = TokenBucket(
                self.limits.address_lists_per_second, self.limits.address_lists_burst, self.clock
            )
            self._list_budgets[ip] = bucket
            if len(self._list_budgets) > self.MAX_ADDRESSES:
                self._list_budgets.popitem(last=False)
        else:
            self._list_budgets.move_to_end(ip)
        return bucket

    def refused(self, code: str, message: str, *args: object) -> None:
        """Count a refusal by code and log it, a few lines per code and minute at most."""
        self.refusals[code] = self.refusals.get(code, 0) + 1
        self.quiet.warning(code, "refused (%s): " + message, code, *args)
