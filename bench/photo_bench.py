"""Photo bench: hash-bank lookups over a million PDQ hashes, and photos processed per core.

    .venv/bin/python -m bench.photo_bench [--hashes 1000000] [--lookups 20000] [--photos 100]

Lookups: random 256-bit hashes (what a bank of real hashes looks like to a random query:
PDQ hashes are close to uniformly distributed) and queries of which half are within distance
0 to 31 of a bank entry, half random. Photos: generated 1024 x 768 JPEGs (shapes on a
gradient, noise), each through decode, checks, PDQ, bank match, nudity score and re-encode,
on one thread (run it under ``taskset -c 0`` to pin one core).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import resource
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from causerie.photos.hashbank import PDQ_MATCH_DISTANCE, HashBank
from causerie.photos.nudity import NudityClassifier
from causerie.photos.service import PhotoPipeline


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_bank(count: int, lookups: int, seed: int = 1) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
    before = _rss_mb()
    started = time.perf_counter()
    bank = HashBank.from_pdq_array(hashes, "bench")
    build_s = time.perf_counter() - started
    # A bank of a million entries is millions of long-lived objects: without this, the cyclic
    # collector's full passes over them show up as 100+ ms lookups (docs/photos.md).
    gc.freeze()
    queries: list[tuple[str, int | None]] = []
    for i in range(lookups):
        if i % 2:
            queries.append((rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(), None))
            continue
        row = int(rng.integers(0, count))
        distance = int(rng.integers(0, PDQ_MATCH_DISTANCE + 1))
        bits = np.unpackbits(hashes[row])
        bits[rng.choice(256, distance, replace=False)] ^= 1
        queries.append((np.packbits(bits).tobytes().hex(), distance))
    times: list[float] = []
    found = missed = false_hits = 0
    for query, expected in queries:
        t0 = time.perf_counter()
        match = bank.match(query, 100)
        times.append(time.perf_counter() - t0)
        if expected is None:
            false_hits += match is not None
        elif match is not None and match.distance <= expected:
            found += 1
        else:
            missed += 1
    times.sort()
    return {
        "hashes": count,
        "build_s": build_s,
        "index_mb": bank.nbytes / 2**20,
        "rss_growth_mb": _rss_mb() - before,
        "p50_us": times[len(times) // 2] * 1e6,
        "p99_us": times[int(len(times) * 0.99)] * 1e6,
        "max_us": times[-1] * 1e6,
        "lookups_per_s": len(times) / sum(times),
        "near_found": found,
        "near_missed": missed,
        "random_false_hits": false_hits,
    }


def generated_photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, 1024)[None, :, None]
    y = np.linspace(0, 255, 768)[:, None, None]
    base = (x * rng.uniform(0, 1, 3) + y * rng.uniform(0, 1, 3)) / 2
    pixels = base + rng.normal(0, 12, (768, 1024, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x0, y0 = rng.uniform(0, 1024), rng.uniform(0, 768)
        box = (x0, y0, x0 + rng.uniform(20, 400), y0 + rng.uniform(20, 300))
        draw.ellipse(box, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def bench_photos(count: int, bank_size: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    bank = HashBank.from_pdq_array(rng.integers(0, 256, (bank_size, 32), dtype=np.uint8), "b")
    classifier = NudityClassifier(threads=1)
    pipeline = PhotoPipeline(bank, classifier)
    photos = [generated_photo(seed) for seed in range(count)]
    pipeline.process(photos[0])  # warm up
    steps: dict[str, list[float]] = {}
    started = time.perf_counter()
    for data in photos:
        processed = pipeline.process(data)
        for name, ms in processed.timings.items():
            steps.setdefault(name, []).append(ms)
    elapsed = time.perf_counter() - started
    result: dict[str, float] = {
        "photos": count,
        "input_kb": statistics.mean(len(p) for p in photos) / 1024,
        "photos_per_s": count / elapsed,
    }
    for name, values in steps.items():
        values.sort()
        result[f"{name}_p50_ms"] = values[len(values) // 2]
        result[f"{name}_p99_ms"] = values[int(len(values) * 0.99)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--photos", type=int, default=100)
    args = parser.parse_args()
    print(f"cpus available {len(os.sched_getaffinity(0))}")
    for key, value in bench_bank(args.hashes, args.lookups).items():
        print(f"bank   {key:<18} {value:,.2f}")
    for key, value in bench_photos(args.photos, args.hashes).items():
        print(f"photos {key:<18} {value:,.2f}")


if __name__ == "__main__":
    main()
