"""What the pipeline remembers about authors: strikes, mutes and bans, and recent conversation.

All of it is pure and takes the time as an argument, so that decay and expiry are tested with a
fake clock. The durable copy lives in :mod:`causerie.store.safety`; this is the working copy a
node consults on every message without a database round trip.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from causerie.safety.categories import Category
from causerie.safety.policy import ConversationPolicy


class StrikeBook:
    """Strike points per author, each halving every ``half_life`` seconds."""

    def __init__(self, half_life_seconds: float, max_authors: int = 100_000) -> None:
        self.half_life = half_life_seconds
        self.max_authors = max_authors
        self._strikes: OrderedDict[str, list[tuple[float, float]]] = OrderedDict()

    def add(self, author: str, points: float, at: float) -> None:
        entries = self._strikes.setdefault(author, [])
        entries.append((at, points))
        self._strikes.move_to_end(author)
        while len(self._strikes) > self.max_authors:
            self._strikes.popitem(last=False)

    def total(self, author: str, now: float) -> float:
        entries = self._strikes.get(author)
        if not entries:
            return 0.0
        total = 0.0
        kept: list[tuple[float, float]] = []
        for at, points in entries:
            value = points * math.pow(0.5, max(0.0, now - at) / self.half_life)
            if value >= 0.01:
                kept.append((at, points))
                total += value
        if kept:
            self._strikes[author] = kept
        else:
            del self._strikes[author]
        return total

    def replace(self, author: str, entries: list[tuple[float, float]]) -> None:
        """Take the durable history of an author who just entered (perhaps on another node)."""
        if entries:
            self._strikes[author] = sorted(entries)
        else:
            self._strikes.pop(author, None)


@dataclass
class Sanction:
    kind: str  # "mute" or "ban"
    until: float  # math.inf for ever
    reason: str = ""


class SanctionBook:
    """Active mutes and bans per author key."""

    def __init__(self) -> None:
        self._by_author: dict[str, dict[str, Sanction]] = {}

    def put(self, author: str, sanction: Sanction) -> None:
        current = self._by_author.setdefault(author, {}).get(sanction.kind)
        if current is None or current.until < sanction.until:
            self._by_author[author][sanction.kind] = sanction

    def active(self, author: str, kind: str, now: float) -> Sanction | None:
        sanctions = self._by_author.get(author)
        if not sanctions:
            return None
        sanction = sanctions.get(kind)
        if sanction is None:
            return None
        if sanction.until <= now:
            del sanctions[kind]
            if not sanctions:
                del self._by_author[author]
            return None
        return sanction

    def lift(self, author: str, kind: str) -> None:
        self._by_author.get(author, {}).pop(kind, None)

    def replace_all(self, sanctions: list[tuple[str, Sanction]]) -> None:
        fresh = SanctionBook()
        for author, sanction in sanctions:
            fresh.put(author, sanction)
        self._by_author = fresh._by_author


@dataclass
class _Said:
    at: float
    scores: dict[Category, float]


@dataclass
class _Thread:
    said: deque[_Said] = field(default_factory=deque)


@dataclass
class _Trail:
    texts: deque[tuple[float, str]] = field(default_factory=deque)
    flagged_at: float | None = None
    # Texts added over the trail's life, the expired ones included: which are read together.
    added: int = 0


class ConversationMemory:
    """Recent scores per (author, conversation) and recent texts per author.

    Grooming, solicitation and ambushes are built over several messages that each look mild:
    the risk of a conversation is the noisy-or of the author's recent scores in it, each faded
    by its age, so three medium signals in a row weigh more than one.
    """

    def __init__(self, policy: ConversationPolicy, max_threads: int = 50_000) -> None:
        self.policy = policy
        self.max_threads = max_threads
        self._threads: OrderedDict[tuple[str, str], _Thread] = OrderedDict()
        self._texts: OrderedDict[str, deque[tuple[float, bytes]]] = OrderedDict()
        self._trails: OrderedDict[tuple[str, str], _Trail] = OrderedDict()

    def risk(
        self, author: str, conversation: str, current: dict[Category, float], now: float
    ) -> dict[Category, float]:
        """The conversation's score per category, the current message included."""
        thread = self._threads.get((author, conversation))
        result: dict[Category, float] = {}
        half_life = self.policy.half_life_minutes * 60
        for category in self.policy.categories:
            keep = 1.0 - current.get(category, 0.0)
            if thread is not None:
                for said in thread.said:
                    past = said.scores.get(category, 0.0)
                    if past:
                        fade = math.pow(0.5, max(0.0, now - said.at) / half_life)
                        keep *= 1.0 - past * fade * self.policy.weight
            if keep < 1.0:
                result[category] = 1.0 - keep
        return result

    def remember(
        self, author: str, conversation: str, scores: dict[Category, float], now: float
    ) -> None:
        kept = {
            c: s
            for c, s in scores.items()
            if c in self.policy.categories and s >= self.policy.min_signal
        }
        if not kept:
            return
        key = (author, conversation)
        thread = self._threads.get(key)
        if thread is None:
            thread = self._threads[key] = _Thread()
        self._threads.move_to_end(key)
        thread.said.append(_Said(now, kept))
        while len(thread.said) > self.policy.max_messages:
            thread.said.popleft()
        while len(self._threads) > self.max_threads:
            self._threads.popitem(last=False)

    def carries_signal(
        self, author: str, conversation: str, categories: frozenset[Category], now: float
    ) -> bool:
        """Whether one of the author's texts in the conversation within the reading's horizon
        (two half-lives) scored at least ``min_signal`` in one of ``categories``."""
        thread = self._threads.get((author, conversation))
        if thread is None:
            return False
        horizon = now - 2 * self.policy.half_life_minutes * 60
        return any(
            said.at >= horizon and not categories.isdisjoint(said.scores) for said in thread.said
        )

    def trail(self, author: str, conversation: str, text: str, now: float) -> list[str]:
        """The author's recent texts in the conversation, this one last (at most
        ``semantic_window``, none older than two half-lives)."""
        key = (author, conversation)
        trail = self._trails.get(key)
        if trail is None:
            trail = self._trails[key] = _Trail()
        self._trails.move_to_end(key)
        horizon = now - 2 * self.policy.half_life_minutes * 60
        texts = trail.texts
        while texts and texts[0][0] < horizon:
            texts.popleft()
        texts.append((now, text[:500]))
        trail.added += 1
        while len(texts) > self.policy.semantic_window:
            texts.popleft()
        while len(self._trails) > self.max_threads:
            self._trails.popitem(last=False)
        return [t for _, t in texts]

    def reading_due(self, author: str, conversation: str, now: float) -> bool:
        """Whether the trail is read together after its latest text: from the
        ``semantic_from``-th text, every ``semantic_every``-th, and not while the conversation is
        with a moderator (flagged within a half-life)."""
        trail = self._trails.get((author, conversation))
        if trail is None or trail.added < self.policy.semantic_from:
            return False
        half_life = self.policy.half_life_minutes * 60
        if trail.flagged_at is not None and now - trail.flagged_at < half_life:
            return False
        return (trail.added - self.policy.semantic_from) % self.policy.semantic_every == 0

    def flag(self, author: str, conversation: str, now: float) -> bool:
        """Mark the conversation as sent to a moderator; False if it already was within a
        half-life (one review per set-up, not one per message)."""
        trail = self._trails.get((author, conversation))
        if trail is None:
            return False
        half_life = self.policy.half_life_minutes * 60
        if trail.flagged_at is not None and now - trail.flagged_at < half_life:
            return False
        trail.flagged_at = now
        return True

    def repeats(self, author: str, normalised: str, now: float) -> int:
        """How many times the author sent this same text recently, this one included."""
        digest = hashlib.blake2b(normalised.encode("utf-8", "replace"), digest_size=8).digest()
        texts = self._texts.get(author)
        if texts is None:
            texts = self._texts[author] = deque()
        self._texts.move_to_end(author)
        window = self.policy.repeat_window_seconds
        while texts and texts[0][0] < now - window:
            texts.popleft()
        texts.append((now, digest))
        while len(texts) > 50:
            texts.popleft()
        while len(self._texts) > self.max_threads:
            self._texts.popitem(last=False)
        return sum(1 for _, seen in texts if seen == digest)
