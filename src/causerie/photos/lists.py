"""Reading the hash-list files operators import (``causerie hashes import FILE``).

Accepted, detected per file (docs/photos.md has examples):

- **Plain text**, one hash per line; ``#`` starts a comment (whole line or after the hash).
  A line may name its kind, ``pdq:<hex>``, ``md5:<hex>``, ``sha256:<hex>``, or
  ``pdq <hex>`` (python-threatexchange's "signal type, signal" lines). Otherwise ``--kind``
  names it; without either, 32 hex digits are MD5 and 64 are refused as ambiguous (PDQ and
  SHA-256 have the same length).
- **CSV or TSV with a header row** (comma or tab, detected): HMA's and python-threatexchange's
  exports (``signal_type`` + ``signal_value``/``signal_str`` columns), ThreatExchange's
  (``indicator_type`` such as ``HASH_PDQ`` + ``indicator``; or ``pdq_hash``/``hash`` with a
  ``quality`` column), and any file with a ``pdq``, ``md5`` or ``sha256`` column. Other
  columns are ignored. Rows of other signal types (URLs, video TMK) are skipped and counted.
- **CSV without a header**: the hash is the first field; ``hash,quality[,name]`` as printed by
  the reference ``pdq-photo-hasher`` is read as PDQ.

Every line is checked before anything is written; any bad line rejects the whole file, with
its line number.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from causerie.photos.hashbank import HEX_LENGTHS, BankEntry, HashKind

_HEX: Final = re.compile(r"^[0-9a-fA-F]+$")

# Signal-type names as the exchanges write them.
_TYPE_NAMES: Final = {
    "pdq": HashKind.PDQ,
    "photo_pdq": HashKind.PDQ,
    "hash_pdq": HashKind.PDQ,
    "pdq_hash": HashKind.PDQ,
    "md5": HashKind.MD5,
    "photo_md5": HashKind.MD5,
    "hash_md5": HashKind.MD5,
    "md5_hash": HashKind.MD5,
    "sha256": HashKind.SHA256,
    "sha-256": HashKind.SHA256,
    "hash_sha256": HashKind.SHA256,
    "sha256_hash": HashKind.SHA256,
    "photo_sha256": HashKind.SHA256,
}
_VALUE_COLUMNS: Final = (
    "signal_value",
    "signal_str",
    "signal",
    "indicator",
    "hash_value",
    "hash",
    "value",
)
_TYPE_COLUMNS: Final = ("signal_type", "indicator_type", "hash_type", "type", "kind")
# A column named after the kind: its values are of that kind.
_KIND_COLUMNS: Final = {
    "pdq": HashKind.PDQ,
    "pdq_hash": HashKind.PDQ,
    "md5": HashKind.MD5,
    "md5_hash": HashKind.MD5,
    "sha256": HashKind.SHA256,
    "sha256_hash": HashKind.SHA256,
}


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class HashFileError(ValueError):
    """The file has bad lines; nothing of it may be imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} bad line(s); first: {errors[0]}")
        self.errors = errors


@dataclass(slots=True)
class ParsedList:
    entries: list[BankEntry] = field(default_factory=list)
    # Rows of signal types causerie does not match (``url``, ``video_tmk_pdqf``), by type.
    skipped: Counter[str] = field(default_factory=Counter)
    format: str = "text"


def parse_hash_list(
    text: str,
    *,
    list_name: str,
    kind: HashKind | None = None,
    source: str = "",
) -> ParsedList:
    """Every hash of ``text``, or ``HashFileError`` listing each bad line."""
    if not list_name or len(list_name) > 80:
        raise ValueError("a list name has 1 to 80 characters")
    lines = text.removeprefix("\ufeff").splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    if "\t" in first or "," in first:
        parsed = _parse_delimited(lines, "\t" if "\t" in first else ",", list_name, kind, source)
    else:
        parsed = _parse_text(lines, list_name, kind, source)
    return parsed


def _parse_text(lines: list[str], list_name: str, kind: HashKind | None, source: str) -> ParsedList:
    parsed = ParsedList(format="text")
    errors: list[LineError] = []
    seen: set[tuple[HashKind, str]] = set()
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        named: str | None = None
        value = line
        if ":" in line:
            named, _, value = line.partition(":")
        elif len(line.split()) == 2:
            named, value = line.split()
        try:
            line_kind = _kind_of(named, kind, value.strip())
        except _Skip as skip:
            parsed.skipped[skip.type_name] += 1
            continue
        except ValueError as exc:
            errors.append(LineError(number, str(exc)))
            continue
        _add(parsed, seen, list_name, line_kind, value.strip(), f"{source}:{number}")
    if errors:
        raise HashFileError(errors)
    return parsed


