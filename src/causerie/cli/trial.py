"""A throwaway node that texts are sent through exactly as the server decides them.

``causerie policy check`` and ``scripts/evaluate_safety.py`` both ask what the live server does
with a text from a given author in a given place: the minors fence, the policy's stages and the
minors guard, in the order and with the state the chat service gives them. Rather than
re-assembling that path (and drifting from it), they run a real node on a temporary SQLite
database with the operator's safety and minors settings, and call the chat actions a connection
would: ``enter``, ``join``, ``say``, ``send_private``, ``create_room``. Nothing outside the
temporary directory is touched: the bus is the in-process one and the operator's database and
retention keys are never opened.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.domain import Audience
from causerie.errors import ChatError
from causerie.legal.crypto import Keyring
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.settings import BusSettings, DatabaseSettings, Settings
from causerie.store.review import Job, ReviewStore

# The age a trial chatter declares for each band.
AGE_OF_BAND = {"13-14": 14, "15-17": 16, "18+": 30}


class Sink:
    """An outbox that keeps nothing: a trial reads the actions' outcomes, not the frames."""

    def push(self, frame: str) -> None:
        return None

    def close(self, frame: str, reason: str) -> None:
        return None


@dataclass
class TrialSite:
    node: Node
    counter: int = 0
    rooms_by_audience: dict[str, str] = field(default_factory=dict)

    def peer(self) -> Peer:
        """A fresh address for every chatter: the fence remembers ages by address."""
        self.counter += 1
        n = self.counter
        return Peer(ip=f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}", port=40000)

    def _enter_frame(self, nickname: str, age: int) -> f.Enter:
        return f.Enter(
            nickname=nickname,
            age=age,
            gender="other",
            postal_code="75011",
            device=secrets.token_urlsafe(24),
        )

    async def chatter(self, age: int) -> tuple[LocalSession, Peer]:
        """A new chatter on a new device and address."""
        peer = self.peer()
        frame = self._enter_frame(f"Essai{self.counter}", age)
        session, _ = await self.node.chat.enter(frame, Sink(), peer)
        return session, peer

    async def enter_as(self, nickname: str, age: int = 30) -> ChatError | None:
        """Whether ``nickname`` may enter; the refusal when it may not."""
        try:
            session, _ = await self.node.chat.enter(
                self._enter_frame(nickname, age), Sink(), self.peer()
            )
        except ChatError as refused:
            return refused
        await self.node.chat.exit(session)
        return None

    async def room_for(self, audience: str) -> str:
        """A catalogue room of this audience (the first one listed)."""
        if not self.rooms_by_audience:
            for room in await self.node.rooms.all():
                self.rooms_by_audience.setdefault(str(room.audience), room.id)
        try:
            return self.rooms_by_audience[Audience(audience).value]
        except KeyError:
            raise ValueError(f"the room catalogue has no audience {audience!r}") from None

    async def jobs(self) -> list[Job]:
        """Every review job opened so far, oldest first."""
        return await ReviewStore(self.node.engine).jobs(limit=100_000, by_id=True)

    async def send(
        self,
        session: LocalSession,
        peer: Peer,
        text: str,
        *,
        room: str | None = None,
        recipient: LocalSession | None = None,
    ) -> ChatError | None:
        """None when ``text`` was delivered, else the refusal."""
        chat = self.node.chat
        try:
            if recipient is not None:
                await chat.send_private(session, recipient.nickname, text, None, peer)
            else:
                assert room is not None
                await chat.say(session, room, text, None, peer)
        except ChatError as refused:
            return refused
        return None


def _keys_file(directory: str) -> Path:
    return Path(directory) / "keys" / "retention.keys"


def trial_settings(settings: Settings, directory: str) -> Settings:
    """The operator's safety and minors settings on a node that keeps everything in
    ``directory``."""
    return settings.model_copy(
        update={
            "database": DatabaseSettings(url=f"sqlite+aiosqlite:///{directory}/chat.db"),
            "bus": BusSettings(),
            "legal": settings.legal.model_copy(update={"keys_file": _keys_file(directory)}),
            # One text at a time: the model is always given time to answer.
            "safety": settings.safety.model_copy(update={"model_timeout_ms": 10_000}),
            # Adults-only rooms would need an age token; a trial is about the text.
            "minors": settings.minors.model_copy(
                update={"adults_only_requires_verification": False}
            ),
            "photos": settings.photos.model_copy(update={"nudity_model": False}),
        }
    )


@asynccontextmanager
async def trial_site(settings: Settings) -> AsyncIterator[TrialSite]:
    with tempfile.TemporaryDirectory(prefix="causerie-trial-") as directory:
        trial = trial_settings(settings, directory)
        # The trial's retention key lives and dies with it: made here, so that the node does
        # not tell the operator to back up a key that is gone when the command returns.
        Keyring.generate().save(_keys_file(directory))
        node = Node(trial)
        await node.start()
        try:
            yield TrialSite(node)
        finally:
            await node.stop()


async def live_outcome(
    site: TrialSite,
    text: str,
    *,
    kind: str,
    band: str,
    audience: str = "all",
    to_band: str | None = None,
) -> ChatError | None:
    """What the live server does with ``text`` from a fresh author of ``band``: None when it is
    delivered (or accepted, for a name), else the refusal."""
    age = AGE_OF_BAND[band]
    if kind == "nickname":
        return await site.enter_as(text, age)
    session, peer = await site.chatter(age)
    recipient: LocalSession | None = None
    try:
        if kind == "private":
            recipient, _ = await site.chatter(AGE_OF_BAND[to_band or band])
            return await site.send(session, peer, text, recipient=recipient)
        if kind in ("room_name", "topic"):
            name, topic = (text, "") if kind == "room_name" else ("Salon d'essai", text)
            try:
                await site.node.chat.create_room(session, name, topic)
            except ChatError as refused:
                return refused
            return None
        room = await site.room_for(audience)
        try:
            await site.node.chat.join(session, [room])
        except ChatError as refused:
            return refused
        return await site.send(session, peer, text, room=room)
    finally:
        await site.node.chat.exit(session)
        if recipient is not None:
            await site.node.chat.exit(recipient)
