"""Summarise a py-spy ``--format raw`` profile (collapsed stacks) into where the time goes.

::

    python -m bench.profile_summary bench/results/profile-1r-1000c-100mps.txt

"Self" is time spent in a function's own code; "total" includes what it called. Both are shares
of the samples py-spy took while a thread was running Python or native code.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PREFIXES = ("site-packages/", "lib/python3.11/", "src/")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for prefix in _PREFIXES:
        if prefix in path:
            path = path.split(prefix, 1)[1]
            break
    return f"{match['name']} ({path})"


def summarise(path: Path, top: int = 20) -> dict[str, Any]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        # The first frame names the process/thread; it says nothing about where time goes.
        if frames and frames[0].startswith(("process ", "thread ")):
            frames = frames[1:]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / samples, 1)] for name, n in counter.most_common(top)]

    return {"samples": samples, "self_percent": shares(own), "total_percent": shares(total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    summary = summarise(args.profile, args.top)
    print(f"{summary['samples']} samples")
    for title, key in (("self", "self_percent"), ("total (inclusive)", "total_percent")):
        print(f"\n{title}:")
        for name, share in summary[key]:
            print(f"  {share:5.1f}%  {name}")


if __name__ == "__main__":
    main()
