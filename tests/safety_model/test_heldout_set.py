"""The independent held-out safety evaluation sets (data/safety/heldout/, dev4/ to dev8/).

Checks the schema of every line and conversation, the minimum sizes and the harmless share,
that ids are unique, that the set holds no exact or near duplicates, and that it is disjoint
from every text the model or the rules are trained on (data/safety/*.jsonl outside heldout/
and the string literals of scripts/safety_templates.py, the other unseen sets left out); the
third independent set (data/safety/dev3/, also unseen) must be disjoint from the same texts.

Failures name the held-out id and text only, never the training text it collided with, so that
whoever fixes the set stays independent of the training data.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "safety"
HELDOUT = DATA / "heldout"
# The sets that measure unseen text: the held-out set and the third to eighth independent sets.
UNSEEN = (HELDOUT, *(DATA / f"dev{n}" for n in range(3, 9)))
# The sets whose schema, sizes and inner duplicates are checked here (dev3 predates the checks).
CHECKED = tuple(s for s in UNSEEN if s.name != "dev3")
TEMPLATES = ROOT / "scripts" / "safety_templates.py"

CATEGORIES = {
    "child_safety",
    "sexual",
    "solicitation",
    "drugs",
    "weapons",
    "violence",
    "harassment",
    "hate",
    "personal_data",
    "off_platform",
    "spam",
    "non_consent",
    "ambush",
    "scam",
    "doxxing",
}
CONTEXTS = {
    "all_ages_room",
    "teen_room",
    "adult_room",
    "private_adult_adult",
    "private_teen_teen",
    "private_adult_to_minor",
}
FORMS = {"plain", "obfuscated", "code_words", "conversational"}
BANDS = {"13-14", "15-17", "18+"}
KINDS = {"grooming", "ambush", "dealing", "harmless_lookalike"}
LINE_KEYS = {"id", "text", "lang", "label", "category", "context", "form", "author_band", "note"}
CONV_KEYS = {"id", "lang", "label", "kind", "context", "participants", "messages", "request_turn"}

INTERNAL_NEAR = 0.9
TRAINING_NEAR = 0.8


def _jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module", params=CHECKED, ids=lambda path: path.name)
def unseen_set(request: pytest.FixtureRequest) -> Path:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lines(unseen_set: Path) -> list[dict[str, object]]:
    return _jsonl(unseen_set / "lines.jsonl")


@pytest.fixture(scope="module")
def conversations(unseen_set: Path) -> list[dict[str, object]]:
    return _jsonl(unseen_set / "conversations.jsonl")


class _FoldTable(dict[int, str]):
    """str.translate table built lazily: drops marks and joiners, turns punctuation to spaces."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat in {"Mn", "Me", "Cf"}:
            out = ""
        elif cat.startswith(("P", "Z", "C")) or ch.isspace():
            out = " "
        else:
            out = ch
        self[code] = out
        return out


_FOLD = _FoldTable()


def normalise(text: str) -> str:
    """Lower case, accents and punctuation stripped, spaces collapsed; emoji are kept."""
    return " ".join(unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD).split())


def shingles(norm: str) -> frozenset[str]:
    padded = f" {norm} "
    if len(padded) < 3:
        return frozenset({padded})
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    inter = len(a & b)
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


class ShingleIndex:
    """Inverted index over 3-gram sets: finds every stored set with Jaccard >= threshold.

    For a probe, the posting lists of its shingles are concatenated and counted with numpy, which
    gives the intersection size with every stored set at once (exact, no sampling).
    """

    def __init__(self, sets: list[frozenset[str]], threshold: float) -> None:
        self.threshold = threshold
        self.vocab: dict[str, int] = {}
        grams = [self.vocab.setdefault(g, len(self.vocab)) for s in sets for g in s]
        sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        docs = np.repeat(np.arange(len(sets), dtype=np.int32), sizes)
        order = np.argsort(np.asarray(grams, dtype=np.int64), kind="stable")
        self.docs = docs[order]
        counts = np.bincount(np.asarray(grams, dtype=np.int64), minlength=len(self.vocab))
        self.starts = np.concatenate(([0], np.cumsum(counts)))
        self.sizes = sizes.astype(np.float64)

    def matches(self, probe: frozenset[str], skip: int | None = None) -> list[tuple[int, float]]:
        ids = [self.vocab[g] for g in probe if g in self.vocab]
        if not ids:
            return []
        lists = [self.docs[self.starts[i] : self.starts[i + 1]] for i in ids]
        inter = np.bincount(np.concatenate(lists), minlength=len(self.sizes))
        scores = inter / (len(probe) + self.sizes - inter)
        hits = np.flatnonzero(scores >= self.threshold - 1e-12)
        return [(int(j), float(scores[j])) for j in hits if j != skip]


