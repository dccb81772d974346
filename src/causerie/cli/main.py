"""``causerie serve``, ``causerie migrate`` and the operators' subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from causerie.settings import Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.cli.serve import serve

    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    if args.workers <= 1:
        print(f"causerie on http://{host}:{port}/", f"(database {settings.database.url},", end=" ")
        print(f"bus {settings.bus.backend})")
    return serve(settings, host, port, args.workers, args.log_level)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.store.database import migrate

    migrate(settings.database.url, args.revision)
    print(f"database {settings.database.url} is at {args.revision}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="causerie", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML settings file (else $CAUSERIE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the chat site")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port, one per core (needs a redis or nats bus and PostgreSQL)",
    )
    serve.set_defaults(run=_serve)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="heads")
    mig.set_defaults(run=_migrate)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """Subcommand groups of the other capabilities (policy, legal, ...): one line each."""
    from causerie.cli import dsa, hashes, legal, moderation, policy, staff

    return [
        hashes.register,
        legal.register,
        policy.register,
        staff.register,
        moderation.register,
        dsa.register,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings(args.config)
    except Exception as exc:
        print(f"causerie: bad configuration: {exc}", file=sys.stderr)
        return 2
    run: Command = args.run
    return run(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
