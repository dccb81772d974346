"""causerie.unique: values that never repeat, without a system call each."""

from __future__ import annotations

import os
import threading
import time

from causerie.legal.crypto import DataKey
from causerie.safety.pipeline import new_decision_id
from causerie.unique import UniqueValues


def test_values_have_the_asked_length_and_never_repeat() -> None:
    values = UniqueValues(prefix_bytes=8, counter_bytes=4)
    drawn = [values.next() for _ in range(50_000)]
    assert {len(v) for v in drawn} == {12}
    assert len(set(drawn)) == len(drawn)
    assert {v[:8] for v in drawn} == {drawn[0][:8]}


def test_a_spent_counter_draws_a_new_prefix() -> None:
    values = UniqueValues(prefix_bytes=8, counter_bytes=1)
    drawn = [values.next() for _ in range(600)]
    assert len(set(drawn)) == 600
    # Under one prefix the counter steps by one from a start in its lower half to its end:
    # 129 to 256 values a prefix.
    runs: dict[bytes, list[int]] = {}
    for value in drawn:
        runs.setdefault(value[:8], []).append(value[8])
    assert 3 <= len(runs) <= 5
    for counts in list(runs.values())[:-1]:
        assert counts == list(range(counts[0], 256))
        assert counts[0] < 128


def test_threads_drawing_at_once_never_share_a_value() -> None:
    values = UniqueValues(prefix_bytes=8, counter_bytes=1)
    per_thread: list[list[bytes]] = [[] for _ in range(8)]

    def draw(out: list[bytes]) -> None:
        for _ in range(2_000):
            out.append(values.next())

    threads = [threading.Thread(target=draw, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [v for out in per_thread for v in out]
    assert len(set(every)) == len(every) == 16_000


def test_a_forked_child_draws_another_prefix() -> None:
    values = UniqueValues(prefix_bytes=8, counter_bytes=4)
    parent = values.next()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next value, then out at once
        os.write(write, values.next())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 12
    assert child[:8] != parent[:8]
    # Without the new prefix the child would have drawn the parent's next value.
    assert child != values.next()


def test_sealed_rows_get_distinct_nonces_and_still_open() -> None:
    key = DataKey("k1", time.time(), os.urandom(32))
    sealed = [key.seal(b"same text", b"aad") for _ in range(1_000)]
    assert len({s[:12] for s in sealed}) == 1_000
    assert {key.open(s, b"aad") for s in sealed} == {b"same text"}


def test_decision_ids_keep_their_shape_and_never_repeat() -> None:
    now = time.time()
    ids = [new_decision_id(now) for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {24}
    assert all(i.startswith(f"{int(now * 1000):012x}") for i in ids)