def _parse_delimited(
    lines: list[str], delimiter: str, list_name: str, kind: HashKind | None, source: str
) -> ParsedList:
    numbered = [
        (number, line)
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # One line, one row: a quoted field may not run over several lines and shift the numbers.
    rows = [next(csv.reader([line], delimiter=delimiter)) for _, line in numbered]
    parsed = ParsedList(format="tsv" if delimiter == "\t" else "csv")
    if not rows:
        return parsed
    header = [cell.strip().lower() for cell in rows[0]]
    has_header = not any(_looks_like_hash(cell) for cell in header)
    errors: list[LineError] = []
    seen: set[tuple[HashKind, str]] = set()
    if has_header:
        value_at, type_at, column_kind = _columns(header)
        if value_at is None:
            raise HashFileError(
                [LineError(numbered[0][0], f"no hash column in the header: {', '.join(header)}")]
            )
        body = list(zip(numbered[1:], rows[1:], strict=True))
    else:
        value_at, type_at, column_kind = 0, None, None
        body = list(zip(numbered, rows, strict=True))
    for (number, _), row in body:
        if len(row) <= value_at:
            errors.append(LineError(number, f"no field {value_at + 1}"))
            continue
        value = row[value_at].strip()
        named = row[type_at].strip() if type_at is not None and type_at < len(row) else None
        default = column_kind or kind
        if not has_header and default is None and _pdq_hasher_row(row):
            default = HashKind.PDQ
        try:
            row_kind = _kind_of(named, default, value)
        except _Skip as skip:
            parsed.skipped[skip.type_name] += 1
            continue
        except ValueError as exc:
            errors.append(LineError(number, str(exc)))
            continue
        _add(parsed, seen, list_name, row_kind, value, f"{source}:{number}")
    if errors:
        raise HashFileError(errors)
    return parsed


def _columns(header: list[str]) -> tuple[int | None, int | None, HashKind | None]:
    type_at = next((header.index(name) for name in _TYPE_COLUMNS if name in header), None)
    for name, kind in _KIND_COLUMNS.items():
        if name in header:
            return header.index(name), type_at, kind
    value_at = next((header.index(name) for name in _VALUE_COLUMNS if name in header), None)
    return value_at, type_at, None


def _pdq_hasher_row(row: list[str]) -> bool:
    """``hash,quality[,name]``: 64 hex digits then an integer from 0 to 100."""
    if len(row) < 2 or len(row[0].strip()) != 64:
        return False
    quality = row[1].strip()
    return quality.isdigit() and 0 <= int(quality) <= 100


def _looks_like_hash(cell: str) -> bool:
    value = cell.partition(":")[2] if ":" in cell else cell
    return len(value) in (32, 64) and bool(_HEX.match(value))


class _Skip(Exception):
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def _kind_of(named: str | None, default: HashKind | None, value: str) -> HashKind:
    if named is not None and named.strip():
        name = named.strip().lower()
        found = _TYPE_NAMES.get(name)
        if found is None:
            raise _Skip(name)
        kind = found
    elif default is not None:
        kind = default
    elif len(value) == HEX_LENGTHS[HashKind.MD5]:
        kind = HashKind.MD5
    elif len(value) == 64:
        raise ValueError(
            "64 hex digits could be PDQ or SHA-256: give --kind or a pdq:/sha256: prefix"
        )
    else:
        raise ValueError(f"not a hash: {value[:80]!r}")
    if not _HEX.match(value):
        raise ValueError(f"not hexadecimal: {value[:80]!r}")
    if len(value) != HEX_LENGTHS[kind]:
        raise ValueError(f"a {kind} hash has {HEX_LENGTHS[kind]} hex digits, not {len(value)}")
    return kind


def _add(
    parsed: ParsedList,
    seen: set[tuple[HashKind, str]],
    list_name: str,
    kind: HashKind,
    value: str,
    source: str,
) -> None:
    value = value.lower()
    if (kind, value) in seen:
        return
    seen.add((kind, value))
    parsed.entries.append(BankEntry(list_name, kind, value, source.lstrip(":")))


def parse_hash_argument(text: str, kind: HashKind | None) -> tuple[HashKind, str]:
    """One hash given on the command line (``causerie hashes remove``), with or without
    a ``kind:`` prefix."""
    named, _, value = text.partition(":") if ":" in text else (None, "", text)
    try:
        found = _kind_of(named, kind, value.strip())
    except _Skip as skip:
        raise ValueError(f"unsupported hash kind {skip.type_name!r}") from None
    return found, value.strip().lower()