def training_texts(unseen: tuple[Path, ...] = (HELDOUT,)) -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.rglob("*.jsonl")):
        if any(directory in path.parents for directory in unseen):
            continue
        for obj in _jsonl(path):
            if isinstance(obj.get("text"), str):
                texts.append(obj["text"])
            for msg in obj.get("messages", []) or []:
                if isinstance(msg, dict) and isinstance(msg.get("text"), str):
                    texts.append(msg["text"])
                elif isinstance(msg, str):
                    texts.append(msg)
    if TEMPLATES.exists():
        # The template module exposes no function returning texts; take its string literals
        # (without importing it) so a held-out line copied from a template is still caught.
        tree = ast.parse(TEMPLATES.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and len(normalise(node.value)) >= 12
                and "{" not in node.value
            ):
                texts.append(node.value)
    return texts


def _texts_of(lines: list[dict[str, object]], conversations: list[dict[str, object]]) -> list:
    out = [(str(r["id"]), str(r["text"])) for r in lines]
    for conv in conversations:
        for k, msg in enumerate(conv["messages"]):  # type: ignore[arg-type]
            out.append((f"{conv['id']}#{k}", msg["text"]))
    return out


def _texts_of_set(directory: Path) -> list:
    return _texts_of(_jsonl(directory / "lines.jsonl"), _jsonl(directory / "conversations.jsonl"))


def _comparable(items: list) -> list:
    """The texts long enough to compare: a two-word reply ("oui ok") is everyone's."""
    return [(k, t) for k, t in items if len(normalise(t)) >= 8]


# ---------------------------------------------------------------- schema and sizes


def test_line_schema(lines: list[dict[str, object]]) -> None:
    problems = []
    for r in lines:
        rid = r.get("id")
        if set(r) != LINE_KEYS:
            problems.append((rid, "keys", sorted(set(r) ^ LINE_KEYS)))
            continue
        if not (isinstance(rid, str) and re.fullmatch(r"[a-z]{1,2}\d{4,}", rid)):
            problems.append((rid, "id"))
        if not (isinstance(r["text"], str) and r["text"].strip()):
            problems.append((rid, "text"))
        if r["lang"] not in {"fr", "en"}:
            problems.append((rid, "lang"))
        if r["label"] not in {"harmful", "harmless"}:
            problems.append((rid, "label"))
        if r["label"] == "harmful" and r["category"] not in CATEGORIES:
            problems.append((rid, "harmful line without a known category"))
        if r["label"] == "harmless" and r["category"] is not None:
            problems.append((rid, "harmless line with a category"))
        if r["context"] not in CONTEXTS:
            problems.append((rid, "context"))
        if r["form"] not in FORMS:
            problems.append((rid, "form"))
        if r["author_band"] not in BANDS:
            problems.append((rid, "author_band"))
        if not (isinstance(r["note"], str) and r["note"].strip()):
            problems.append((rid, "note"))
        adult_only = {"private_adult_to_minor", "private_adult_adult", "adult_room"}
        if r["context"] in adult_only and r["author_band"] != "18+":
            problems.append((rid, "minor author in an adult-authored context"))
        if r["context"] == "private_teen_teen" and r["author_band"] == "18+":
            problems.append((rid, "adult author in a teen-teen conversation"))
    assert not problems, problems[:20]


def test_sizes_and_balance(lines: list[dict[str, object]]) -> None:
    assert len(lines) >= 1000
    harmless = sum(r["label"] == "harmless" for r in lines)
    assert harmless / len(lines) >= 0.40
    fr = sum(r["lang"] == "fr" for r in lines) / len(lines)
    assert 0.45 <= fr <= 0.65
    per_cat = Counter(r["category"] for r in lines if r["label"] == "harmful")
    assert set(per_cat) == CATEGORIES
    assert min(per_cat.values()) >= 30, per_cat
    forms = Counter(r["form"] for r in lines if r["label"] == "harmful")
    assert all(forms[f] >= 100 for f in FORMS), forms
    contexts = Counter(r["context"] for r in lines)
    assert set(contexts) == CONTEXTS, contexts


