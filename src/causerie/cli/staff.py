"""``causerie staff ...``: console accounts and the staff audit log.

``causerie staff add NAME --role ROLE`` asks for a password (or reads one line from stdin with
``--password-stdin``), stores its argon2id hash and prints the TOTP provisioning URI to scan
into an authenticator; signing in to the console needs both. The command line is for whoever
holds the server's shell and settings; its changes are audited as ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from causerie.settings import Settings
from causerie.store.staff import ROLES

Runner = Callable[[argparse.Namespace, Settings], int]


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in a container
        return "cli:unknown"


@contextlib.asynccontextmanager
async def offline_parts(settings: Settings, *, with_bus: bool = False) -> AsyncIterator[Any]:
    """The console's parts over the database, for commands run without a node."""
    from causerie.cli.moderation import BusChat
    from causerie.console.wiring import build
    from causerie.legal.runtime import LegalNode
    from causerie.store.database import create_engine, migrate
    from causerie.store.messages import MessageStore

    if settings.database.auto_migrate:
        await asyncio.to_thread(migrate, settings.database.url)
    engine = create_engine(settings.database.url)
    # The retention store: a released message gets its traffic record, a referral its evidence.
    legal = LegalNode(settings, messages=MessageStore(engine))
    chat = BusChat(settings)
    try:
        await legal.start()
        if with_bus:
            await chat.start()
        yield build(
            settings,
            engine,
            legal.service.keyring.chain_key,
            chat=chat,
            evidence=legal.service.evidence,
            traffic=legal.traffic,
            referrals=legal.service,
        )
    finally:
        if with_bus:
            await chat.close()
        await legal.stop()
        await engine.dispose()


def run_async(action: Callable[[Any, argparse.Namespace], Coroutine[Any, Any, int]]) -> Runner:
    def runner(args: argparse.Namespace, settings: Settings) -> int:
        async def go() -> int:
            async with offline_parts(settings, with_bus=getattr(args, "bus", False)) as parts:
                return await action(parts, args)

        try:
            return asyncio.run(go())
        except Exception as exc:  # one line for the operator, not a traceback
            from causerie.console.auth import AuthError
            from causerie.moderation.actions import ModerationError
            from causerie.store.staff import StaffExists

            if isinstance(exc, AuthError | ModerationError | StaffExists | ValueError):
                print(f"causerie: {exc}", file=sys.stderr)
                return 2
            raise

    return runner


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def _add(parts: Any, args: argparse.Namespace) -> int:
    from causerie.store.staff import Role

    created = await parts.auth.add(args.name, Role(args.role), _password(args), by=cli_actor())
    print(f"staff {created.account.name} ({created.account.role.value}) created")
    print("scan this into an authenticator app (TOTP, 6 digits, 30 s):")
    print(created.provisioning_uri)
    return 0


async def _list(parts: Any, args: argparse.Namespace) -> int:
    now = parts.clock()
    for a in await parts.staff.accounts():
        state = "disabled" if a.disabled_at else ("locked" if a.locked(now) else "active")
        print(f"{a.name}\t{a.role.value}\t{state}")
    return 0


async def _disable(parts: Any, args: argparse.Namespace) -> int:
    await parts.auth.disable(args.name, by=cli_actor())
    print(f"{args.name} disabled; their sessions are closed")
    return 0


async def _enable(parts: Any, args: argparse.Namespace) -> int:
    await parts.auth.enable(args.name, by=cli_actor())
    print(f"{args.name} enabled and unlocked")
    return 0


async def _role(parts: Any, args: argparse.Namespace) -> int:
    from causerie.store.staff import Role

    await parts.auth.set_role(args.name, Role(args.role), by=cli_actor())
    print(f"{args.name} is now {args.role}")
    return 0


async def _passwd(parts: Any, args: argparse.Namespace) -> int:
    await parts.auth.set_password(args.name, _password(args), by=cli_actor())
    print(f"password of {args.name} changed")
    return 0


async def _totp(parts: Any, args: argparse.Namespace) -> int:
    print(await parts.auth.reset_totp(args.name, by=cli_actor()))
    return 0


async def _audit_verify(parts: Any, args: argparse.Namespace) -> int:
    report = await parts.audit.verify()
    print(f"{report.entries} entries, head {report.head}")
    for problem in report.problems:
        print(f"problem: {problem}")
    print("the staff audit chain verifies" if report.ok else "the staff audit chain is BROKEN")
    return 0 if report.ok else 1


async def _audit_list(parts: Any, args: argparse.Namespace) -> int:
    for e in reversed(await parts.staff.audit_latest(args.limit, actor=args.actor)):
        print(f"{e.seq}\t{e.at:.0f}\t{e.actor}\t{e.action}\t{e.target}\t{e.outcome}\t{e.detail}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    staff = sub.add_parser("staff", help="console staff accounts and the staff audit log")
    commands = staff.add_subparsers(dest="staff_command", required=True)

    add = commands.add_parser("add", help="create a staff account; prints its TOTP URI")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(run=run_async(_add))

    commands.add_parser("list", help="list staff accounts").set_defaults(run=run_async(_list))
    for name, action, text in (
        ("disable", _disable, "disable an account and close its sessions"),
        ("enable", _enable, "enable and unlock an account"),
        ("reset-totp", _totp, "give an account a new TOTP secret; prints its URI"),
    ):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.set_defaults(run=run_async(action))
    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(run=run_async(_role))
    passwd = commands.add_parser("password", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(run=run_async(_passwd))

    audit = commands.add_parser("audit", help="the staff audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", help="check the hash chain").set_defaults(
        run=run_async(_audit_verify)
    )
    listing = audit_commands.add_parser("list", help="the latest entries, oldest first")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--actor")
    listing.set_defaults(run=run_async(_audit_list))
