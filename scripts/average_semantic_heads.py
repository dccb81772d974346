"""Average semantic heads trained on different data into the one file the package ships.

    .venv/bin/python scripts/average_semantic_heads.py A.npz B.npz [--out PATH]

Each category's score is a logistic function of z = a·(x·w + b) + g·e + c, where x is the text's
embedding and e its exemplar score over the shared banks. The mean of two members' z is again of
that form (w = (a₁w₁ + a₂w₂)/2, b = (a₁b₁ + a₂b₂)/2, a = 1, g = (g₁ + g₂)/2, c = (c₁ + c₂)/2), so
the average costs nothing at run time: one head per category, as before. Members must share their
categories, their k and their exemplar banks.

Why: heads trained with and without the second writer's corpus make different mistakes; on the
tuning set (data/safety/dev, through the live path) their average blocked as many harmful lines
as the better of the two and fewer harmless ones (docs/safety-model.md).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from causerie.safety.model.semantic import Heads

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "src" / "causerie" / "safety" / "model" / "semantic_heads.npz"


def average(members: list[Heads]) -> Heads:
    first = members[0]
    for other in members[1:]:
        if other.categories != first.categories or other.k != first.k:
            raise SystemExit("members must score the same categories with the same k")
        if other.bank.texts != first.bank.texts or other.bank.labels != first.bank.labels:
            raise SystemExit("members must share their exemplar banks")
    n = len(members)
    head_weight = [m.combine[:, :1] for m in members]
    coef = sum(a * m.coef for a, m in zip(head_weight, members, strict=True)) / n
    intercept = sum(a[:, 0] * m.intercept for a, m in zip(head_weight, members, strict=True)) / n
    combine = np.stack(
        [
            np.ones(len(first.categories)),
            sum(m.combine[:, 1] for m in members) / n,
            sum(m.combine[:, 2] for m in members) / n,
        ],
        axis=1,
    )
    hashes = [m.version.partition("+")[2] for m in members]
    return Heads(
        version=first.version.partition("+")[0] + "+" + "+".join(hashes),
        categories=first.categories,
        coef=np.asarray(coef, dtype=np.float32),
        intercept=np.asarray(intercept, dtype=np.float32),
        combine=combine.astype(np.float32),
        k=first.k,
        bank=first.bank,
        metadata={
            "members": [
                {"version": m.version, **{k: v for k, v in m.metadata.items() if k != "version"}}
                for m in members
            ],
            "encoder": first.metadata.get("encoder"),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("members", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    heads = average([Heads.load(path.read_bytes()) for path in args.members])
    buffer = io.BytesIO()
    heads.save(buffer)
    args.out.write_bytes(buffer.getvalue())
    print(f"wrote {args.out} ({len(buffer.getvalue()) / 1e6:.2f} MB), version {heads.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