def test_conversation_schema(conversations: list[dict[str, object]]) -> None:
    assert len(conversations) >= 30
    labels = Counter(c.get("label") for c in conversations)
    assert labels["harmful"] >= 12 and labels["harmless"] >= 12, labels
    problems = []
    for c in conversations:
        cid = c.get("id")
        if set(c) != CONV_KEYS:
            problems.append((cid, "keys", sorted(set(c) ^ CONV_KEYS)))
            continue
        if c["lang"] not in {"fr", "en"} or c["context"] not in CONTEXTS:
            problems.append((cid, "lang/context"))
        if c["kind"] not in KINDS:
            problems.append((cid, "kind"))
        if (c["label"] == "harmless") != (c["kind"] == "harmless_lookalike"):
            problems.append((cid, "label and kind disagree"))
        parts = c["participants"]
        if not (
            isinstance(parts, dict)
            and parts
            and all(p.get("band") in BANDS for p in parts.values())
        ):
            problems.append((cid, "participants"))
            continue
        msgs = c["messages"]
        if not (isinstance(msgs, list) and 6 <= len(msgs) <= 14):
            problems.append((cid, "6 to 14 messages"))
            continue
        for m in msgs:
            if set(m) != {"from", "text"} or m["from"] not in parts or not m["text"].strip():
                problems.append((cid, "message", m))
        turn = c["request_turn"]
        if turn is not None and not (isinstance(turn, int) and 0 <= turn < len(msgs)):
            problems.append((cid, "request_turn"))
        if c["label"] == "harmful" and turn is None:
            problems.append((cid, "harmful conversation without a request turn"))
    assert not problems, problems[:20]


def test_unique_ids(lines: list[dict[str, object]], conversations: list[dict[str, object]]) -> None:
    ids = [r["id"] for r in lines] + [c["id"] for c in conversations]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, dupes


# ---------------------------------------------------------------- duplicates and disjointness


def test_no_duplicates_inside_the_set(lines: list[dict[str, object]]) -> None:
    norms = [normalise(str(r["text"])) for r in lines]
    exact = [n for n, k in Counter(norms).items() if k > 1]
    assert not exact, exact[:20]
    sets = [shingles(n) for n in norms]
    index = ShingleIndex(sets, INTERNAL_NEAR)
    near = sorted(
        {
            (min(i, j), max(i, j), round(score, 2))
            for i, s in enumerate(sets)
            for j, score in index.matches(s, skip=i)
        }
    )
    assert not near, [(lines[i]["id"], lines[j]["id"], sc) for i, j, sc in near[:20]]


def _collisions(items: Iterable[tuple[str, str]], train: list[str]) -> list[tuple[str, str]]:
    train_norms = sorted({normalise(t) for t in train})
    train_exact = set(train_norms)
    train_sets = [shingles(n) for n in train_norms]
    probes = [(key, text, normalise(text)) for key, text in items]
    probe_sets = [shingles(n) for _, _, n in probes]
    index = ShingleIndex(train_sets, TRAINING_NEAR)
    bad = []
    for (key, text, norm), s in zip(probes, probe_sets, strict=True):
        if norm in train_exact or index.matches(s):
            bad.append((key, text))
    return bad


def test_disjoint_from_training_data(
    lines: list[dict[str, object]], conversations: list[dict[str, object]]
) -> None:
    train = training_texts(unseen=UNSEEN)
    assert len(train) > 100, "training data not found"
    items = _comparable(_texts_of(lines, conversations))
    bad = _collisions(items, train)
    # Only the held-out side is reported: fix it by rewording, without reading the training side.
    assert not bad, bad[:30]


@pytest.mark.parametrize("later", [s for s in UNSEEN if s not in CHECKED], ids=lambda p: p.name)
def test_the_other_unseen_sets_are_disjoint_from_training_data_too(later: Path) -> None:
    """data/safety/dev3 also measures unseen text (its README): nothing trained on may equal or
    nearly equal one of its lines or replies."""
    train = training_texts(unseen=UNSEEN)
    bad = _collisions(_comparable(_texts_of_set(later)), train)
    assert not bad, bad[:30]


# Lines of a later unseen set equal or near a line of an earlier one, found after both had been
# scored (2026-12-04): kept, since dropping them would change figures already reported.
ACROSS_SETS_KNOWN = {"vb0047", "vk04#3", "yk29#9"}


def test_the_unseen_sets_do_not_repeat_each_other() -> None:
    """The unseen sets are scored together (pooled): a line of one that another already holds
    counts twice. Each set is checked against the ones written before it."""
    earlier: list[str] = []
    repeated = []
    for unseen in UNSEEN:
        items = _comparable(_texts_of_set(unseen))
        if earlier:
            repeated += [k for k, _ in _collisions(items, earlier)]
        earlier += [t for _, t in items]
    assert set(repeated) <= ACROSS_SETS_KNOWN, sorted(set(repeated) - ACROSS_SETS_KNOWN)


def test_index_finds_what_a_brute_force_scan_finds() -> None:
    texts = [
        "on se capte au parc vers 17h",
        "on se capte au parc vers 17h!",
        "on se capte au parc vers 18h",
        "rien à voir avec le reste",
        "totally unrelated english line here",
    ]
    sets = [shingles(normalise(t)) for t in texts]
    for threshold in (0.5, 0.8, 0.9):
        index = ShingleIndex(sets, threshold)
        for i, s in enumerate(sets):
            fast = {j for j, _ in index.matches(s, skip=i)}
            slow = {j for j, o in enumerate(sets) if j != i and jaccard(s, o) >= threshold}
            assert fast == slow, (threshold, i)
