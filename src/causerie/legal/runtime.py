"""The legal capability inside a running node: the traffic log, the service and their jobs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from causerie.legal.crypto import Keyring
from causerie.legal.database import LegalPaths, check_key_location, migrate, resolve_paths
from causerie.legal.errors import KeyMaterialError, LegalError
from causerie.legal.service import LegalService
from causerie.legal.store import RetentionStores
from causerie.legal.traffic import RetentionTrafficLog
from causerie.settings import Settings
from causerie.store.database import create_engine
from causerie.store.messages import MessageStore

log = logging.getLogger(__name__)


def load_keyring(path: Path, *, create: bool) -> Keyring:
    """The operator's keyring; a first key is created only when allowed and none exists."""
    if not path.exists():
        if not create:
            raise KeyMaterialError(
                f"retention key file {path} not found and legal.create_missing_key is off: "
                "create it with `causerie legal keys rotate`"
            )
        keyring = Keyring.generate()
        keyring.save(path)
        log.warning(  # one line, with what to do
            "created retention key file %s: back it up and keep it away from the database; "
            "without it the retained data cannot be read",
            path,
        )
        return keyring
    return Keyring.load(path)


async def preflight(settings: Settings) -> None:
    """What a node checks of the retention store at start-up, before any server is built.

    Raises :class:`LegalError` (one line for the operator) when the key file is misplaced,
    readable by others, missing where it may not be created, or not the one that wrote the data.
    """
    node = LegalNode(settings, messages=None)
    try:
        await node.start(log_refusal=False)  # the caller prints it
    finally:
        await node.stop()


class LegalNode:
    def __init__(
        self,
        settings: Settings,
        *,
        messages: MessageStore | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.paths: LegalPaths = resolve_paths(settings)
        check_key_location(settings, self.paths)
        self.engine = create_engine(self.paths.database_url, echo=settings.database.echo)
        self.stores = RetentionStores(self.engine)
        keyring = load_keyring(self.paths.keys_file, create=settings.legal.create_missing_key)
        self.service = LegalService(
            settings,
            self.stores,
            keyring,
            messages=messages,
            signing_key_file=self.paths.signing_key_file,
            clock=clock,
        )
        self.traffic = RetentionTrafficLog(
            self.stores.traffic, self.service.codec, settings.legal.traffic_queue_size
        )

    async def start(self, *, log_refusal: bool = True) -> None:
        """Migrate if allowed and check the keys; a wrong key file stops the node here."""
        if self.settings.legal.auto_migrate:
            await asyncio.to_thread(migrate, self.paths.database_url)
        try:
            await self.service.check_keys()
        except LegalError as exc:
            if log_refusal:
                # The one line an operator needs, before whatever the ASGI server prints.
                log.critical("retention store refused to start: %s", exc)
            raise

    async def run(self) -> None:
        """The traffic writer and the periodic purge; runs until the node cancels it."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.traffic.run(), name="traffic-writer")
            group.create_task(self._purge_loop(), name="retention-purge")

    async def _purge_loop(self) -> None:
        while True:
            try:
                report = await self.service.purge()
                if report.traffic or report.preserved:
                    log.info(
                        "retention purge: %d records removed, %d messages preserved",
                        report.traffic,
                        report.preserved,
                    )
            except Exception:
                log.exception("retention purge failed")
            await asyncio.sleep(self.settings.legal.purge_interval_seconds)

    async def stop(self) -> None:
        await self.engine.dispose()
