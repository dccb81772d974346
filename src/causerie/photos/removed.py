"""Photos moderators removed, kept as hashes so that the same image cannot come back.

A moderator's removal is not a finding of illegality: a re-upload of a removed photo is refused
plainly, not escalated as a known illegal image. The hashes go in their own list
(:data:`REMOVED_LIST`) of the same bank and store as the operator's lists, so that
``causerie hashes list`` shows them and ``causerie hashes remove`` undoes one, and every node
reads them when it loads its lists.
"""

from __future__ import annotations

from causerie.photos.hashbank import BankEntry, HashBank, HashKind
from causerie.photos.store import PhotoStore

REMOVED_LIST = "removed-by-moderators"


class RemovedImages:
    def __init__(self, store: PhotoStore, bank: HashBank) -> None:
        self.store = store
        self.bank = bank

    async def removed(self, photo_id: str) -> bool:
        """Remember the hashes of a removed photo; False if the photo is already gone."""
        record = await self.store.get_photo(photo_id)
        if record is None:
            return False
        source = f"photo {photo_id} removed by a moderator"
        entries = [BankEntry(REMOVED_LIST, HashKind.SHA256, record.sha256, source)]
        if record.pdq:
            entries.append(BankEntry(REMOVED_LIST, HashKind.PDQ, record.pdq, source))
        await self.store.add_hashes(entries)
        self.bank.add(entries)
        return True
