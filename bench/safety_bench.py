"""Safety pipeline benchmark: messages per second per core and the latency the pipeline adds.

::

    python -m bench.safety_bench --messages 20000

Runs the pipeline alone (no server, no database: decisions are not recorded, which is I/O the
store does in batches) on a synthetic French and English chat corpus, one message at a time on
one core (``sched_setaffinity``), in three configurations:

- ``rules``: normalisation, rule packs, conversation risk, decision;
- ``rules+model``: the same plus the shipped model, scored inline one text at a time;
- ``rules+model batched``: the same with the model behind its micro-batcher and ``--concurrency``
  messages in flight at once (throughput when many chatters write at the same moment; each
  message's latency then includes its wait in the batch).

Latency is measured around ``SafetyPipeline.screen`` for each message. The result goes to
``bench/results/`` as JSON and is printed as a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from causerie.moderation.verdict import Author, Subject
from causerie.protocol.identity import age_band, nickname_key
from causerie.safety.pipeline import InlineScorer, SafetyPipeline, load_model_stage
from causerie.settings import SafetySettings
from causerie.store.rooms import RoomRow

RESULTS = Path(__file__).parent / "results"

BENIGN = [
    "Bonjour à tous, ça va ce soir ?",
    "quelqu'un a vu le dernier film de Nolan ?",
    "The assassin in that film was brilliant, best movie of the year",
    "Scunthorpe United a gagné hier, incroyable",
    "je dois bosser demain matin, bonne nuit tout le monde",
    "vous écoutez quoi comme musique en ce moment ?",
    "anyone here from Lyon? looking for a good pizza place",
    "mdr trop bien",
    "ok",
    "j'ai adoré le concert de samedi, l'ambiance était folle",
    "what do you think about the new Zelda game?",
    "il pleut encore à Brest, quelle surprise",
    "salut la compagnie",
    "on se fait un quiz musical ?",
    "my cat keeps stealing my seat lol",
    "les vacances arrivent enfin, vous partez où ?",
]
HARMFUL = [
    "je vends de la c0c@ïne",
    "ajoute moi sur s n @ p",
    "appelle moi au 06.12.34.56.78",
    "espèce de c0nn4rd",
    "argent f@cile, gains g@rantis",
    "je vais te t.u.e.r",
    "qui veut acheter un gl0ck",
]


@dataclass(frozen=True)
class Result:
    name: str
    messages: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def corpus(count: int, seed: int = 7) -> list[str]:
    """About 90% benign chat, 10% harmful; one message in fifty is 800 to 1000 characters."""
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(count):
        text = rng.choice(HARMFUL) if rng.random() < 0.1 else rng.choice(BENIGN)
        if rng.random() < 0.02:
            text = " ".join(rng.choice(BENIGN) for _ in range(30))[: rng.randint(800, 1000)]
        texts.append(text)
    return texts


def subjects(texts: list[str]) -> list[Subject]:
    """One author per message: repeated texts or strikes would otherwise mute the authors, and
    a muted author's message is refused before any check runs, which is not what is measured."""
    authors = len(texts)
    room = RoomRow(
        id="general",
        name="Général",
        name_key="general",
        kind="themed",
        audience="all",
        region_code="",
        topic="",
        host_key=None,
        position=0,
    )
    people = [
        Author(
            session_id=f"s{i}",
            nickname=f"chatter{i}",
            key=nickname_key(f"chatter{i}"),
            age=30,
            band=age_band(30),
        )
        for i in range(authors)
    ]
    return [
        Subject(kind="message", text=text, author=people[i % authors], room=room)
        for i, text in enumerate(texts)
    ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def sequential(name: str, pipeline: SafetyPipeline, items: list[Subject]) -> Result:
    for item in items[:500]:  # warm-up: caches, branch predictors, lazily built tables
        await pipeline.screen(item)
    latencies: list[float] = []
    started = time.perf_counter()
    for item in items:
        mark = time.perf_counter()
        await pipeline.screen(item)
        latencies.append((time.perf_counter() - mark) * 1000)
    seconds = time.perf_counter() - started
    return Result(
        name,
        len(items),
        seconds,
        statistics.median(latencies),
        percentile(latencies, 0.99),
        max(latencies),
    )


async def concurrent(
    name: str, pipeline: SafetyPipeline, items: list[Subject], concurrency: int
) -> Result:
    latencies: list[float] = []

    async def one(item: Subject) -> None:
        mark = time.perf_counter()
        await pipeline.screen(item)
        latencies.append((time.perf_counter() - mark) * 1000)

    for start in range(0, 500, concurrency):
        await asyncio.gather(*(one(i) for i in items[start : start + concurrency]))
    latencies.clear()
    started = time.perf_counter()
    for start in range(0, len(items), concurrency):
        await asyncio.gather(*(one(i) for i in items[start : start + concurrency]))
    seconds = time.perf_counter() - started
    return Result(
        name,
        len(items),
        seconds,
        statistics.median(latencies),
        percentile(latencies, 0.99),
        max(latencies),
    )


async def run(messages: int, concurrency: int) -> list[Result]:
    items = subjects(corpus(messages))
    results: list[Result] = []
    settings = SafetySettings(model=False)
    rules = SafetyPipeline.from_settings(settings, with_model=False)
    results.append(await sequential("rules", rules, items))

    # The shipped configuration (the semantic model, its unobfuscated reading and the
    # conversation stage), then with the n-gram model on too.
    model_settings = SafetySettings(model_max_wait_ms=0.0, model_max_batch=64)
    both_settings = SafetySettings(model=True, model_max_wait_ms=0.0, model_max_batch=64)
    for label, chosen in (
        ("rules+semantic", model_settings),
        ("rules+semantic+ngram", both_settings),
    ):
        stage = load_model_stage(chosen, batched=False)
        if stage is None:
            print("no model installed: rules only")
            return results
        inline = SafetyPipeline.from_settings(settings, with_model=False)
        assert isinstance(stage.scorer, InlineScorer)
        inline.model = stage
        results.append(await sequential(label, inline, items))

    batched_stage = load_model_stage(model_settings, batched=True)
    assert batched_stage is not None
    batched = SafetyPipeline.from_settings(settings, with_model=False)
    batched.model = batched_stage
    batched.settings = model_settings
    await batched.start()
    try:
        results.append(
            await concurrent(f"rules+semantic batched x{concurrency}", batched, items, concurrency)
        )
    finally:
        if batched_stage.close is not None:
            await batched_stage.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cpu", type=int, default=0, help="pin to this CPU (one core)")
    args = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {args.cpu})
    results = asyncio.run(run(args.messages, args.concurrency))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, " + (
        f"Python {platform.python_version()}"
    )
    print(f"\n{args.messages} messages, one core ({machine})\n")
    print("| configuration | messages/s per core | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.per_second:,.0f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} | {r.max_ms:.2f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"safety-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "messages": args.messages,
                "concurrency": args.concurrency,
                "machine": machine,
                "results": [
                    {
                        "name": r.name,
                        "per_second": r.per_second,
                        "p50_ms": r.p50_ms,
                        "p99_ms": r.p99_ms,
                        "max_ms": r.max_ms,
                    }
                    for r in results
                ],
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
