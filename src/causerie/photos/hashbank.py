"""The hash lists in memory: exact MD5/SHA-256 sets and a PDQ index searched by distance.

Thresholds are Meta's Hasher-Matcher-Actioner's: a PDQ match is a distance of at most 31 bits
out of 256, and only a query of quality 50 or more is matched on PDQ (a flat or tiny image has
a meaningless hash). The distance goes with every match, for the log and the report.

The PDQ index is a multi-index (Norouzi et al., "Fast search in Hamming space with multi-index
hashing"; the same scheme as the reference ``mih`` in ThreatExchange): the 256 bits are cut into
16 words of 16 bits, and a hash within distance 31 of the query differs by at most one bit in
at least one word (16 words x 2 bits would be 32). A lookup therefore reads 16 x 17 buckets
(each word and its 16 one-bit neighbours) and checks only the hashes found there, about 4,000
out of a million random ones, instead of all of them. Below ``SCAN_BELOW`` hashes a plain
vectorised scan is faster and is used instead. docs/photos.md has the measured figures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar, cast

import numpy as np
import numpy.typing as npt

from causerie.photos.hashing import PhotoHashes, pdq_to_bytes

PDQ_MATCH_DISTANCE: Final = 31
PDQ_MIN_QUALITY: Final = 50
SCAN_BELOW: Final = 2_048

_WORDS: Final = 16
_FLIPS: Final = np.concatenate(
    [np.zeros(1, dtype=np.uint16), (1 << np.arange(16, dtype=np.uint32)).astype(np.uint16)]
)
_POPCOUNT8: Final = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


_Key = TypeVar("_Key")


class HashKind(StrEnum):
    PDQ = "pdq"
    MD5 = "md5"
    SHA256 = "sha256"


HEX_LENGTHS: Final = {HashKind.PDQ: 64, HashKind.MD5: 32, HashKind.SHA256: 64}


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One hash of one list. ``value`` is lower-case hex."""

    list_name: str
    kind: HashKind
    value: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A hit: which list, which of its hashes, and how far (0 for MD5 and SHA-256)."""

    list_name: str
    kind: HashKind
    value: str
    distance: int
    source: str
    # The query's PDQ quality (kept with the match for the report).
    quality: int


def _popcount_rows(xor: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Set bits per row of an ``(n, 4)`` uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy 2: one instruction per word
        counts = cast(npt.NDArray[np.uint8], np.bitwise_count(xor))
        # Adding the four columns beats .sum(axis=1) fourfold on short rows.
        total = counts[:, 0].astype(np.int64)
        total += counts[:, 1]
        total += counts[:, 2]
        total += counts[:, 3]
        return total
    as_bytes = xor.view(np.uint8).reshape(xor.shape[0], -1)
    return cast(npt.NDArray[np.int64], _POPCOUNT8[as_bytes].sum(axis=1, dtype=np.int64))


class PdqIndex:
    """An immutable index of PDQ hashes (an ``(n, 32)`` uint8 array, one row per hash)."""

    def __init__(self, hashes: npt.NDArray[np.uint8], *, scan_below: int = SCAN_BELOW) -> None:
        if hashes.ndim != 2 or hashes.shape[1] != 32 or hashes.dtype != np.uint8:
            raise ValueError("PDQ hashes are an (n, 32) uint8 array")
        self._bytes = np.ascontiguousarray(hashes)
        self._words64 = self._bytes.view(np.uint64)
        self._count = int(hashes.shape[0])
        self._multi_index = self._count >= scan_below
        self._offsets: npt.NDArray[np.int64] | None = None
        self._rows: npt.NDArray[np.int32] | None = None
        if self._multi_index:
            self._build()

    def _build(self) -> None:
        words = self._bytes.view(">u2").astype(np.uint16)  # (n, 16), word 0 = the first digits
        offsets = np.zeros((_WORDS, 65537), dtype=np.int64)
        rows = np.empty((_WORDS, self._count), dtype=np.int32)
        for word in range(_WORDS):
            column = words[:, word]
            rows[word] = np.argsort(column, kind="stable").astype(np.int32)
            np.cumsum(np.bincount(column, minlength=65536), out=offsets[word, 1:])
        self._offsets, self._rows = offsets, rows

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays."""
        extra = 0
        if self._offsets is not None and self._rows is not None:
            extra = self._offsets.nbytes + self._rows.nbytes
        return int(self._bytes.nbytes) + extra

    def nearest(self, query: bytes, max_distance: int) -> tuple[int, int] | None:
        """``(row, distance)`` of the closest hash within ``max_distance``, or ``None``."""
        if self._count == 0:
            return None
        rows = self._candidates(query, max_distance)
        if rows.size == 0:
            return None
        q64 = np.frombuffer(query, dtype=np.uint64)
        distances = _popcount_rows(np.take(self._words64, rows, axis=0) ^ q64)
        best = int(np.argmin(distances))
        if int(distances[best]) > max_distance:
            return None
        return int(rows[best]), int(distances[best])

    def _candidates(self, query: bytes, max_distance: int) -> npt.NDArray[np.intp]:
        # The pigeonhole bound holds up to 16 x 2 - 1 = 31 bits; past that, scan everything.
        if not self._multi_index or max_distance >= 2 * _WORDS:
            return np.arange(self._count)
        assert self._offsets is not None and self._rows is not None
        q_words = np.frombuffer(query, dtype=">u2").astype(np.uint16)
        probes = (q_words[:, None] ^ _FLIPS[None, :]).astype(np.int64)  # (16, 17)
        word_of = np.arange(_WORDS)[:, None]
        starts = self._offsets[word_of, probes].ravel()
        lengths = self._offsets[word_of, probes + 1].ravel() - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.intp)
        # Every bucket is a range of one word's sorted row list; gather them all at once.
        flat_starts = starts + np.repeat(np.arange(_WORDS) * self._count, 17)
        ends = np.cumsum(lengths)
        positions = np.repeat(flat_starts - (ends - lengths), lengths) + np.arange(total)
        return np.take(self._rows.ravel(), positions).astype(np.intp)


