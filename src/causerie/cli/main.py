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
    import uvicorn

    from causerie.gateway.app import create_app

    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    app = create_app(settings)
    print(f"causerie on http://{host}:{port}/", f"(database {settings.database.url},", end=" ")
    print(f"bus {settings.bus.backend})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=args.log_level,
        # Past our own frame limit the protocol answers with an error frame; past this one the
        # WebSocket layer closes the connection (1009) before reading the frame into memory.
        ws_max_size=max(1 << 20, settings.limits.max_frame_bytes * 4),
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # Compressing every message for every member was half the fan-out's CPU and tens of
        # KiB of zlib state per connection (docs/benchmarks.md); chat frames are small, and
        # compressing a stranger's text alongside one's own is a side channel worth avoiding.
        ws_per_message_deflate=False,
        proxy_headers=False,
    )
    return 0


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
    serve.set_defaults(run=_serve)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="heads")
    mig.set_defaults(run=_migrate)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """Subcommand groups of the other capabilities (policy, legal, ...): one line each."""
    from causerie.cli import hashes, legal, policy

    return [hashes.register, legal.register, policy.register]


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
