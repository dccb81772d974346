"""The console's parts, built once from a node: stores, the audit chain, sign-in, the actions.

The command line builds the same parts without a running node (:func:`offline`), so that
``causerie moderation decide`` takes exactly the console's path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from causerie.chat.statements import frame_of
from causerie.console.audit import StaffAudit, staff_chain_key
from causerie.console.auth import StaffAuth, staff_totp_key
from causerie.moderation.actions import (
    OVERRIDES_FILE,
    ChatPort,
    Evidence,
    ModerationActions,
    Notifier,
    Referrals,
    RemovedImagesPort,
    SanctionCache,
    Traffic,
)
from causerie.photos.removed import RemovedImages
from causerie.store.messages import MessageStore
from causerie.store.presence import PresenceStore
from causerie.store.reports import ReportStore
from causerie.store.review import ReviewStore
from causerie.store.rooms import RoomStore
from causerie.store.safety import SafetyStore
from causerie.store.staff import StaffStore
from causerie.store.statements import Statement, StatementStore
from causerie.store.trust import TrustStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from causerie.node import Node
    from causerie.settings import Settings


class PresenceNotifier:
    """Pushes a statement to its chatter, on whichever node holds them, for commands run
    without a node (a node uses its ``Statements.notify``); the frame is the chat's own."""

    def __init__(self, presence: PresenceStore, chat: ChatPort) -> None:
        self.presence = presence
        self.chat = chat

    async def notify(self, statement: Statement) -> None:
        session = await self.presence.by_key(statement.subject_key)
        if session is not None:
            await self.chat.publish(frame_of(statement), session=session.id)


@dataclass
class ConsoleParts:
    settings: Settings
    staff: StaffStore
    audit: StaffAudit
    auth: StaffAuth
    review: ReviewStore
    safety: SafetyStore
    statements: StatementStore
    reports: ReportStore
    actions: ModerationActions
    clock: Callable[[], float]


def build(
    settings: Settings,
    engine: AsyncEngine,
    chain_key: bytes,
    *,
    chat: ChatPort,
    notifier: Notifier | None = None,
    sanctions: SanctionCache | None = None,
    evidence: Evidence | None = None,
    traffic: Traffic,
    referrals: Referrals | None,
    staff: StaffStore | None = None,
    overrides_file: Path = OVERRIDES_FILE,
    removed_images: RemovedImagesPort | None = None,
    clock: Callable[[], float] = time.time,
) -> ConsoleParts:
    staff = staff or StaffStore(engine)
    audit = StaffAudit(staff, staff_chain_key(chain_key), clock)
    review = ReviewStore(engine)
    safety = SafetyStore(engine, review)
    statements = StatementStore(engine)
    reports = ReportStore(engine, review)
    presence = PresenceStore(engine)
    actions = ModerationActions(
        review=review,
        safety=safety,
        statements=statements,
        trust=TrustStore(engine, review),
        messages=MessageStore(engine),
        presence=presence,
        rooms=RoomStore(engine),
        chat=chat,
        notifier=notifier or PresenceNotifier(presence, chat),
        sanctions=sanctions,
        audit=audit,
        evidence=evidence,
        reports=reports,
        traffic=traffic,
        referrals=referrals,
        visible_seconds=settings.chat.visible_hours * 3600,
        overrides_file=overrides_file,
        removed_images=removed_images,
        clock=clock,
    )
    return ConsoleParts(
        settings=settings,
        staff=staff,
        audit=audit,
        auth=StaffAuth(staff, audit, totp_key=staff_totp_key(chain_key), clock=clock),
        review=review,
        safety=safety,
        statements=statements,
        reports=reports,
        actions=actions,
        clock=clock,
    )


def from_node(node: Node, *, overrides_file: Path | None = None) -> ConsoleParts:
    """The console of a running node: its chat core, policy, evidence locker and keyring;
    overrides go to ``overrides_file``, else the node's ``safety.overrides_file``."""
    return build(
        node.settings,
        node.engine,
        node.legal.service.keyring.chain_key,
        chat=node.chat.core,
        notifier=node.chat.statements,
        sanctions=node.safety,
        evidence=node.legal.service.evidence,
        traffic=node.legal.traffic,
        referrals=node.legal.service,
        removed_images=RemovedImages(node.photo_store, node.photo_pipeline.bank),
        staff=node.staff,
        overrides_file=overrides_file or node.settings.safety.overrides_file,
        clock=node.clock,
    )
