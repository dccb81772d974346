"""``causerie dsa export --since DATE``: statements of reasons for the DSA Transparency Database.

Writes one JSON file per batch of at most 100 statements (``{"statements": [...]}``, the body
the database's API takes), or JSON lines with ``--jsonl``, into a new directory. Nothing
personal is written (:mod:`causerie.console.dsa`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any


async def _export(parts: Any, args: argparse.Namespace) -> int:
    from causerie.console.dsa import batches

    out: Path = args.out
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=False)

    async def page(after: str | None) -> Any:
        return await parts.statements.since(args.since, limit=1000, after_id=after)

    total = files = 0
    lines = out / "statements.jsonl" if args.jsonl else None
    async for batch in batches(page):
        files += 1
        total += len(batch)
        if lines is not None:
            text = "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in batch)
            await asyncio.to_thread(_append, lines, text)
        else:
            body = json.dumps({"statements": batch}, ensure_ascii=False, indent=1) + "\n"
            await asyncio.to_thread(_append, out / f"batch-{files:05d}.json", body)
    await parts.audit.record("cli", "dsa.export", str(out)[:120], statements=total, batches=files)
    print(f"{total} statements in {files} batch(es) of at most 100 written to {out}")
    return 0


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from causerie.cli.legal import parse_time
    from causerie.cli.staff import run_async

    dsa = sub.add_parser("dsa", help="DSA transparency: statements of reasons export")
    commands = dsa.add_subparsers(dest="dsa_command", required=True)
    export = commands.add_parser("export", help="statements since a date, in batches of 100")
    export.add_argument("--since", type=parse_time, required=True, help="2025-03-01 (UTC)")
    export.add_argument("--out", type=Path, default=Path("dsa-export"), help="a new directory")
    export.add_argument("--jsonl", action="store_true", help="one JSON lines file instead")
    export.set_defaults(run=run_async(_export))
