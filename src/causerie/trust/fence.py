"""The minors fence: the protection of minors as one service the chat service calls on every path.

The chat service (:mod:`causerie.chat.service`) asks the fence before the safety pipeline, for
every entry, join, people list, room message, private message and typing notice; there is no
setting that turns it off and no path around it. The fence reads the pure rules of
:mod:`causerie.trust.policy`, keeps each conversation's risk score and records incidents and
escalations through :class:`causerie.store.trust.TrustStore`.

What it keeps in memory is node-local and per session (the chatter's connection lives on one
node): whether the session proved its age, and the hashed keys of its device and address.
Everything another node needs (a chatter's band, a frozen conversation) is in the database.

Conversation states are read on every message that involves a minor (every room message in an
all-ages room), and almost none has a row: they are kept in a per-node cache
(:class:`ConversationCache`), the absence of a row included. Whatever this fence records about a
conversation (a score, a freeze, an escalation) drops the entry here and is announced to every
node before the attempt's refusal returns (``announce``: a ``conversation_changed`` envelope on
the bus, which each node's hub hands to :meth:`MinorsFence.forget`); a read that an
announcement overtook is not cached. Entries live ``CONVERSATION_CACHE_SECONDS`` at most, the
second line for what no announcement covers (a moderator's unfreeze from the console, which
only lifts a refusal late, never lets one through).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from causerie.domain import MIN_AGE, AgeBand, ConversationKey
from causerie.errors import ChatError, ErrorCode
from causerie.moderation.forms import Forms
from causerie.settings import MinorsSettings
from causerie.store.trust import (
    ConversationState,
    EscalationRequest,
    History,
    NewIncident,
    Offender,
    TrustStore,
)
from causerie.trust.assurance import (
    AgeTokenInvalid,
    AgeVerifier,
    Ed25519TokenVerifier,
    build_verifier,
)
from causerie.trust.policy import (
    Ruling,
    Say,
    decayed,
)
from causerie.trust.signals import AgeClaim, Detection, Signal, detect

log = logging.getLogger(__name__)

# Device tokens are random strings the browser keeps; anything else is ignored, not refused.
_DEVICE_MIN, _DEVICE_MAX = 16, 128
# How long a node trusts its copy of a conversation's state without hearing of a change.
CONVERSATION_CACHE_SECONDS = 5.0
# Entries kept at most; the oldest half goes when it is full.
_CACHE_SIZE = 50_000


class ConversationCache:
    """Conversation states (or their absence) by key, for a few seconds, dropped on change.

    ``generation`` grows with every drop: a read from the database is kept only if no drop
    happened while it ran, so an announcement that overtakes a read cannot be undone by it.
    """

    def __init__(
        self, ttl: float = CONVERSATION_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.generation = 0
        self._entries: dict[str, tuple[float, ConversationState | None]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, ConversationState | None]:
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry[0] < self.ttl:
            self.hits += 1
            return True, entry[1]
        self.misses += 1
        return False, None

    def put(self, key: str, state: ConversationState | None, generation: int) -> None:
        if generation != self.generation:
            return
        if len(self._entries) >= _CACHE_SIZE:
            for old in list(self._entries)[: _CACHE_SIZE // 2]:
                del self._entries[old]
        self._entries[key] = (self.clock(), state)

    def forget(self, key: str) -> None:
        self.generation += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


class EvidenceSink(Protocol):
    """The evidence locker (causerie.legal) as the fence uses it: keep refused content sealed."""

    async def preserve_submission(
        self,
        *,
        reason: Literal["escalated"],
        reference: str,
        session_id: str,
        nickname: str,
        text: str,
        at: float,
        room_id: str | None = None,
        recipient: str | None = None,
        submission_id: str,
    ) -> object:
        """Seal content that was never delivered, with its context."""


@dataclass(slots=True)
class SessionTrust:
    device_key: str | None
    address_key: str | None
    verified: bool = False
    # Someone on this address said they were a minor a short while ago (see admit()).
    scrutiny: bool = False


@dataclass(frozen=True, slots=True)
class Admission:
    """The age a new session gets: the declared one, or a younger one remembered."""

    age: int
    device_key: str | None
    address_key: str | None
    notice: str | None
    scrutiny: bool = False


@dataclass(frozen=True, slots=True)
class Rebanding:
    age: int
    band: AgeBand
    claim: AgeClaim


class MinorsFence:
    def __init__(
        self,
        settings: MinorsSettings,
        store: TrustStore,
        *,
        verifier: AgeVerifier | None = None,
        evidence: EvidenceSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.verifier = verifier or build_verifier(settings)
        self.evidence = evidence
        self.clock = clock
        # Without a configured key the hashes are only comparable within this process, which
        # is still the point (coming back within minutes) on a single node.
        self._memory_key = settings.memory_key.encode() or secrets.token_bytes(32)
        self.sessions: dict[str, SessionTrust] = {}
        self.conversations = ConversationCache()
        # Tells every node that a conversation's state changed (the node publishes a
        # ``conversation_changed`` envelope); None on a lone fence (tests, tools).
        self.announce: Callable[[str], Awaitable[None]] | None = None

    # -- detection -------------------------------------------------------------------------------

    def detect(self, forms: Forms) -> Detection:
        return detect(forms)

    # -- entry and exit ----------------------------------------------------------------------------

    def _hash(self, kind: str, value: str) -> str:
        digest = hmac.new(self._memory_key, f"{kind}:{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def memory_keys(self, device: str | None, ip: str) -> tuple[str | None, str | None]:
        device_key = None
        if device is not None and _DEVICE_MIN <= len(device) <= _DEVICE_MAX:
            device_key = self._hash("device", device)
        address_key = None
        if ip:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                address = None
            if address is not None:
                # An IPv6 host changes the low 64 bits by itself (privacy extensions).
                network = ipaddress.ip_network(
                    f"{address}/{64 if address.version == 6 else 32}", strict=False
                )
                address_key = self._hash("address", str(network.network_address))
        return device_key, address_key

    async def admit(self, declared_age: int, device: str | None, ip: str) -> Admission:
        """The age to give a new session, refusing a device that was too young a moment ago.

        Only the device re-bands: it is one person's. An address is shared (a family, an office,
        a school, a mobile carrier), so what was said from it never changes another person's
        band; it only asks adults from there to verify their age for adults-only rooms for a
        while (``Admission.scrutiny``).
        """
        device_key, address_key = self.memory_keys(device, ip)
        keys = [k for k in (device_key, address_key) if k is not None]
        remembered = await self.store.remembered(keys, self.clock())
        on_device = remembered.get(device_key) if device_key else None
        on_address = remembered.get(address_key) if address_key else None
        if on_device is not None and on_device[0] < MIN_AGE:
            raise ChatError(
                ErrorCode.AGE_TOO_YOUNG, Say.too_young_remembered(on_device[1]), field="age"
            )
        age, notice = declared_age, None
        if on_device is not None:
            youngest = max(on_device[0], MIN_AGE)
            declared_band = AgeBand.of_age(declared_age)
            if AgeBand.of_age(youngest).stricter(declared_band) != declared_band:
                age, notice = youngest, Say.REMEMBERED
        scrutiny = (
            on_address is not None
            and AgeBand.of_age(on_address[0]).is_minor
            and not AgeBand.of_age(age).is_minor
        )
        return Admission(
            age=age,
            device_key=device_key,
            address_key=address_key,
            notice=notice,
            scrutiny=scrutiny,
        )

    async def refused_too_young(self, declared_age: int, device: str | None, ip: str) -> None:
        """Remember an under-13 declaration, so that "then I'm 18" from there does not work."""
        device_key, address_key = self.memory_keys(device, ip)
        await self._remember(device_key, address_key, declared_age)

    async def _remember(self, device_key: str | None, address_key: str | None, age: int) -> None:
        now = self.clock()
        if device_key is not None:
            await self.store.remember_age(
                [device_key], age, now + self.settings.device_memory_seconds
            )
        if address_key is not None:
            await self.store.remember_age(
                [address_key], age, now + self.settings.address_memory_seconds
            )

    async def entered(
        self, session_id: str, admission: Admission, band: AgeBand, *, verified: bool
    ) -> None:
        self.sessions[session_id] = SessionTrust(
            device_key=admission.device_key,
            address_key=admission.address_key,
            verified=verified and not band.is_minor,
            scrutiny=admission.scrutiny,
        )
        if band.is_minor and admission.device_key is not None:
            # A device is one person's: a second tab that says "18" is the same minor. An
            # address is remembered only when the minor leaves (see left()).
            await self._remember(admission.device_key, None, admission.age)

    async def left(self, session_id: str, age: int, band: AgeBand) -> None:
        trust = self.sessions.pop(session_id, None)
        if trust is not None and band.is_minor:
            await self._remember(trust.device_key, trust.address_key, age)

    # -- age assurance -----------------------------------------------------------------------------

    def is_verified(self, session_id: str) -> bool:
        trust = self.sessions.get(session_id)
        return trust is not None and trust.verified

    def verification_required(self, session_id: str) -> bool:
        """Whether adults-only rooms ask this session for a proof of age: by the settings, or
        because a minor was on its address a short while ago."""
        trust = self.sessions.get(session_id)
        return self.settings.adults_only_requires_verification or (
            trust is not None and trust.scrutiny
        )

    async def check_age_token(self, token: str, band: AgeBand) -> None:
        """Accept a token once; raise ``age_verification_failed`` with the reason in plain words."""
        if band.is_minor:
            raise ChatError(ErrorCode.AGE_VERIFICATION_FAILED, Say.STAYS_MINOR)
        verifier = self.verifier
        if isinstance(verifier, Ed25519TokenVerifier) and not verifier.public_keys:
            raise ChatError(ErrorCode.AGE_VERIFICATION_FAILED, Say.NO_VERIFIER)
        try:
            assertion = verifier.verify(token, now=self.clock())
        except AgeTokenInvalid as invalid:
            log.info("age token refused: %s", invalid)
            raise ChatError(ErrorCode.AGE_VERIFICATION_FAILED, Say.VERIFICATION_FAILED) from None
        if not assertion.over_18:
            raise ChatError(ErrorCode.AGE_VERIFICATION_FAILED, Say.VERIFICATION_FAILED)
        if not await self.store.use_age_token(assertion.replay_key, assertion.expires_at):
            log.info("age token refused: used before")
            raise ChatError(ErrorCode.AGE_VERIFICATION_FAILED, Say.VERIFICATION_FAILED)

    async def verify(self, session_id: str, token: str, band: AgeBand) -> None:
        await self.check_age_token(token, band)
        trust = self.sessions.setdefault(session_id, SessionTrust(None, None))
        trust.verified = True

    # -- age inconsistency -------------------------------------------------------------------------

    def rebanding(self, band: AgeBand, claim: AgeClaim | None) -> Rebanding | None:
        """The band a claim moves a chatter to: only ever younger, never older."""
        if claim is None:
            return None
        age = max(claim.age, MIN_AGE)
        new_band = AgeBand.of_age(age)
        if new_band == band or new_band.stricter(band) != new_band:
            return None
        return Rebanding(age=age, band=new_band, claim=claim)

    async def rebanded(
        self, offender: Offender, rebanding: Rebanding, text: str, *, target: str
    ) -> None:
        """Record the claim, flag the chatter for moderators and remember the younger age."""
        trust = self.sessions.get(offender.session)
        if trust is not None:
            trust.verified = False
            await self._remember(trust.device_key, trust.address_key, rebanding.age)
        await self.flag_claim(offender, rebanding.claim, text, target=target, action="rebanded")

    async def flag_claim(
        self, offender: Offender, claim: AgeClaim, text: str, *, target: str, action: str
    ) -> None:
        kind = "under_13_claim" if claim.age < MIN_AGE else "age_inconsistency"
        reason = (
            f"{offender.nickname}, declared {offender.band}, wrote an age of {claim.age}"
            f" ({claim.evidence})"
        )
        key = ConversationKey.person(offender.key)
        await self._record(
            key,
            score=0.0,
            incident=NewIncident(
                kind="age_claim",
                action=action,
                signals=(f"age:{claim.age}", claim.evidence),
                offender=offender,
                target=target,
                text=text,
            ),
            escalate=EscalationRequest(
                kind=kind,
                reason=reason,
                offender=offender,
                target=target,
                signals=(claim.evidence,),
                history=History(),
            ),
            freeze=False,
            room_id=target if not target.startswith("@") else None,
        )

    # -- conversations -----------------------------------------------------------------------------

    async def examine(
        self,
        ruling: Ruling,
        *,
        conversation_key: str,
        kind: str,
        offender: Offender,
        target: str,
        text: str,
        signals: frozenset[Signal],
        history: History,
        room_id: str | None = None,
    ) -> None:
        """Apply a ruling to one attempt; raise the refusal, after recording it.

        A frozen conversation refuses everything; a ruling's weight is added to the
        conversation's decayed score, and past the threshold (or at once for what an adult must
        never send a minor) the conversation is frozen and escalated with its history.
        """
        if not ruling.involves_minor:
            return
        now = self.clock()
        state = await self.conversation(conversation_key)
        if state is not None and state.frozen_at is not None:
            await self._record(
                conversation_key,
                score=state.score,
                incident=NewIncident(
                    kind="frozen_attempt",
                    action="refused",
                    signals=tuple(signals),
                    offender=offender,
                    target=target,
                    text=text,
                ),
                escalate=self._request("grooming", offender, target, signals, history, kind),
                freeze=True,
                room_id=room_id,
            )
            raise ChatError(ErrorCode.CONVERSATION_FROZEN, Say.FROZEN)
        if ruling.weight <= 0 and ruling.refuse is None:
            return
        score = ruling.weight
        if state is not None:
            score += decayed(
                state.score, now - state.updated_at, self.settings.risk_half_life_seconds
            )
        past_threshold = score >= self.settings.risk_threshold
        escalate = ruling.escalate or past_threshold
        incident = None
        if ruling.refuse is not None or escalate:
            incident = NewIncident(
                kind=kind,
                action="refused",
                signals=tuple(signals),
                offender=offender,
                target=target,
                text=text,
            )
        await self._record(
            conversation_key,
            score=score,
            incident=incident,
            escalate=(
                self._request(
                    "contact_attempt" if ruling.escalate else "grooming",
                    offender,
                    target,
                    signals,
                    history,
                    kind,
                )
                if escalate
                else None
            ),
            freeze=escalate,
            room_id=room_id,
        )
        if ruling.refuse is not None:
            raise ChatError(ruling.refuse, ruling.message)
        if escalate:
            raise ChatError(ErrorCode.CONVERSATION_FROZEN, Say.FROZEN)

    def _request(
        self,
        kind: str,
        offender: Offender,
        target: str,
        signals: frozenset[Signal],
        history: History,
        attempt: str,
    ) -> EscalationRequest:
        named = ", ".join(sorted(signals)) or attempt
        return EscalationRequest(
            kind=kind,
            reason=f"{offender.nickname} ({offender.band}) towards {target}: {named}",
            offender=offender,
            target=target,
            signals=tuple(signals),
            history=history,
        )

    async def _record(
        self,
        key: str,
        *,
        score: float,
        incident: NewIncident | None,
        escalate: EscalationRequest | None,
        freeze: bool,
        room_id: str | None,
    ) -> None:
        now = self.clock()
        try:
            recorded = await self.store.record(
                key,
                score=score,
                at=now,
                incident=incident,
                escalate=escalate,
                freeze=freeze,
                history_limit=self.settings.escalation_history,
            )
        finally:
            # Before the refusal reaches anyone: this node and then every other forget it.
            await self.changed(key)
        if recorded.opened and recorded.escalation_id is not None and incident is not None:
            await self._seal(recorded.escalation_id, incident, room_id, now)

    async def _seal(
        self, escalation_id: int, incident: NewIncident, room_id: str | None, at: float
    ) -> None:
        """Hand an escalation's triggering attempt to the evidence locker, when there is one."""
        if self.evidence is None:
            return
        reference = f"trust-escalation-{escalation_id}"
        try:
            await self.evidence.preserve_submission(
                reason="escalated",
                reference=reference,
                session_id=incident.offender.session,
                nickname=incident.offender.nickname,
                text=incident.text,
                at=at,
                room_id=room_id,
                recipient=None if room_id is not None else incident.target,
                submission_id=f"t{escalation_id}",
            )
        except Exception:
            # The escalation and its copy of the history are recorded already; the sealed copy
            # is a second line, and its failure must not reopen the path it closed.
            log.exception("evidence locker failed for escalation %d", escalation_id)
            return
        await self.store.set_evidence_ref(escalation_id, reference)

    async def frozen(self, conversation_key: str) -> bool:
        state = await self.conversation(conversation_key)
        return state is not None and state.frozen_at is not None

    # -- the conversation cache --------------------------------------------------------------------

    async def conversation(self, conversation_key: str) -> ConversationState | None:
        """A conversation's state, from this node's cache or the database."""
        cache = self.conversations
        known, state = cache.get(conversation_key)
        if known:
            return state
        generation = cache.generation
        state = await self.store.conversation(conversation_key)
        cache.put(conversation_key, state, generation)
        return state

    async def changed(self, conversation_key: str) -> None:
        """This node recorded something about the conversation: drop it here, tell the others.

        Awaited before the attempt's refusal returns, so the refusal is acknowledged only once
        the bus has taken the announcement; a bus that fails leaves the others on their
        ``CONVERSATION_CACHE_SECONDS`` (logged).
        """
        self.conversations.forget(conversation_key)
        if self.announce is None:
            return
        try:
            await self.announce(conversation_key)
        except Exception:
            log.exception("could not announce a change of conversation %s", conversation_key)

    def forget(self, conversation_key: str | None) -> None:
        """Another node (or this one) changed a conversation; None: every conversation."""
        if conversation_key is None:
            self.conversations.clear()
        else:
            self.conversations.forget(conversation_key)

    async def purge(self) -> int:
        now = self.clock()
        return await self.store.purge(
            now,
            incidents_before=now - self.settings.incident_retention_days * 86_400,
            quiet_before=now - 8 * self.settings.risk_half_life_seconds,
        )
