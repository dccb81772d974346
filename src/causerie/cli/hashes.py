"""``causerie hashes``: the known-image hash lists photos are matched against.

``causerie hashes import FILE --list NAME`` reads a list (formats in causerie.photos.lists and
docs/photos.md) and writes it in one transaction, or nothing if any line is bad. Running nodes
load the lists at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from causerie.settings import Settings

if TYPE_CHECKING:
    from causerie.photos.store import PhotoStore

T = TypeVar("T")

_KINDS = ["pdq", "md5", "sha256"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    hashes = sub.add_parser("hashes", help="known-image hash lists (PDQ, MD5, SHA-256)")
    commands = hashes.add_subparsers(dest="hashes_command", required=True)

    imp = commands.add_parser("import", help="import a hash list file (text, CSV or TSV)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--list", dest="list_name", default="default", help="the list's name")
    imp.add_argument("--kind", choices=_KINDS, help="kind of the lines that do not say")
    imp.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    imp.set_defaults(run=_import)

    show = commands.add_parser("list", help="the lists and how many hashes each holds")
    show.add_argument("--list", dest="list_name", help="only this list")
    show.add_argument("--hashes", action="store_true", help="print every hash")
    show.set_defaults(run=_list)

    rm = commands.add_parser("remove", help="remove hashes from a list, or a whole list")
    rm.add_argument("--list", dest="list_name", required=True)
    rm.add_argument("hashes", nargs="*", help="hashes, optionally as kind:hex")
    rm.add_argument("--kind", choices=_KINDS)
    rm.add_argument("--all", action="store_true", help="remove the whole list")
    rm.set_defaults(run=_remove)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.photos.hashbank import HashKind
    from causerie.photos.lists import HashFileError, parse_hash_list

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"causerie: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        parsed = parse_hash_list(
            text,
            list_name=args.list_name,
            kind=HashKind(args.kind) if args.kind else None,
            source=args.file.name,
        )
    except HashFileError as exc:
        for error in exc.errors[:50]:
            print(f"{args.file}:{error.line}: {error.message}", file=sys.stderr)
        if len(exc.errors) > 50:
            print(f"... and {len(exc.errors) - 50} more", file=sys.stderr)
        print(f"causerie: nothing imported ({len(exc.errors)} bad lines)", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"causerie: {exc}", file=sys.stderr)
        return 2
    for type_name, count in sorted(parsed.skipped.items()):
        print(f"skipped {count} line(s) of signal type {type_name!r} (not matched on photos)")
    if args.dry_run:
        print(f"{len(parsed.entries)} hashes read ({parsed.format}); nothing written (dry run)")
        return 0
    added = asyncio.run(_with_store(settings, lambda store: store.add_hashes(parsed.entries)))
    already = len(parsed.entries) - added
    print(
        f"list {args.list_name!r}: {added} hashes imported from {args.file} ({parsed.format}), "
        f"{already} already there; running nodes see them after a restart or reload"
    )
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    if args.hashes:
        stored = asyncio.run(_with_store(settings, lambda store: store.list_hashes(args.list_name)))
        for row in stored:
            print(f"{row.list_name}\t{row.kind}:{row.value}\t{row.source}")
        return 0
    counts = asyncio.run(_with_store(settings, lambda store: store.list_counts()))
    shown = {k: v for k, v in counts.items() if args.list_name in (None, k[0])}
    if not shown:
        print("no hash lists")
    for (list_name, kind), count in sorted(shown.items()):
        print(f"{list_name:<30} {kind.value:<7} {count:>10}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.photos.hashbank import HashKind
    from causerie.photos.lists import parse_hash_argument

    if args.all == bool(args.hashes):
        print("causerie: give either hashes to remove or --all", file=sys.stderr)
        return 2
    values = None
    if not args.all:
        kind = HashKind(args.kind) if args.kind else None
        try:
            values = [parse_hash_argument(text, kind) for text in args.hashes]
        except ValueError as exc:
            print(f"causerie: {exc}", file=sys.stderr)
            return 2
    removed = asyncio.run(
        _with_store(settings, lambda store: store.remove_hashes(args.list_name, values))
    )
    print(f"list {args.list_name!r}: {removed} hashes removed")
    return 0


async def _with_store(settings: Settings, work: Callable[[PhotoStore], Awaitable[T]]) -> T:
    from causerie.photos.store import PhotoStore
    from causerie.store.database import create_engine

    engine = create_engine(settings.database.url)
    try:
        return await work(PhotoStore(engine))
    finally:
        await engine.dispose()
