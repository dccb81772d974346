"""Token buckets with an injected clock, so flood control is tested without waiting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: int
    clock: Callable[[], float]
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; return 0 on success or the seconds to wait before retrying."""
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if cost > self.burst:
            return float("inf")
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def give_back(self, cost: float = 1.0) -> None:
        """Return tokens taken for an action that a later check refused after all."""
        self.tokens = min(float(self.burst), self.tokens + cost)
