"""Hash chains: each record's hash covers its own fields and the previous record's hash.

Changing, removing or reordering any record changes every hash after it, so a verifier that
recomputes the chain from the first record finds the first record that no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8, floats as ``repr``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(dict(fields))).hexdigest()


def content_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
