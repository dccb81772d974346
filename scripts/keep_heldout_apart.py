"""Drop hand-written training lines that equal or nearly equal a held-out line.

    .venv/bin/python scripts/keep_heldout_apart.py [FILE.jsonl ...]   # default: the corpus

Two writers who never read each other's files still reach for the same stock phrases; the
held-out set stays a measure of text nobody trained on only if such training lines go. The
measure is the disjointness test's own (tests/safety_model/test_heldout_set.py: normalised
text, character shingles, Jaccard >= 0.8). Only counts are printed, never a held-out line, so
running this teaches nobody what the held-out set says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.safety_model.test_heldout_set import (  # noqa: E402
    TRAINING_NEAR,
    UNSEEN,
    ShingleIndex,
    _jsonl,
    _texts_of,
    normalise,
    shingles,
)

CORPUS = ROOT / "data" / "safety" / "semantic" / "corpus"


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] or sorted(CORPUS.glob("*.jsonl"))
    held_out = [
        pair
        for unseen in UNSEEN
        for pair in _texts_of(
            _jsonl(unseen / "lines.jsonl"), _jsonl(unseen / "conversations.jsonl")
        )
    ]
    held = [normalise(text) for _, text in held_out]
    exact = set(held)
    index = ShingleIndex([shingles(n) for n in held], TRAINING_NEAR)
    for path in files:
        rows = [json.loads(r) for r in path.read_text("utf-8").splitlines() if r.strip()]
        kept = []
        for row in rows:
            norm = normalise(row["text"])
            if norm not in exact and not index.matches(shingles(norm)):
                kept.append(row)
        if len(kept) != len(rows):
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
            path.write_text(text, "utf-8")
        print(f"{path.relative_to(ROOT)}: {len(rows) - len(kept)} of {len(rows)} lines dropped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
