"""The legal officer's service: judicial requests, preservation orders, purge and keys.

This is the only way to retained data. Searching takes the id (or the authority's reference) of
a registered request and nothing else: the scope comes from the request as it was registered, so
no caller can widen it, and a search without a registered request has nothing to search with.
Every call, allowed or refused, is written to the audit log with who asked.

The command line (``causerie legal ...``) and, later, the moderation console call this service.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from causerie.legal.audit import AuditLog
from causerie.legal.codec import RetentionCodec, TrafficRecord
from causerie.legal.crypto import (
    KEY_CHECK_PLAINTEXT,
    Keyring,
    fingerprint,
    generate_signing_key,
    load_public_key,
    load_signing_key,
)
from causerie.legal.errors import (
    DuplicateReference,
    KeyMaterialError,
    LegalError,
    NotAnOfficer,
    OrderNotFound,
    RequestClosed,
    RequestNotFound,
    ScopeError,
)
from causerie.legal.evidence import EvidenceItem, EvidenceLocker, EvidenceReceipt, _traffic_of
from causerie.legal.officers import ConfiguredOfficers, OfficerAuthenticator
from causerie.legal.package import write_package
from causerie.legal.scope import DAY, Scope
from causerie.legal.store import DuplicateRow, OrderRow, RequestRow, RetentionStores
from causerie.settings import Settings
from causerie.store.messages import MessageStore

SYSTEM = "system"
_CSV_COLUMNS = (
    "kind",
    "at_utc",
    "at",
    "ip",
    "port",
    "protocol",
    "user_agent",
    "nickname",
    "session_id",
    "content_id",
)


PARIS = ZoneInfo("Europe/Paris")


def paris(at: float) -> str:
    """A time in Europe/Paris, with its offset (what a French court reads)."""
    return datetime.fromtimestamp(at, UTC).astimezone(PARIS).isoformat(timespec="seconds")


def iso(at: float | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class JudicialRequest:
    id: str
    authority: str
    reference: str
    legal_basis: str
    deadline: float | None
    registered_at: float
    registered_by: str
    status: str
    scope: Scope | None
    exported_at: float | None
    delivered_at: float | None
    delivery_note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authority": self.authority,
            "reference": self.reference,
            "legal_basis": self.legal_basis,
            "deadline": iso(self.deadline),
            "registered_at": iso(self.registered_at),
            "registered_by": self.registered_by,
            "status": self.status,
            "scope": _scope_view(self.scope),
            "exported_at": iso(self.exported_at),
            "delivered_at": iso(self.delivered_at),
            "delivery_note": self.delivery_note,
        }


def _scope_view(scope: Scope | None) -> dict[str, Any] | None:
    if scope is None:
        return None
    view = scope.to_dict()
    view["start"] = iso(scope.start)
    view["end"] = iso(scope.end)
    return view


@dataclass(frozen=True, slots=True)
class PreservationOrder:
    id: str
    authority: str
    reference: str
    created_at: float
    created_by: str
    scope: Scope | None
    released_at: float | None
    released_by: str | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    request: JudicialRequest
    records: list[TrafficRecord]
    evidence: list[EvidenceItem]


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    manifest_sha256: str
    records: int
    evidence: int


@dataclass(slots=True)
class PurgeReport:
    traffic: int = 0
    request_scopes: int = 0
    order_scopes: int = 0
    preserved: int = 0
    held_orders: int = 0


@dataclass(slots=True)
class ReencryptReport:
    key_id: str
    traffic: int = 0
    evidence: int = 0
    requests: int = 0
    orders: int = 0
    by_key: dict[str, int] = field(default_factory=dict)


def _request_purpose(request_id: str) -> str:
    return f"request|{request_id}"


def _order_purpose(order_id: str) -> str:
    return f"order|{order_id}"


class LegalService:
    def __init__(
        self,
        settings: Settings,
        stores: RetentionStores,
        keyring: Keyring,
        *,
        messages: MessageStore | None = None,
        signing_key_file: Path | None = None,
        officers: OfficerAuthenticator | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.legal = settings.legal
        self.stores = stores
        self.codec = RetentionCodec(keyring)
        self.clock = clock
        self.signing_key_file = signing_key_file
        # The settings' list until the console's staff accounts (issue #9) implement the seam.
        self.officers: OfficerAuthenticator = officers or ConfiguredOfficers(self.legal.officers)
        self.audit = AuditLog(stores.audit, keyring.chain_key, clock)
        self.evidence = EvidenceLocker(
            stores,
            self.codec,
            messages,
            context_messages=self.legal.context_messages,
            clock=clock,
        )

    @property
    def keyring(self) -> Keyring:
        return self.codec.keyring

    # -- who may act -------------------------------------------------------------------------

    async def _officer(self, officer: str, action: str, request_id: str | None = None) -> None:
        if await self.officers.authenticate(officer, action):
            return
        await self.audit.record(
            officer or "(anonymous)",
            action,
            "denied",
            request_id=request_id,
            why="not a legal officer",
        )
        if isinstance(self.officers, ConfiguredOfficers) and not self.officers:
            raise NotAnOfficer(
                "no legal officer is configured (legal.officers in the settings): "
                "nobody can reach retained data"
            )
        raise NotAnOfficer(f"{officer!r} is not a legal officer ({self.officers.describe()})")

    async def _checked_scope(
        self,
        officer: str,
        action: str,
        check_fields: Callable[[], None],
        *,
        nicknames: list[str] | tuple[str, ...],
        addresses: list[str] | tuple[str, ...],
        content_ids: list[str] | tuple[str, ...],
        start: float | None,
        end: float | None,
    ) -> Scope:
        """Validate a request's or an order's fields and scope; an audited refusal otherwise."""
        try:
            check_fields()
            return Scope.build(
                nicknames=nicknames,
                addresses=addresses,
                content_ids=content_ids,
                start=start,
                end=end,
                max_days=self.legal.max_scope_days,
            )
        except ScopeError as exc:
            await self.audit.record(officer, action, "refused", why=str(exc))
            raise

    # -- judicial requests -------------------------------------------------------------------

    async def register_request(
        self,
        officer: str,
        *,
        authority: str,
        reference: str,
        legal_basis: str,
        deadline: float | None,
        nicknames: list[str] | tuple[str, ...] = (),
        addresses: list[str] | tuple[str, ...] = (),
        content_ids: list[str] | tuple[str, ...] = (),
        start: float | None = None,
        end: float | None = None,
    ) -> JudicialRequest:
        """Record a judicial request and its scope; nothing is searched yet."""
        await self._officer(officer, "request.register")

        def check_fields() -> None:
            for name, value, limit in (
                ("authority", authority, 200),
                ("reference", reference, 200),
                ("legal basis", legal_basis, 400),
            ):
                if not value.strip() or len(value) > limit:
                    raise ScopeError(f"a request needs a {name} of 1 to {limit} characters")

        scope = await self._checked_scope(
            officer,
            "request.register",
            check_fields,
            nicknames=nicknames,
            addresses=addresses,
            content_ids=content_ids,
            start=start,
            end=end,
        )
        request_id = f"jr-{secrets.token_hex(6)}"
        key_id, sealed = self.codec.seal_document(scope.to_dict(), _request_purpose(request_id))
        row = RequestRow(
            id=request_id,
            authority=authority.strip(),
            reference=reference.strip(),
            legal_basis=legal_basis.strip(),
            deadline=deadline,
            registered_at=self.clock(),
            registered_by=officer,
            status="registered",
            key_id=key_id,
            sealed_scope=sealed,
            exported_at=None,
            delivered_at=None,
            delivery_note="",
        )
        try:
            await self.stores.requests.add(row)
        except DuplicateRow:
            await self.audit.record(officer, "request.register", "refused", why="duplicate")
            raise DuplicateReference(
                f"a request with reference {reference.strip()!r} is registered already"
            ) from None
        await self.audit.record(
            officer,
            "request.register",
            request_id=request_id,
            reference=row.reference,
            authority=row.authority,
            selectors=len(scope.nicknames) + len(scope.addresses) + len(scope.content_ids),
        )
        return self._request(row)

    def _open_scope(self, key_id: str | None, sealed: bytes | None, purpose: str) -> Scope | None:
        if sealed is None or key_id is None:
            return None
        return Scope.from_dict(self.codec.open_document(key_id, sealed, purpose))

    def _request(self, row: RequestRow) -> JudicialRequest:
        scope = self._open_scope(row.key_id, row.sealed_scope, _request_purpose(row.id))
        return JudicialRequest(
            id=row.id,
            authority=row.authority,
            reference=row.reference,
            legal_basis=row.legal_basis,
            deadline=row.deadline,
            registered_at=row.registered_at,
            registered_by=row.registered_by,
            status=row.status,
            scope=scope,
            exported_at=row.exported_at,
            delivered_at=row.delivered_at,
            delivery_note=row.delivery_note,
        )

    async def _registered(self, officer: str, action: str, request: str) -> JudicialRequest:
        """The open request ``request`` names (id or reference), or an audited refusal."""
        row = await self.stores.requests.get(request) if request else None
        if row is None:
            await self.audit.record(
                officer, action, "denied", request_id=request, why="no such registered request"
            )
            raise RequestNotFound(
                f"no judicial request is registered under {request!r}: retained data can only "
                "be reached through a registered request (`causerie legal register`)"
            )
        if row.status == "delivered":
            await self.audit.record(
                officer, action, "denied", request_id=row.id, why="request already delivered"
            )
            raise RequestClosed(
                f"request {row.id} ({row.reference}) was delivered on {iso(row.delivered_at)}; "
                "register a new request for further data"
            )
        return self._request(row)

    async def get_request(self, officer: str, request: str) -> JudicialRequest:
        await self._officer(officer, "request.view", request)
        row = await self.stores.requests.get(request)
        if row is None:
            await self.audit.record(officer, "request.view", "denied", request_id=request)
            raise RequestNotFound(f"no judicial request is registered under {request!r}")
        return self._request(row)

    async def list_requests(self, officer: str) -> list[JudicialRequest]:
        await self._officer(officer, "request.list")
        return [self._request(row) for row in await self.stores.requests.all()]

    async def _collect(self, request: JudicialRequest) -> SearchResult:
        scope = request.scope
        if scope is None:
            raise RequestClosed(f"request {request.id}'s scope was erased")
        rows = await self.stores.traffic.find(self.codec.query(scope))
        records = []
        for row in rows:
            record = self.codec.open_traffic(row)
            # The blind indexes narrowed the rows; the decrypted values decide.
            if scope.covers(
                nickname=record.nickname,
                address=record.ip,
                content_id=record.content_id,
                at=record.at,
            ):
                records.append(record)
        evidence = await self.evidence.for_scope(scope)
        return SearchResult(request=request, records=records, evidence=evidence)

    async def search(self, officer: str, request: str) -> SearchResult:
        """The retained data within a registered request's scope, and nothing else."""
        await self._officer(officer, "search", request)
        registered = await self._registered(officer, "search", request)
        try:
            result = await self._collect(registered)
        except LegalError as exc:
            await self.audit.record(
                officer, "search", "failed", request_id=registered.id, why=str(exc)[:200]
            )
            raise
        await self.audit.record(
            officer,
            "search",
            request_id=registered.id,
            records=len(result.records),
            evidence=len(result.evidence),
        )
        return result

    async def export(self, officer: str, request: str, target: Path) -> ExportResult:
        """Write the request's data as a signed package into ``target`` (a new directory)."""
        await self._officer(officer, "export", request)
        registered = await self._registered(officer, "export", request)
        try:
            if await asyncio.to_thread(target.exists):
                raise LegalError(
                    f"cannot export to {target}: it exists already; choose a new path "
                    "(an export never overwrites anything)"
                )
            if self.signing_key_file is None:
                raise KeyMaterialError("no signing key is configured (legal.signing_key_file)")
            key = await asyncio.to_thread(load_signing_key, self.signing_key_file)
            result = await self._collect(registered)
            now = self.clock()
            files = _package_files(result, now)
            manifest_sha = await asyncio.to_thread(
                write_package,
                target,
                files,
                {
                    "request": {
                        "id": registered.id,
                        "reference": registered.reference,
                        "authority": registered.authority,
                    },
                    "generated_at": iso(now),
                    "generated_by": officer,
                },
                key,
            )
        except LegalError as exc:
            await self.audit.record(
                officer, "export", "failed", request_id=registered.id, why=str(exc)[:300]
            )
            raise
        await self.stores.requests.update(registered.id, status="exported", exported_at=now)
        await self.audit.record(
            officer,
            "export",
            request_id=registered.id,
            records=len(result.records),
            evidence=len(result.evidence),
            manifest_sha256=manifest_sha,
        )
        return ExportResult(target, manifest_sha, len(result.records), len(result.evidence))

    # -- referrals from moderation (DSA Art. 18) ---------------------------------------------

    async def refer(
        self,
        *,
        reference: str,
        referred_by: str,
        package: dict[str, Any],
        content_id: str,
        session_id: str,
        author: str,
    ) -> EvidenceReceipt:
        """A moderator's referral: ``package`` (content, times, reasons) sealed in the evidence
        locker with its locating data, the retained traffic records of the content and of the
        author's session (address, port, times in UTC and Europe/Paris). Only a legal officer
        reads it (:meth:`referrals`, :meth:`export_referral`); its arrival is audited."""
        locating = [
            {**record, "at_utc": iso(record["at"]), "at_paris": paris(record["at"])}
            for record in await _traffic_of(
                self.stores.traffic, self.codec, content_id, session_id=session_id
            )
        ]
        receipt = await self.evidence.preserve_referral(
            reference=reference,
            subject=content_id or reference,
            author=author,
            content={**package, "locating_data": locating},
        )
        await self.audit.record(
            referred_by,
            "referral.received",
            reference=reference,
            subject=receipt.subject,
            locating_records=len(locating),
            evidence_seq=receipt.seq,
        )
        return receipt

    async def referrals(self, officer: str) -> list[EvidenceItem]:
        """The referral packages held, for a legal officer only; audited."""
        await self._officer(officer, "referrals.list")
        items = await self.evidence.referrals()
        await self.audit.record(officer, "referrals.list", count=len(items))
        return items

    async def export_referral(self, officer: str, reference: str, target: Path) -> str:
        """One referral as a signed package (``referral.json``) for the authority; audited.
        Returns the manifest's SHA-256."""
        await self._officer(officer, "referral.export")
        items = [i for i in await self.evidence.referrals() if i.reference == reference]
        try:
            if not items:
                raise LegalError(f"there is no referral {reference!r} (see `legal referrals`)")
            if self.signing_key_file is None:
                raise KeyMaterialError("no signing key is configured (legal.signing_key_file)")
            key = await asyncio.to_thread(load_signing_key, self.signing_key_file)
            now = self.clock()
            body = [
                {"seq": i.seq, "preserved_at": iso(i.created_at), "hash": i.hash, **i.content}
                for i in items
            ]
            data = json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True).encode()
            manifest_sha = await asyncio.to_thread(
                write_package,
                target,
                {"referral.json": data + b"\n"},
                {"referral": reference, "generated_at": iso(now), "generated_by": officer},
                key,
            )
        except LegalError as exc:
            await self.audit.record(
                officer, "referral.export", "failed", reference=reference, why=str(exc)[:300]
            )
            raise
        await self.audit.record(
            officer, "referral.export", reference=reference, manifest_sha256=manifest_sha
        )
        return manifest_sha

    async def deliver(self, officer: str, request: str, note: str = "") -> JudicialRequest:
        """Mark an exported request as delivered to its authority; it is then closed."""
        await self._officer(officer, "deliver", request)
        registered = await self._registered(officer, "deliver", request)
        if registered.status != "exported":
            await self.audit.record(
                officer, "deliver", "refused", request_id=registered.id, why="not exported"
            )
            raise LegalError(f"request {registered.id} has not been exported yet")
        now = self.clock()
        await self.stores.requests.update(
            registered.id, status="delivered", delivered_at=now, delivery_note=note[:400]
        )
        await self.audit.record(officer, "deliver", request_id=registered.id, note=note[:400])
        row = await self.stores.requests.get(registered.id)
        assert row is not None
        return self._request(row)

    # -- preservation orders -------------------------------------------------------------------

    async def preserve(
        self,
        officer: str,
        *,
        authority: str,
        reference: str,
        nicknames: list[str] | tuple[str, ...] = (),
        addresses: list[str] | tuple[str, ...] = (),
        content_ids: list[str] | tuple[str, ...] = (),
        start: float | None = None,
        end: float | None = None,
    ) -> tuple[PreservationOrder, int]:
        """Freeze the data in a scope beyond the purge; copy its chat messages into evidence.

        Returns the order and how many messages were preserved at once; messages created later
        within the scope are copied by the periodic sweep until the order is released.
        """
        await self._officer(officer, "preserve")

        def check_fields() -> None:
            if not authority.strip() or not reference.strip():
                raise ScopeError("a preservation order needs an authority and a reference")

        scope = await self._checked_scope(
            officer,
            "preserve",
            check_fields,
            nicknames=nicknames,
            addresses=addresses,
            content_ids=content_ids,
            start=start,
            end=end,
        )
        order_id = f"po-{secrets.token_hex(6)}"
        key_id, sealed = self.codec.seal_document(scope.to_dict(), _order_purpose(order_id))
        row = OrderRow(
            id=order_id,
            authority=authority.strip()[:200],
            reference=reference.strip()[:200],
            created_at=self.clock(),
            created_by=officer,
            key_id=key_id,
            sealed_scope=sealed,
            released_at=None,
            released_by=None,
        )
        await self.stores.orders.add(row)
        order = self._order(row)
        preserved = await self._sweep_order(order)
        await self.audit.record(
            officer,
            "preserve",
            request_id=order_id,
            reference=row.reference,
            authority=row.authority,
            preserved=preserved,
        )
        return order, preserved

    def _order(self, row: OrderRow) -> PreservationOrder:
        scope = self._open_scope(row.key_id, row.sealed_scope, _order_purpose(row.id))
        return PreservationOrder(
            id=row.id,
            authority=row.authority,
            reference=row.reference,
            created_at=row.created_at,
            created_by=row.created_by,
            scope=scope,
            released_at=row.released_at,
            released_by=row.released_by,
        )

    async def orders(self, officer: str) -> list[PreservationOrder]:
        await self._officer(officer, "order.list")
        return [self._order(row) for row in await self.stores.orders.all()]

    async def release(self, officer: str, order_id: str, why: str = "") -> int:
        """End a preservation order: its data falls back under the normal purge, its evidence
        is erased. Returns how many evidence records were released."""
        await self._officer(officer, "release", order_id)
        row = await self.stores.orders.get(order_id)
        if row is None or row.released_at is not None:
            await self.audit.record(
                officer, "release", "denied", request_id=order_id, why="no active order"
            )
            raise OrderNotFound(f"no active preservation order {order_id!r}")
        await self.stores.orders.release(order_id, officer, self.clock())
        released = await self.evidence.release(order_id, why=why or "order released")
        await self.audit.record(officer, "release", request_id=order_id, evidence=released)
        return released

    async def _sweep_order(self, order: PreservationOrder) -> int:
        """Copy the chat messages an order covers, still visible and not yet kept, to evidence."""
        if order.scope is None or self.evidence.messages is None:
            return 0
        visible_from = self.clock() - self.settings.chat.visible_hours * 3600
        scope = order.scope
        window = Scope(
            nicknames=scope.nicknames,
            addresses=scope.addresses,
            content_ids=scope.content_ids,
            start=max(scope.start, visible_from) if scope.start is not None else visible_from,
            end=scope.end,
        )
        if window.end is not None and window.start is not None and window.end <= window.start:
            return 0
        kept = await self.stores.evidence.subjects_for(order.id)
        preserved = 0
        for row in await self.stores.traffic.find(self.codec.query(window)):
            if row.kind != "content":
                continue
            record = self.codec.open_traffic(row)
            if record.content_id in kept or not record.content_id.startswith("m"):
                continue
            if not window.covers(
                nickname=record.nickname,
                address=record.ip,
                content_id=record.content_id,
                at=record.at,
            ):
                continue
            try:
                await self.evidence.preserve_message(
                    int(record.content_id[1:]), "preservation_order", reference=order.id
                )
            except LegalError:
                continue  # already purged from the chat store
            kept.add(record.content_id)
            preserved += 1
        return preserved

    # -- housekeeping ----------------------------------------------------------------------------

    async def purge(self) -> PurgeReport:
        """Delete what is past the retention period, except what a preservation order holds;
        copy newly created messages under preservation orders into evidence."""
        now = self.clock()
        cutoff = now - self.legal.retention_days * DAY
        report = PurgeReport()
        holds = []
        for row in await self.stores.orders.active():
            order = self._order(row)
            if order.scope is None:
                continue
            holds.append(self.codec.query(order.scope))
            report.preserved += await self._sweep_order(order)
        report.held_orders = len(holds)
        report.traffic = await self.stores.traffic.purge(cutoff, holds)
        report.request_scopes = await self.stores.requests.erase_scopes_delivered_before(cutoff)
        report.order_scopes = await self.stores.orders.erase_scopes_released_before(cutoff)
        if report.traffic or report.request_scopes or report.order_scopes or report.preserved:
            await self.audit.record(
                SYSTEM,
                "purge",
                traffic=report.traffic,
                request_scopes=report.request_scopes,
                order_scopes=report.order_scopes,
                preserved=report.preserved,
                held_orders=report.held_orders,
                cutoff=iso(cutoff),
            )
        return report

    # -- keys --------------------------------------------------------------------------------

    async def check_keys(self) -> None:
        """Refuse to run with a key file that is not the one the data was written with."""
        checks = await self.stores.key_checks.all()
        for key in self.keyring.keys:
            if key.id in checks:
                key.open(checks[key.id], b"key-check")
            else:
                await self.stores.key_checks.add(
                    key.id, key.seal(KEY_CHECK_PLAINTEXT, b"key-check"), self.clock()
                )
        known = {k.id for k in self.keyring.keys}
        missing = sorted(set(await self.stores.key_checks.usage()) - known)
        if missing:
            raise KeyMaterialError(
                f"retained data is sealed under key(s) {missing} that the key file "
                f"{self.keyring.path} does not hold; restore them before starting"
            )

    async def rotate_keys(self, officer: str) -> Keyring:
        """Add a data key to the key file (the new current one), as ``officer``; audited.

        Refused with a key file that does not match the data: rotating it would add a key to
        the wrong ring. The running nodes keep sealing with their old key until restarted.
        """
        await self._officer(officer, "keys.rotate")
        await self.check_keys()
        path = self.keyring.path
        if path is None:
            raise KeyMaterialError("this keyring has no file to rotate")
        rotated = self.keyring.rotated()
        rotated.save(path)
        await self.audit.record(
            officer, "keys.rotate", key_id=rotated.current.id, keys=len(rotated.keys)
        )
        return rotated

    async def create_keys(self, officer: str, path: Path) -> None:
        """Write this service's (new) keyring to ``path`` as the first key file; audited.

        Refused while the retention database holds data sealed under keys: a new key file
        could not read it, and the one that can must be restored instead.
        """
        if not await self.officers.authenticate(officer, "keys.create"):
            # No audit entry: without a key file there is no chain key to write one with.
            raise NotAnOfficer(f"{officer!r} is not a legal officer ({self.officers.describe()})")
        used = sorted(await self.stores.key_checks.usage())
        checked = sorted(await self.stores.key_checks.all())
        if used or checked:
            raise KeyMaterialError(
                f"retention key file {path} not found, and the retention database holds data "
                f"sealed under key(s) {sorted({*used, *checked})}: restore the key file that "
                "wrote it; a new one could not read it"
            )
        self.keyring.save(path)
        await self.check_keys()
        await self.audit.record(officer, "keys.create", key_id=self.keyring.current.id)

    async def create_signing_key(self, officer: str) -> tuple[Path, str]:
        """Create the Ed25519 signing key pair as ``officer``; the public key and fingerprint."""
        await self._officer(officer, "keys.signing")
        if self.signing_key_file is None:
            raise KeyMaterialError("no signing key file is configured (legal.signing_key_file)")
        try:
            public = generate_signing_key(self.signing_key_file)
        except KeyMaterialError as exc:
            await self.audit.record(officer, "keys.signing", "refused", why=str(exc)[:200])
            raise
        key_fingerprint = fingerprint(load_public_key(public))
        await self.audit.record(officer, "keys.signing", fingerprint=key_fingerprint)
        return public, key_fingerprint

    async def key_usage(self, officer: str) -> dict[str, int]:
        await self._officer(officer, "keys.list")
        usage = await self.stores.key_checks.usage()
        return {key.id: usage.get(key.id, 0) for key in self.keyring.keys}

    async def reencrypt(self, officer: str) -> ReencryptReport:
        """Seal every row under the current key (after a rotation), in batches."""
        await self._officer(officer, "keys.reencrypt")
        await self.check_keys()
        current = self.keyring.current
        report = ReencryptReport(key_id=current.id)
        after = 0
        while rows := await self.stores.traffic.not_under(current.id, after, 500):
            resealed = [
                replace(self.codec.seal_traffic(self.codec.open_traffic(row)), id=row.id)
                for row in rows
            ]
            await self.stores.traffic.replace_sealed(resealed)
            after = max(row.id or 0 for row in rows)
            report.traffic += len(rows)
        after = 0
        while held := await self.stores.evidence.not_under(current.id, after, 200):
            for row in held:
                key_id, author_idx, sealed = self.evidence.reseal(row)
                await self.stores.evidence.replace_sealed(row.seq, key_id, author_idx, sealed)
            after = held[-1].seq
            report.evidence += len(held)
        for req in await self.stores.requests.all():
            if req.key_id not in (None, current.id) and req.sealed_scope is not None:
                document = self.codec.open_document(
                    req.key_id, req.sealed_scope, _request_purpose(req.id)
                )
                key_id, sealed = self.codec.seal_document(document, _request_purpose(req.id))
                await self.stores.requests.replace_sealed(req.id, key_id, sealed)
                report.requests += 1
        for order in await self.stores.orders.all():
            if order.key_id not in (None, current.id) and order.sealed_scope is not None:
                document = self.codec.open_document(
                    order.key_id, order.sealed_scope, _order_purpose(order.id)
                )
                key_id, sealed = self.codec.seal_document(document, _order_purpose(order.id))
                await self.stores.orders.replace_sealed(order.id, key_id, sealed)
                report.orders += 1
        report.by_key = await self.stores.key_checks.usage()
        await self.audit.record(
            officer,
            "keys.reencrypt",
            key_id=current.id,
            traffic=report.traffic,
            evidence=report.evidence,
            requests=report.requests,
            orders=report.orders,
        )
        return report


# A spreadsheet reads a cell starting with one of these as a formula (``=HYPERLINK(...)`` in a
# User-Agent would run in the authority's spreadsheet); a leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet evaluates (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _package_files(result: SearchResult, now: float) -> dict[str, bytes]:
    records = [{**r.as_dict(), "at_utc": iso(r.at)} for r in result.records]
    for record in records:
        record.pop("id", None)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: csv_cell(record.get(name, "")) for name in _CSV_COLUMNS})
    evidence = [
        {
            "seq": item.seq,
            "preserved_at": iso(item.created_at),
            "reason": item.reason,
            "reference": item.reference,
            "subject": item.subject,
            "hash": item.hash,
            "content": item.content,
        }
        for item in result.evidence
    ]

    def dump(value: Any) -> bytes:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode() + b"\n"

    return {
        "request.json": dump({**result.request.as_dict(), "exported_at": iso(now)}),
        "traffic.json": dump(records),
        "traffic.csv": text.getvalue().encode(),
        "evidence.json": dump(evidence),
    }