class HashBank:
    """Every imported list, ready to match. Safe to read from several threads.

    Mutations rebuild the PDQ index lazily, on the next match; readers always see either the
    old or the new index, whole.
    """

    def __init__(self, entries: Iterable[BankEntry] = (), *, scan_below: int = SCAN_BELOW) -> None:
        self._lock = threading.Lock()
        self._scan_below = scan_below
        self._exact: dict[tuple[HashKind, str], list[BankEntry]] = {}
        self._pdq: dict[str, list[BankEntry]] = {}
        self._index: tuple[PdqIndex, list[str]] | None = None
        self.add(entries)

    @classmethod
    def from_pdq_array(
        cls, hashes: npt.NDArray[np.uint8], list_name: str, *, scan_below: int = SCAN_BELOW
    ) -> HashBank:
        """A bank of one list straight from raw hashes (the bench's million)."""
        bank = cls(scan_below=scan_below)
        # A repeated row is harmless: both rows name the same value, hence the same entries.
        values = [row.tobytes().hex() for row in hashes]
        bank._pdq = {value: [BankEntry(list_name, HashKind.PDQ, value)] for value in values}
        bank._index = (PdqIndex(hashes, scan_below=scan_below), values)
        return bank

    def add(self, entries: Iterable[BankEntry]) -> None:
        with self._lock:
            for entry in entries:
                _validate(entry)
                if entry.kind is HashKind.PDQ:
                    bucket = self._pdq.setdefault(entry.value, [])
                    self._index = None
                else:
                    bucket = self._exact.setdefault((entry.kind, entry.value), [])
                if entry not in bucket:
                    bucket.append(entry)

    def remove(self, list_name: str, kind: HashKind, value: str) -> bool:
        """Forget one hash of one list; ``False`` if it was not there."""
        with self._lock:
            if kind is HashKind.PDQ:
                removed = _drop(self._pdq, value, list_name)
                if removed:
                    self._index = None
                return removed
            return _drop(self._exact, (kind, value), list_name)

    def replace(self, entries: Iterable[BankEntry]) -> None:
        """Swap in a fresh set of entries (after an import by another process)."""
        fresh = HashBank(entries, scan_below=self._scan_below)
        with self._lock:
            self._exact, self._pdq, self._index = fresh._exact, fresh._pdq, fresh._index

    def __len__(self) -> int:
        return sum(map(len, self._pdq.values())) + sum(map(len, self._exact.values()))

    @property
    def nbytes(self) -> int:
        """Memory held by the PDQ index's arrays (the dictionaries are not counted)."""
        return self._pdq_index()[0].nbytes

    def match_hashes(self, hashes: PhotoHashes) -> Match | None:
        return self.match(hashes.pdq, hashes.quality, hashes.md5, hashes.sha256)

    def match(
        self,
        pdq: str | None,
        quality: int,
        md5: str | None = None,
        sha256: str | None = None,
    ) -> Match | None:
        """The best hit for one photo: an exact SHA-256 or MD5 first, then the nearest PDQ."""
        for kind, value in ((HashKind.SHA256, sha256), (HashKind.MD5, md5)):
            if value is None:
                continue
            entries = self._exact.get((kind, value.lower()))
            if entries:
                first = entries[0]
                return Match(first.list_name, kind, first.value, 0, first.source, quality)
        if pdq is None or quality < PDQ_MIN_QUALITY:
            return None
        index, values = self._pdq_index()
        hit = index.nearest(pdq_to_bytes(pdq.lower()), PDQ_MATCH_DISTANCE)
        if hit is None:
            return None
        row, distance = hit
        entries = self._pdq.get(values[row])
        if not entries:  # removed since the index was built
            return None
        first = entries[0]
        return Match(first.list_name, HashKind.PDQ, first.value, distance, first.source, quality)

    def _pdq_index(self) -> tuple[PdqIndex, list[str]]:
        current = self._index
        if current is not None:
            return current
        with self._lock:
            if self._index is None:
                values = sorted(self._pdq)
                array = np.frombuffer(b"".join(bytes.fromhex(v) for v in values), dtype=np.uint8)
                self._index = (
                    PdqIndex(array.reshape(len(values), 32), scan_below=self._scan_below),
                    values,
                )
            return self._index


def _drop(table: dict[_Key, list[BankEntry]], key: _Key, list_name: str) -> bool:
    bucket = table.get(key, [])
    kept = [entry for entry in bucket if entry.list_name != list_name]
    if len(kept) == len(bucket):
        return False
    if kept:
        table[key] = kept
    else:
        del table[key]
    return True


def _validate(entry: BankEntry) -> None:
    expected = HEX_LENGTHS[entry.kind]
    value = entry.value
    if len(value) != expected or value != value.lower():
        raise ValueError(f"{entry.kind} hash must be {expected} lower-case hex digits: {value!r}")
    bytes.fromhex(value)
