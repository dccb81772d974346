"""Bans at the door: a ban holds the nickname key, the device token and, when a moderator
chooses it, the address; entry (and resume) refuse all three, with the ban's end and how to
appeal, in plain English and French.

The device and address are the minors fence's keyed hashes (``MinorsFence.memory_keys``): the
database never holds a device token or an address in clear. An address is shared by a family, a
school, a mobile carrier's CGNAT: it is banned only when a moderator ticks it, and for at most
:data:`ADDRESS_BAN_MAX_MINUTES`.
"""

from __future__ import annotations

import datetime
import math
from zoneinfo import ZoneInfo

from causerie.errors import ChatError, ErrorCode
from causerie.store.database import Write
from causerie.store.safety import ENTRY_KEYS_SECONDS, EntryKeys, SafetyStore, SanctionRow
from causerie.store.statements import StatementStore

ADDRESS_BAN_MAX_MINUTES = 24 * 60
PARIS = ZoneInfo("Europe/Paris")
_BAN_DECISIONS = ("banned", "suspended")


def _when(at: float) -> tuple[str, str]:
    utc = datetime.datetime.fromtimestamp(at, datetime.UTC)
    paris = utc.astimezone(PARIS)
    return utc.strftime("%Y-%m-%d %H:%M UTC"), paris.strftime("%d/%m/%Y %H:%M (heure de Paris)")


def refusal_words(until: float, statement_id: str | None, appeal_until: float | None) -> str:
    """The sentence a banned chatter reads at the door: until when, and how to appeal."""
    if math.isinf(until):
        en, fr = "You are banned from this site.", "Vous êtes exclu·e de ce site."
    else:
        utc, paris = _when(until)
        en = f"You are banned from this site until {utc}."
        fr = f"Vous êtes exclu·e de ce site jusqu'au {paris}."
    if statement_id is not None and appeal_until is not None:
        day_utc, day_paris = _when(appeal_until)
        en += (
            f" A moderator decided it (decision {statement_id}); you can appeal it until "
            f"{day_utc[:10]} by quoting this number to the site's team."
        )
        fr += (
            f" Une personne de la modération l'a décidé (décision {statement_id}) ; vous pouvez "
            f"faire appel jusqu'au {day_paris[:10]} en citant ce numéro à l'équipe du site."
        )
    return f"{en} / {fr}"


class EntryBans:
    """What entry asks: is this nickname, device or address banned; and remember the keys."""

    def __init__(self, store: SafetyStore, statements: StatementStore) -> None:
        self.store = store
        self.statements = statements

    async def check(
        self, nickname_key: str, device_key: str | None, address_key: str | None, now: float
    ) -> None:
        """Raise ``banned`` when a ban in force holds any of the three."""
        ban = await self.store.entry_ban(nickname_key, device_key, address_key, now)
        if ban is None:
            return
        held_by = (
            "nickname"
            if ban.author_key == nickname_key
            else "device"
            if device_key is not None and ban.device_key == device_key
            else "address"
        )
        until = ban.ends_at if held_by != "address" else (ban.address_ends_at or now)
        statement = None
        for candidate in await self.statements.for_subject(ban.author_key, limit=20):
            if candidate.decision in _BAN_DECISIONS:
                statement = candidate
                break
        raise ChatError(
            ErrorCode.BANNED,
            refusal_words(
                until,
                statement.id if statement is not None else None,
                statement.appeal_until if statement is not None else None,
            ),
            field=held_by,
        )

    def entry_write(
        self,
        session_id: str,
        nickname_key: str,
        device_key: str | None,
        address_key: str | None,
        now: float,
    ) -> Write:
        """The keys a session enters with, kept for the bans that may follow: a write for the
        entry's own transaction (``PresenceStore.add_session``)."""
        return self.store.entry_keys_write(
            EntryKeys(session_id, nickname_key, device_key, address_key, now),
            keep_seconds=ENTRY_KEYS_SECONDS,
        )

    async def purge(self, now: float) -> int:
        return await self.store.purge_entry_keys(now)


def with_keys(
    sanction: SanctionRow, keys: EntryKeys | None, *, address_minutes: float | None
) -> SanctionRow:
    """The ban with the device (always) and the address (only when chosen) it reaches."""
    if keys is None:
        return sanction
    address_until = None
    address_key = None
    if address_minutes is not None and keys.address_key is not None:
        span = min(address_minutes, ADDRESS_BAN_MAX_MINUTES) * 60
        address_until = min(sanction.starts_at + span, sanction.ends_at)
        address_key = keys.address_key
    return SanctionRow(
        sanction.author_key,
        sanction.kind,
        sanction.starts_at,
        sanction.ends_at,
        sanction.reason,
        device_key=keys.device_key,
        address_key=address_key,
        address_ends_at=address_until,
    )
