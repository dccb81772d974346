"""Measure the shipped safety model on the hand-written evaluation set, and its latency.

    .venv/bin/python scripts/evaluate_safety_model.py [--errors] [--no-latency]

Prints Markdown: precision, recall and F1 per category and language at the model's operating
thresholds, the share of benign texts flagged, and latency (one text per call, batches of 64,
and the MicroBatcher under concurrent callers, inline and in a thread). The model is loaded the
way the application loads it, from the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from causerie.safety.categories import Category
from causerie.safety.model import LinearNgramModel, load_default_model
from causerie.safety.model.batcher import MicroBatcher
from causerie.safety.model.dataset import LANGUAGES, Example, load

ROOT = Path(__file__).resolve().parent.parent
EVALUATION = ROOT / "data" / "safety" / "eval.jsonl"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, nproc={os.cpu_count()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, load average {load}"
    )


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def quality(model: LinearNgramModel, examples: Sequence[Example], show_errors: bool) -> None:
    scores = model.score_batch([e.text for e in examples])
    thresholds = {c: model.thresholds.get(c, 0.5) for c in Category}
    print("| category | lang | support | precision | recall | F1 |")
    print("|---|---|---:|---:|---:|---:|")
    macro: dict[str, list[float]] = {}
    for category in Category:
        for lang in (*LANGUAGES, "all"):
            tp = fp = fn = support = 0
            for example, score in zip(examples, scores, strict=True):
                if lang != "all" and example.lang != lang:
                    continue
                truth = category in example.labels
                flagged = score[category] >= thresholds[category]
                support += truth
                tp += truth and flagged
                fp += flagged and not truth
                fn += truth and not flagged
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            macro.setdefault(lang, []).append(f1)
            print(
                f"| {category.value} | {lang} | {support} | {precision:.2f} | {recall:.2f} "
                f"| {f1:.2f} |"
            )
    for lang, f1s in macro.items():
        print(f"\nMacro F1 ({lang}): {statistics.mean(f1s):.3f}", end="")
    print("\n")
    for lang in LANGUAGES:
        benign = [
            s for e, s in zip(examples, scores, strict=True) if e.lang == lang and not e.labels
        ]
        flagged = sum(any(s[c] >= thresholds[c] for c in Category) for s in benign)
        print(f"- benign {lang}: {flagged} of {len(benign)} flagged ({flagged / len(benign):.1%})")
    if show_errors:
        print("\nErrors:")
        for example, score in zip(examples, scores, strict=True):
            predicted = {c for c in Category if score[c] >= thresholds[c]}
            if predicted != set(example.labels):
                missed = ",".join(sorted(c.value for c in set(example.labels) - predicted))
                extra = ",".join(sorted(c.value for c in predicted - set(example.labels)))
                print(f"- [{example.lang}] missed={missed or '-'} extra={extra or '-'}: ", end="")
                print(example.text)


def timed(call: object, rounds: int) -> list[float]:
    assert callable(call)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def latency_line(label: str, samples: Sequence[float], per: int = 1) -> None:
    print(
        f"| {label} | {len(samples)} | {min(samples):.3f} | {percentile(samples, 50):.3f} | "
        f"{percentile(samples, 99):.3f} | {max(samples):.3f} | "
        f"{per * 1000 / statistics.mean(samples):,.0f} |"
    )


async def batcher_latency(
    model: LinearNgramModel,
    texts: Sequence[str],
    concurrency: int,
    max_wait_ms: float,
    thread: bool,
) -> tuple[list[float], float]:
    samples: list[float] = []
    async with MicroBatcher(model, max_wait_ms=max_wait_ms, in_thread=thread) as batcher:

        async def one(text: str) -> None:
            started = time.perf_counter()
            await batcher.score(text)
            samples.append((time.perf_counter() - started) * 1000)

        for start in range(0, len(texts), concurrency):
            await asyncio.gather(*(one(t) for t in texts[start : start + concurrency]))
        mean_batch = statistics.mean(batcher.batch_sizes)
    return samples, mean_batch


def latency(model: LinearNgramModel, examples: Sequence[Example], rounds: int) -> None:
    texts = [e.text for e in examples]
    rng = random.Random(7)
    model.score_batch(texts)  # warm caches
    print("| measurement | calls | min ms | p50 ms | p99 ms | max ms | texts/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    singles = [rng.choice(texts) for _ in range(rounds)]
    iterator = iter(singles)
    latency_line(
        "score_batch, 1 text per call", timed(lambda: model.score_batch([next(iterator)]), rounds)
    )
    batches = [rng.sample(texts, 64) for _ in range(max(1, rounds // 20))]
    batch_iterator = iter(batches)
    latency_line(
        "score_batch, 64 texts per call (time per call)",
        timed(lambda: model.score_batch(next(batch_iterator)), len(batches)),
        per=64,
    )
    long_text = " ".join(rng.sample(texts, 60))
    latency_line(
        f"score_batch, 1 text of {len(long_text)} chars (cut to 1000)",
        timed(lambda: model.score_batch([long_text]), max(1, rounds // 10)),
    )
    print()
    print("| MicroBatcher | concurrent callers | p50 ms | p99 ms | mean batch |")
    print("|---|---:|---:|---:|---:|")
    stream = [rng.choice(texts) for _ in range(rounds)]
    for concurrency in (1, 16, 64):
        for wait in (0.0, 2.0):
            for thread in (False, True):
                samples, mean_batch = asyncio.run(
                    batcher_latency(model, stream, concurrency, wait, thread)
                )
                mode = "thread" if thread else "inline"
                print(
                    f"| {mode}, max_wait_ms={wait:g} | {concurrency} | "
                    f"{percentile(samples, 50):.3f} | {percentile(samples, 99):.3f} "
                    f"| {mean_batch:.1f} |"
                )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=EVALUATION)
    parser.add_argument("--errors", action="store_true", help="list every misclassified text")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = load_default_model()
    load_ms = (time.perf_counter() - started) * 1000
    examples = load(args.data)
    print(f"Model {model.name} {model.version}, loaded in {load_ms:.0f} ms")
    print(f"Machine: {machine()}")
    print(f"Evaluation set: {args.data.relative_to(ROOT)} ({len(examples)} texts)\n")
    quality(model, examples, args.errors)
    if not args.no_latency:
        print(f"\nLatency (machine: {machine()})")
        print()
        gc.collect()
        latency(model, examples, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
