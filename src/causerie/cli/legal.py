"""``causerie legal ...``: the legal officer's commands over :class:`LegalService`.

Every command that reaches retained data or the keys is an officer's: a console staff account
of role ``legal`` (``causerie staff add NAME --role legal``) proving itself with its password and
current TOTP code, checked as a console sign-in is (lockout, one use per code, staff audit
``officer.verify``). The name comes from ``--officer`` (or ``LEGAL_OFFICER``, else the login
name), the password from ``--password-stdin``, ``LEGAL_OFFICER_PASSWORD`` or a prompt, the
code from ``--code``, ``LEGAL_OFFICER_CODE`` or a prompt. The service writes each call,
allowed or refused, to the legal audit log. ``causerie legal verify PACKAGE`` needs neither the
database nor the keys: only the package and the operator's public key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from causerie.settings import Settings

Runner = Callable[[argparse.Namespace, Settings], int]


def parse_time(text: str) -> float:
    """An ISO 8601 date or date-time as UTC epoch seconds; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2025-03-01) or a date-time (2025-03-01T14:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def officer_credentials(
    args: argparse.Namespace, *, allow_session: bool = True
) -> tuple[str, str, str, str]:
    """The acting officer's staff name and either an officer session (``legal login``) or the
    password and TOTP code: flags, environment, prompts. (name, password, code, session)"""
    name = args.officer
    session = args.session or os.environ.get("LEGAL_OFFICER_SESSION", "")
    if allow_session and session and not args.password_stdin:
        return name, "", "", session
    from causerie.legal.errors import LegalError

    interactive = sys.stdin is not None and sys.stdin.isatty()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif os.environ.get("LEGAL_OFFICER_PASSWORD"):
        password = os.environ["LEGAL_OFFICER_PASSWORD"]
    elif interactive:
        password = getpass.getpass(f"password of staff account {name}: ")
    else:
        raise LegalError(
            "an officer proves who they are: --session (from `causerie legal login`), or the "
            "password (--password-stdin, LEGAL_OFFICER_PASSWORD) and the TOTP code"
        )
    code = args.code or os.environ.get("LEGAL_OFFICER_CODE")
    if not code:
        print(f"TOTP code of {name}: ", end="", file=sys.stderr, flush=True)
        code = sys.stdin.readline().strip()
    return name, password, code, ""


class FirstKeyFile:
    """Before any staff account exists, the first key file may be created (``keys rotate``
    with no key file): nobody could prove being an officer yet. Only ``keys.create``, and
    the service refuses it anyway when the retention database holds data."""

    def __init__(self, staff: Any) -> None:
        self.staff = staff

    async def authenticate(self, officer: str, action: str) -> bool:
        return action == "keys.create" and not await self.staff.accounts()

    def describe(self) -> str:
        return (
            "staff accounts exist already: restore the key file that wrote them (a new one "
            "could not open their second factor, nor read the retained data)"
        )


@contextlib.asynccontextmanager
async def staff_auth(settings: Settings) -> AsyncIterator[Any]:
    """The console's sign-in over the chat database, its keys from the retention key file."""
    from causerie.console.audit import StaffAudit, staff_chain_key
    from causerie.console.auth import StaffAuth, staff_totp_key
    from causerie.legal.crypto import Keyring
    from causerie.legal.database import check_key_location, resolve_paths
    from causerie.store.database import create_engine
    from causerie.store.database import migrate as migrate_chat
    from causerie.store.staff import StaffStore

    paths = resolve_paths(settings)
    check_key_location(settings, paths)
    ring = Keyring.load(paths.keys_file)
    if settings.database.auto_migrate:
        await asyncio.to_thread(migrate_chat, settings.database.url)
    engine = create_engine(settings.database.url)
    try:
        store = StaffStore(engine)
        audit = StaffAudit(store, staff_chain_key(ring.chain_key))
        yield StaffAuth(store, audit, totp_key=staff_totp_key(ring.chain_key))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def open_service(
    settings: Settings,
    keyring: Any = None,
    *,
    credentials: tuple[str, str, str, str] | None = None,
) -> AsyncIterator[Any]:
    """The legal service over the retention and chat databases, keys checked.

    ``keyring``: a new keyring not yet written (``keys rotate`` creating the first key file);
    its keys are not checked against the data, the caller does it.
    """
    from causerie.legal.crypto import Keyring
    from causerie.legal.database import check_key_location, migrate, resolve_paths
    from causerie.legal.service import LegalService
    from causerie.legal.store import RetentionStores
    from causerie.store.database import create_engine
    from causerie.store.messages import MessageStore

    paths = resolve_paths(settings)
    check_key_location(settings, paths)
    if settings.legal.auto_migrate:
        await asyncio.to_thread(migrate, paths.database_url)
    from causerie.console.audit import StaffAudit, staff_chain_key
    from causerie.console.auth import StaffAuth, StaffOfficers, staff_totp_key
    from causerie.store.database import migrate as migrate_chat
    from causerie.store.staff import StaffStore

    if settings.database.auto_migrate:
        await asyncio.to_thread(migrate_chat, settings.database.url)
    engine = create_engine(paths.database_url)
    chat_engine = create_engine(settings.database.url)
    try:
        ring = keyring if keyring is not None else Keyring.load(paths.keys_file)
        # Officers are the console's staff accounts of role legal, with their second factor.
        staff = StaffStore(chat_engine)
        officers: Any
        if credentials is None:
            officers = FirstKeyFile(staff)
        else:
            audit = StaffAudit(staff, staff_chain_key(ring.chain_key))
            auth = StaffAuth(staff, audit, totp_key=staff_totp_key(ring.chain_key))
            name, password, code, session = credentials
            officers = StaffOfficers(auth, name, password, code, session=session)
        service = LegalService(
            settings,
            RetentionStores(engine),
            ring,
            messages=MessageStore(chat_engine),
            signing_key_file=paths.signing_key_file,
            officers=officers,
        )
        if keyring is None:
            await service.check_keys()
        yield service
    finally:
        await engine.dispose()
        await chat_engine.dispose()


def _run(action: Callable[[Any, argparse.Namespace], Coroutine[Any, Any, int]]) -> Runner:
    def runner(args: argparse.Namespace, settings: Settings) -> int:
        from causerie.legal.errors import LegalError

        async def go() -> int:
            async with open_service(settings, credentials=officer_credentials(args)) as service:
                return await action(service, args)

        try:
            return asyncio.run(go())
        except LegalError as exc:
            print(f"causerie legal: {exc}", file=sys.stderr)
            return 1

    return runner


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def _login(args: argparse.Namespace, settings: Settings) -> int:
    """Print an officer session token (``export LEGAL_OFFICER_SESSION=...``)."""
    from causerie.console.auth import AuthError
    from causerie.legal.errors import LegalError
    from causerie.legal.service import iso

    async def go() -> tuple[str, float]:
        name, password, code, _ = officer_credentials(args, allow_session=False)
        async with staff_auth(settings) as auth:
            token, until = await auth.officer_login(name, password, code)
            return str(token), float(until)

    try:
        token, until = asyncio.run(go())
    except (AuthError, LegalError) as exc:
        print(f"causerie legal: {exc}", file=sys.stderr)
        return 1
    print(f"export LEGAL_OFFICER_SESSION={token}")
    print(f"# officer session of {args.officer}, until {iso(until)}", file=sys.stderr)
    return 0


def _logout(args: argparse.Namespace, settings: Settings) -> int:
    session = args.session or os.environ.get("LEGAL_OFFICER_SESSION", "")

    async def go() -> None:
        async with staff_auth(settings) as auth:
            if await auth.officer_of_session(session) is not None:
                await auth.store.close_session(session)

    asyncio.run(go())
    return 0


# -- commands -----------------------------------------------------------------------------------


async def _register(service: Any, args: argparse.Namespace) -> int:
    request = await service.register_request(
        args.officer,
        authority=args.authority,
        reference=args.reference,
        legal_basis=args.basis,
        deadline=args.deadline,
        nicknames=args.nickname,
        addresses=args.address,
        content_ids=args.content,
        start=args.start,
        end=args.end,
    )
    print(f"registered {request.id} ({request.reference})")
    return 0


async def _requests(service: Any, args: argparse.Namespace) -> int:
    for request in await service.list_requests(args.officer):
        print(f"{request.id}  {request.status:<10}  {request.reference}  ({request.authority})")
    return 0


async def _show(service: Any, args: argparse.Namespace) -> int:
    _print_json((await service.get_request(args.officer, args.request)).as_dict())
    return 0


async def _search(service: Any, args: argparse.Namespace) -> int:
    from causerie.legal.service import iso

    result = await service.search(args.officer, args.request)
    if args.json:
        _print_json(
            {
                "request": result.request.as_dict(),
                "traffic": [{**r.as_dict(), "at_utc": iso(r.at)} for r in result.records],
                "evidence": [{"seq": e.seq, "subject": e.subject} for e in result.evidence],
            }
        )
        return 0
    print(f"{len(result.records)} records, {len(result.evidence)} evidence records")
    for r in result.records:
        where = f"[{r.ip}]:{r.port}" if ":" in r.ip else f"{r.ip}:{r.port}"
        print(f"{iso(r.at)}  {r.kind:<7}  {where:<28}  {r.nickname:<20}  {r.content_id or '-'}")
    return 0


async def _export(service: Any, args: argparse.Namespace) -> int:
    result = await service.export(args.officer, args.request, args.path)
    print(
        f"exported {result.records} records and {result.evidence} evidence records to "
        f"{result.path} (manifest SHA-256 {result.manifest_sha256})"
    )
    return 0


async def _deliver(service: Any, args: argparse.Namespace) -> int:
    request = await service.deliver(args.officer, args.request, args.note)
    print(f"{request.id} delivered")
    return 0


async def _preserve(service: Any, args: argparse.Namespace) -> int:
    order, preserved = await service.preserve(
        args.officer,
        authority=args.authority,
        reference=args.reference,
        nicknames=args.nickname,
        addresses=args.address,
        content_ids=args.content,
        start=args.start,
        end=args.end,
    )
    print(f"preservation order {order.id}: {preserved} messages copied into evidence")
    return 0


async def _orders(service: Any, args: argparse.Namespace) -> int:
    for order in await service.orders(args.officer):
        state = "released" if order.released_at is not None else "active"
        print(f"{order.id}  {state:<8}  {order.reference}  ({order.authority})")
    return 0


async def _release(service: Any, args: argparse.Namespace) -> int:
    released = await service.release(args.officer, args.order, args.why)
    print(f"{args.order} released; {released} evidence records erased")
    return 0


async def _purge(service: Any, args: argparse.Namespace) -> int:
    report = await service.purge()
    print(
        f"purged {report.traffic} traffic records ({report.held_orders} preservation orders "
        f"held), preserved {report.preserved} messages"
    )
    return 0


async def _referrals(service: Any, args: argparse.Namespace) -> int:
    from causerie.legal.service import iso

    for item in await service.referrals(args.officer):
        reasons = item.content.get("reasons", {})
        print(
            f"{item.reference}\t{iso(item.created_at)}\t{item.subject}\t"
            f"{reasons.get('category')}\tby {item.content.get('referred_by')}"
        )
    return 0


async def _referral(service: Any, args: argparse.Namespace) -> int:
    manifest = await service.export_referral(args.officer, args.reference, args.path)
    print(f"referral {args.reference} written to {args.path} (manifest sha256 {manifest})")
    return 0


async def _audit(service: Any, args: argparse.Namespace) -> int:
    from causerie.legal.service import iso

    await service._officer(args.officer, "audit.view")
    if args.verify:
        audit = await service.audit.verify()
        chain = await service.evidence.verify()
        print(f"audit log: {audit.entries} entries, head {audit.head}")
        print(f"evidence: {chain.records} records, head {chain.head}")
        for problem in [*audit.problems, *chain.problems]:
            print(f"PROBLEM: {problem}")
        return 0 if audit.ok and chain.ok else 1
    for entry in await service.audit.entries(args.limit, args.request):
        print(
            f"{entry.seq:>6}  {iso(entry.at)}  {entry.actor:<16}  {entry.action:<16}  "
            f"{entry.outcome:<8}  {entry.request_id or '-'}  {entry.detail}"
        )
    return 0


async def _keys_list(service: Any, args: argparse.Namespace) -> int:
    from causerie.legal.crypto import fingerprint, load_public_key, public_key_path
    from causerie.legal.service import iso

    usage = await service.key_usage(args.officer)
    for key in service.keyring.keys:
        current = "  (current)" if key is service.keyring.current else ""
        print(f"{key.id}  created {iso(key.created_at)}  {usage[key.id]} rows{current}")
    if service.signing_key_file is not None:
        public = public_key_path(service.signing_key_file)
        if public.exists():
            print(f"signing key {public}: {fingerprint(load_public_key(public))}")
        else:
            print("no signing key yet: `causerie legal keys signing`")
    return 0


async def _keys_reencrypt(service: Any, args: argparse.Namespace) -> int:
    report = await service.reencrypt(args.officer)
    print(
        f"re-sealed under {report.key_id}: {report.traffic} traffic, {report.evidence} evidence, "
        f"{report.requests} requests, {report.orders} orders; rows per key {report.by_key}"
    )
    return 0


async def _keys_retire(service: Any, args: argparse.Namespace) -> int:
    from causerie.legal.errors import KeyMaterialError

    usage = await service.key_usage(args.officer)
    if usage.get(args.key_id, 0):
        raise KeyMaterialError(
            f"{usage[args.key_id]} rows are still sealed under {args.key_id!r}: "
            "run `causerie legal keys reencrypt` first"
        )
    keyring = service.keyring.without(args.key_id)
    keyring.save(service.keyring.path)
    await service.stores.key_checks.remove(args.key_id)
    await service.audit.record(args.officer, "keys.retire", key_id=args.key_id)
    print(f"key {args.key_id} removed from {service.keyring.path}")
    return 0


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """Rotate the key file, or create the first one; an officer's act, audited either way."""
    from causerie.legal.crypto import Keyring
    from causerie.legal.database import resolve_paths
    from causerie.legal.errors import LegalError

    path = resolve_paths(settings).keys_file

    async def go() -> str:
        if path.exists():
            credentials = officer_credentials(args)
            async with open_service(settings, credentials=credentials) as service:
                keyring = await service.rotate_keys(args.officer)
            return (
                f"{path}: current key is now {keyring.current.id}; restart the nodes, then run "
                "`causerie legal keys reencrypt` to move older rows to it"
            )
        async with open_service(settings, keyring=Keyring.generate()) as service:
            await service.create_keys(args.officer, path)
            return f"{path}: created with key {service.keyring.current.id}; back it up"

    try:
        print(asyncio.run(go()))
    except LegalError as exc:
        print(f"causerie legal: {exc}", file=sys.stderr)
        return 1
    return 0


async def _keys_signing(service: Any, args: argparse.Namespace) -> int:
    public, key_fingerprint = await service.create_signing_key(args.officer)
    print(f"signing key {service.signing_key_file}; public key {public} ({key_fingerprint})")
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.legal.crypto import fingerprint, load_public_key
    from causerie.legal.errors import LegalError
    from causerie.legal.package import bundled_public_key, verify_package

    key_path: Path | None = args.public_key
    trusted = key_path is not None
    if key_path is None:
        key_path = bundled_public_key(args.package)
        if key_path is None:
            print("causerie legal: give the operator's public key (--public-key)", file=sys.stderr)
            return 1
    try:
        key = load_public_key(key_path)
    except LegalError as exc:
        print(f"causerie legal: {exc}", file=sys.stderr)
        return 1
    report = verify_package(args.package, key)
    for name in report.files:
        print(f"ok       {name}")
    for problem in report.problems:
        print(f"PROBLEM  {problem}")
    if not report.ok:
        print(f"{args.package}: NOT VALID")
        return 1
    print(f"{args.package}: valid, signed by {fingerprint(key)}")
    if not trusted:
        print(
            "warning: checked against the key shipped inside the package; compare this "
            "fingerprint with the operator's published one, or pass --public-key"
        )
    return 0


def _migrate_legal(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.legal.database import migrate, resolve_paths

    url = resolve_paths(settings).database_url
    migrate(url)
    print(f"retention database {url} is up to date")
    return 0


# -- parser -------------------------------------------------------------------------------------


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--authority", required=True, help="who sent it (court, police unit)")
    parser.add_argument("--reference", required=True, help="the authority's reference")
    parser.add_argument("--nickname", action="append", default=[], help="repeatable")
    parser.add_argument("--address", action="append", default=[], help="an IP address")
    parser.add_argument("--content", action="append", default=[], help="a content id (m123)")
    parser.add_argument("--from", dest="start", type=parse_time, help="UTC start (inclusive)")
    parser.add_argument("--to", dest="end", type=parse_time, help="UTC end (exclusive)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``causerie legal`` and make ``causerie migrate`` migrate the retention database too."""
    legal = sub.add_parser("legal", help="lawful retention: judicial requests, evidence, keys")
    legal.add_argument(
        "--officer",
        default=os.environ.get("LEGAL_OFFICER") or getpass.getuser(),
        help="the acting officer's staff account (default: $LEGAL_OFFICER, the login name)",
    )
    legal.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the officer's password from the first line of stdin "
        "(else $LEGAL_OFFICER_PASSWORD, else a prompt)",
    )
    legal.add_argument(
        "--session",
        help="an officer session from `causerie legal login` (else $LEGAL_OFFICER_SESSION)",
    )
    legal.add_argument(
        "--code", help="the officer's current TOTP code (else $LEGAL_OFFICER_CODE, a prompt)"
    )
    commands = legal.add_subparsers(dest="legal_command", required=True)

    commands.add_parser(
        "login", help="prove password and TOTP once: an officer session for 30 minutes"
    ).set_defaults(run=_login)
    commands.add_parser("logout", help="end the officer session").set_defaults(run=_logout)

    p = commands.add_parser("register", help="register a judicial request")
    _scope_arguments(p)
    p.add_argument("--basis", required=True, help="legal basis (e.g. art. 60-1 CPP)")
    p.add_argument("--deadline", type=parse_time, help="answer expected by (UTC)")
    p.set_defaults(run=_run(_register))

    commands.add_parser("requests", help="list judicial requests").set_defaults(run=_run(_requests))
    p = commands.add_parser("show", help="one request and its scope")
    p.add_argument("request", help="request id or reference")
    p.set_defaults(run=_run(_show))

    p = commands.add_parser("search", help="retained data within a registered request's scope")
    p.add_argument("request", help="request id or reference")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_run(_search))

    p = commands.add_parser("export", help="write a signed export package")
    p.add_argument("request", help="request id or reference")
    p.add_argument("path", type=Path, help="a new directory (never overwritten)")
    p.set_defaults(run=_run(_export))

    p = commands.add_parser("deliver", help="mark an exported request as delivered")
    p.add_argument("request", help="request id or reference")
    p.add_argument("--note", default="", help="how and to whom it was delivered")
    p.set_defaults(run=_run(_deliver))

    commands.add_parser(
        "referrals", help="referrals from moderation (DSA Art. 18) waiting for the officer"
    ).set_defaults(run=_run(_referrals))
    p = commands.add_parser("referral", help="write one referral as a signed package")
    p.add_argument("reference", help="referral-job<id>")
    p.add_argument("path", type=Path, help="a new directory (never overwritten)")
    p.set_defaults(run=_run(_referral))

    p = commands.add_parser("verify", help="check an export package's manifest and signature")
    p.add_argument("package", type=Path)
    p.add_argument("--public-key", type=Path, help="the operator's public key (PEM)")
    p.set_defaults(run=_verify)

    p = commands.add_parser("preserve", help="register a preservation order")
    _scope_arguments(p)
    p.set_defaults(run=_run(_preserve))

    commands.add_parser("orders", help="list preservation orders").set_defaults(run=_run(_orders))
    p = commands.add_parser("release", help="end a preservation order")
    p.add_argument("order")
    p.add_argument("--why", default="")
    p.set_defaults(run=_run(_release))

    commands.add_parser("purge", help="purge expired retained data now").set_defaults(
        run=_run(_purge)
    )

    p = commands.add_parser("audit", help="the audit log; --verify checks the hash chains")
    p.add_argument("--verify", action="store_true", help="verify the audit and evidence chains")
    p.add_argument("--request", help="only entries about this request id")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=_run(_audit))

    keys = commands.add_parser("keys", help="data keys and the signing key")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser("list", help="keys and how many rows each seals").set_defaults(
        run=_run(_keys_list)
    )
    key_commands.add_parser("rotate", help="add a new current data key").set_defaults(
        run=_keys_rotate
    )
    key_commands.add_parser(
        "reencrypt", help="re-seal every row under the current key"
    ).set_defaults(run=_run(_keys_reencrypt))
    p = key_commands.add_parser("retire", help="remove a key no row uses any more")
    p.add_argument("key_id")
    p.set_defaults(run=_run(_keys_retire))
    key_commands.add_parser("signing", help="create the Ed25519 signing key pair").set_defaults(
        run=_run(_keys_signing)
    )

    commands.add_parser("migrate", help="migrate the retention database").set_defaults(
        run=_migrate_legal
    )

    migrate = sub.choices.get("migrate")
    if migrate is not None:
        chat_migrate: Runner = migrate.get_default("run")

        def migrate_both(args: argparse.Namespace, settings: Settings) -> int:
            # The retention database has its own history: one `causerie migrate` runs both.
            return chat_migrate(args, settings) or _migrate_legal(args, settings)

        migrate.set_defaults(run=migrate_both)

    serve = sub.choices.get("serve")
    if serve is not None:
        chat_serve: Runner = serve.get_default("run")

        def serve_checked(args: argparse.Namespace, settings: Settings) -> int:
            # The retention store's key checks before the server starts: a key file that is
            # misplaced, readable by others or not the one that wrote the data stops start-up
            # with one line, not a traceback from inside the ASGI lifespan.
            from causerie.legal.errors import LegalError
            from causerie.legal.runtime import preflight

            try:
                asyncio.run(preflight(settings))
            except LegalError as exc:
                print(f"causerie: retention store: {exc}", file=sys.stderr)
                return 1
            return chat_serve(args, settings)

        serve.set_defaults(run=serve_checked)
