"""Hash chains: each record's hash covers its own fields and the previous record's hash.

Changing, removing or reordering any record changes every hash after it, so a verifier that
recomputes the chain from the first record finds the first record that no longer matches.

The links are keyed (HMAC-SHA256 under the keyring's chain key, which lives in the key file and
never in the database): someone who can write the database but not read the key file cannot
rewrite a chain whose hashes still verify. Publishing the head (``causerie legal audit
--verify``) anchors it further: a rewrite by someone who holds the key changes the head.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8, floats as ``repr``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(key: bytes, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The link after ``prev_hash`` for a record of ``fields``, keyed with the chain key."""
    message = prev_hash.encode() + b"\n" + canonical(dict(fields))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def content_hash(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
