"""Measure the semantic stage on the dev split: quality, latency on one core, load time, memory.

    .venv/bin/python scripts/evaluate_semantic_model.py            # add --errors to list misses

Quality: precision and recall per category (and FR / EN), the harmless false-positive rate
(a harmless line with any category at or above the threshold), at threshold 0.5. Latency:
``score_batch`` on one text at a time and in batches, with BLAS limited to one thread.
"""

from __future__ import annotations

import os

# One core, as in the server: set before numpy is imported.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import json
import random
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from causerie.safety.categories import Category
from causerie.safety.model.dataset import Example, load
from causerie.safety.model.semantic import SemanticModel, load_semantic_model

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "data" / "safety" / "semantic" / "dev.jsonl"
CONVERSATIONS = ROOT / "data" / "safety" / "semantic" / "dev_conversations.jsonl"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(
    model: SemanticModel, examples: Sequence[Example], threshold: float, errors: bool
) -> None:
    scores = model.score_batch([e.text for e in examples])
    print("| category | lang | support | precision | recall | F1 |")
    print("|---|---|---:|---:|---:|---:|")
    f1s: list[float] = []
    for category in Category:
        for lang in ("fr", "en", "all"):
            rows = [
                (e, s)
                for e, s in zip(examples, scores, strict=True)
                if lang == "all" or e.lang == lang
            ]
            tp = sum(1 for e, s in rows if category in e.labels and s[category] >= threshold)
            fp = sum(1 for e, s in rows if category not in e.labels and s[category] >= threshold)
            fn = sum(1 for e, s in rows if category in e.labels and s[category] < threshold)
            support = tp + fn
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            if lang == "all":
                f1s.append(f1)
            print(
                f"| {category.value} | {lang} | {support} | {precision:.2f} | {recall:.2f} "
                f"| {f1:.2f} |"
            )
    print(f"\nMacro F1 (all): {statistics.mean(f1s):.3f}")
    harmful = [(e, s) for e, s in zip(examples, scores, strict=True) if e.labels]
    caught = sum(1 for e, s in harmful if max(s.values()) >= threshold)
    print(
        f"- harmful lines flagged in any category: {caught} of {len(harmful)} "
        f"({caught / len(harmful):.1%})"
    )
    for lang in ("fr", "en", "all"):
        harmless = [
            (e, s)
            for e, s in zip(examples, scores, strict=True)
            if not e.labels and (lang == "all" or e.lang == lang)
        ]
        flagged = [(e, s) for e, s in harmless if max(s.values()) >= threshold]
        print(
            f"- harmless {lang}: {len(flagged)} of {len(harmless)} flagged "
            f"({len(flagged) / max(len(harmless), 1):.1%})"
        )
    if errors:
        print("\nErrors:")
        for e, s in zip(examples, scores, strict=True):
            predicted = {c for c, p in s.items() if p >= threshold}
            if predicted != set(e.labels):
                top = ", ".join(
                    f"{c.value} {p:.2f}" for c, p in sorted(s.items(), key=lambda kv: -kv[1])[:2]
                )
                want = ",".join(sorted(c.value for c in e.labels)) or "harmless"
                print(f"  [{want}] {e.text!r} -> {top}")


def conversations(model: SemanticModel, path: Path, threshold: float) -> None:
    """The conversation scorer on every prefix of each dev conversation: the turn at which a
    harmful one is first flagged in its category, and whether a harmless one ever is."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    print(
        f"\nConversations ({path.name}): score_conversation on each prefix, threshold {threshold}"
    )
    print("| conversation | labels | messages | flagged at turn |")
    print("|---:|---|---:|---|")
    caught = harmless_flagged = harmful = 0
    for i, row in enumerate(rows, start=1):
        messages: list[str] = row["messages"]
        labels = [Category(label) for label in row["labels"]]
        turn: int | None = None
        for n in range(1, len(messages) + 1):
            scores = model.score_conversation(messages[:n])
            wanted = labels or list(Category)
            if max(scores[c] for c in wanted) >= threshold:
                turn = n
                break
        if labels:
            harmful += 1
            caught += turn is not None and turn < len(messages)
        else:
            harmless_flagged += turn is not None
        shown = "-" if turn is None else str(turn)
        print(
            f"| {i} | {','.join(c.value for c in labels) or 'harmless'} | {len(messages)} "
            f"| {shown} |"
        )
    print(f"- harmful conversations flagged before their last message: {caught} of {harmful}")
    print(
        f"- harmless conversations flagged at any turn: {harmless_flagged} of {len(rows) - harmful}"
    )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(model: SemanticModel, examples: Sequence[Example], calls: int) -> None:
    texts = [e.text for e in examples]
    rng = random.Random(0)
    single: list[float] = []
    for _ in range(calls):
        text = rng.choice(texts)
        t0 = time.perf_counter()
        model.score_batch([text])
        single.append((time.perf_counter() - t0) * 1000)
    print("\n| measurement | calls | min ms | p50 ms | p99 ms | per text ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| score_batch, 1 text | {calls} | {min(single):.2f} | {percentile(single, 0.5):.2f} "
        f"| {percentile(single, 0.99):.2f} | {statistics.median(single):.2f} |"
    )
    for size in (16, 64, 256):
        times: list[float] = []
        for _ in range(max(3, calls // (size * 4))):
            batch = [rng.choice(texts) for _ in range(size)]
            t0 = time.perf_counter()
            model.score_batch(batch)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"| score_batch, {size} texts | {len(times)} | {min(times):.2f} "
            f"| {percentile(times, 0.5):.2f} | {percentile(times, 0.99):.2f} "
            f"| {statistics.median(times) / size:.3f} |"
        )
    long_text = " ".join(texts[:40])
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        model.score_batch([long_text])
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"| score_batch, 1 text of {len(long_text)} chars (cut) | 50 | {min(times):.2f} "
        f"| {percentile(times, 0.5):.2f} | {percentile(times, 0.99):.2f} | - |"
    )
    times = []
    for _ in range(100):
        window = [rng.choice(texts) for _ in range(6)]
        t0 = time.perf_counter()
        model.score_conversation(window)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"| score_conversation, 6 messages | 100 | {min(times):.2f} "
        f"| {percentile(times, 0.5):.2f} | {percentile(times, 0.99):.2f} | - |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEV)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)

    before = rss_mb()
    t0 = time.perf_counter()
    model = load_semantic_model()
    load_s = time.perf_counter() - t0
    print(
        f"model {model.name} {model.version}: loaded in {load_s:.2f} s, "
        f"RSS {before:.0f} MB before, {rss_mb():.0f} MB after, {len(model.bank)} exemplars\n"
    )
    examples = load(args.data)
    quality(model, examples, args.threshold, args.errors)
    if CONVERSATIONS.exists():
        conversations(model, CONVERSATIONS, args.threshold)
    if not args.no_latency:
        latency(model, examples, args.calls)
        print(
            f"\nRSS after the runs: {rss_mb():.0f} MB "
            f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
