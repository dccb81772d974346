"""Between clear records and sealed rows: what is encrypted, what is indexed, and how."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import msgspec

from causerie.legal.crypto import Keyring
from causerie.legal.errors import ScopeError
from causerie.legal.scope import Scope, normalise_address
from causerie.legal.store import IndexQuery, KeyIndexes, SealedTraffic
from causerie.protocol.identity import nickname_spelling

TrafficKind = Literal["open", "close", "content"]


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One retained fact, in clear: who (nickname, session) did what (kind) from where, when."""

    kind: str
    at: float
    session_id: str
    nickname: str
    ip: str
    port: int
    user_agent: str
    protocol: str
    content_id: str = ""
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = ("session_id", "nickname", "ip", "port", "user_agent", "protocol", "content_id")


def _traffic_aad(kind: str, at: float) -> bytes:
    # Binds the sealed payload to the row's clear columns: a payload moved to another row, or a
    # row whose time was edited to dodge the purge, no longer opens.
    return f"traffic|{kind}|{at!r}".encode()


class RetentionCodec:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    # -- traffic -------------------------------------------------------------------------------

    def seal_traffic(self, record: TrafficRecord) -> SealedTraffic:
        key = self.keyring.current
        payload = msgspec.json.encode({name: getattr(record, name) for name in _FIELDS})
        address = _address_or_empty(record.ip)
        return SealedTraffic(
            kind=record.kind,
            at=record.at,
            key_id=key.id,
            nickname_idx=key.index(nickname_spelling(record.nickname)) if record.nickname else None,
            address_idx=key.index(address) if address else None,
            content_idx=key.index(record.content_id) if record.content_id else None,
            session_idx=key.index(record.session_id) if record.session_id else None,
            sealed=key.seal(payload, _traffic_aad(record.kind, record.at)),
        )

    def open_traffic(self, row: SealedTraffic) -> TrafficRecord:
        payload = self.keyring.open(row.key_id, row.sealed, _traffic_aad(row.kind, row.at))
        fields = msgspec.json.decode(payload)
        return TrafficRecord(kind=row.kind, at=row.at, id=row.id, **fields)

    # -- scopes --------------------------------------------------------------------------------

    def query(self, scope: Scope, *, sessions: tuple[str, ...] = ()) -> IndexQuery:
        by_key = {
            key.id: KeyIndexes(
                nicknames=tuple(key.index(n) for n in scope.nicknames),
                addresses=tuple(key.index(a) for a in scope.addresses),
                content_ids=tuple(key.index(c) for c in scope.content_ids),
                sessions=tuple(key.index(s) for s in sessions),
            )
            for key in self.keyring.keys
        }
        return IndexQuery(by_key=by_key, start=scope.start, end=scope.end)

    def nickname_indexes(self, nicknames: tuple[str, ...]) -> dict[str, list[str]]:
        return {key.id: [key.index(n) for n in nicknames] for key in self.keyring.keys}

    # -- small documents (scopes, evidence) ----------------------------------------------------

    def seal_document(self, document: Any, purpose: str) -> tuple[str, bytes]:
        return self.keyring.seal(msgspec.json.encode(document), purpose.encode())

    def open_document(self, key_id: str, sealed: bytes, purpose: str) -> Any:
        return msgspec.json.decode(self.keyring.open(key_id, sealed, purpose.encode()))


def _address_or_empty(ip: str) -> str:
    if not ip:
        return ""
    try:
        return normalise_address(ip)
    except ScopeError:
        return ip
