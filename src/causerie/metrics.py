"""Every Prometheus metric of a node, in one place (served at ``/metrics``, docs/operations.md).

The other modules import the objects below and count; none creates its own. Labels are closed
sets (kinds, actions, categories, error codes), never nicknames, rooms or addresses, so that the
number of series stays bounded whatever chatters do.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

_P = ParamSpec("_P")
_T = TypeVar("_T")

# Latencies of the message path are milliseconds; the last buckets catch a stalled disk or model.
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BUS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

connections = Gauge("causerie_connections", "WebSocket connections open on this node")
sessions = Gauge("causerie_sessions", "Chatters entered on this node")
connection_refusals = Counter(
    "causerie_connection_refusals", "Connections refused at the gateway, by code", ["code"]
)
refusals = Counter(
    "causerie_refusals",
    "Requests answered with an error frame, by error code (causerie.errors.ErrorCode)",
    ["code"],
)
messages = Counter(
    "causerie_messages",
    "Messages delivered by this node's senders, by kind (room_message, private_message, photo)",
    ["kind"],
)
deliveries = Counter(
    "causerie_deliveries",
    "Frames pushed to this node's connections from the bus, by target (room or session)",
    ["target"],
)
decisions = Counter(
    "causerie_decisions",
    "Moderation verdicts, by action and category (category 'none' when nothing matched)",
    ["action", "category"],
)
screening_seconds = Histogram(
    "causerie_screening_seconds",
    "Time of one Moderation.check (the whole chain), by content kind",
    ["kind"],
    buckets=_FAST_BUCKETS,
)
commit_seconds = Histogram(
    "causerie_commit_seconds",
    "Time of one group commit of the message writer (one batch of rows)",
    buckets=_FAST_BUCKETS,
)
review_queue_depth = Gauge(
    "causerie_review_queue_depth", "Review jobs waiting for a moderator, by queue", ["queue"]
)
bus_lag_seconds = Histogram(
    "causerie_bus_lag_seconds",
    "From a node's ping on the bus to its arrival here (clocks of different hosts included)",
    buckets=_BUS_BUCKETS,
)


def timed(
    histogram: Histogram,
) -> Callable[[Callable[_P, Awaitable[_T]]], Callable[_P, Awaitable[_T]]]:
    """Observe how long each call of a coroutine function takes (prometheus_client's own
    ``Histogram.time()`` decorator times only the creation of the coroutine)."""

    def decorate(function: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
        @functools.wraps(function)
        async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)

        return wrapper

    return decorate
