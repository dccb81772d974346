"""Values that never repeat, drawn on the message path without a system call each.

``os.urandom`` (and ``secrets``, which reads it) releases the GIL for its system call; on a
server whose writer threads also run Python, taking the GIL back costs the event loop about
170 µs a call on this project's machine (a micro-benchmark with one busy thread: 0.6 µs a call
alone), and every message drew twice: its retention record's nonce and its decision's id.
What those values need is uniqueness, not secrecy, so :class:`UniqueValues` draws a random
prefix once per process and counts after it: NIST SP 800-38D's deterministic construction for
AES-GCM nonces (a fixed field, then an invocation counter). The prefix is drawn again in a
forked child, whose counter would otherwise repeat its parent's, and when the counter is spent.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref


class UniqueValues:
    """``prefix_bytes`` random bytes drawn once, then a ``counter_bytes`` big-endian counter
    from a random start.

    Two values of one instance never repeat; of two processes, or two instances, they
    repeat only if both drew the same prefix (one chance in ``2 ** (8 * prefix_bytes)`` a pair).
    Safe to call from several threads: ``next`` on a counter runs under the GIL in one step, and
    a value's prefix and counter come from one state.
    """

    def __init__(self, prefix_bytes: int, counter_bytes: int) -> None:
        self.prefix_bytes = prefix_bytes
        self.counter_bytes = counter_bytes
        self._limit = 1 << (8 * counter_bytes)
        self._lock = threading.Lock()
        self._state = self._fresh()
        _LIVE.add(self)

    def _fresh(self) -> tuple[bytes, itertools.count[int]]:
        # The count starts at a random point of its lower half: two processes that drew the same
        # prefix still do not count through the same values at the same time.
        start = int.from_bytes(os.urandom(self.counter_bytes), "big") >> 1
        return os.urandom(self.prefix_bytes), itertools.count(start)

    def renew(self) -> None:
        """A new prefix and a new count (after a fork, or when the counter is spent)."""
        with self._lock:
            self._state = self._fresh()

    def next(self) -> bytes:
        state = self._state
        prefix, counter = state
        n = next(counter)
        if n >= self._limit:
            with self._lock:
                if self._state is state:
                    self._state = self._fresh()
            return self.next()
        return prefix + n.to_bytes(self.counter_bytes, "big")


_LIVE: weakref.WeakSet[UniqueValues] = weakref.WeakSet()


def _renew_all() -> None:
    for values in list(_LIVE):
        # The parent's lock may have been held by a thread that does not exist in the child.
        values._lock = threading.Lock()
        values.renew()


os.register_at_fork(after_in_child=_renew_all)
