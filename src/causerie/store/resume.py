"""Resume tokens: who a chatter was, for a few minutes after their connection ended."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from causerie.store.database import Write, write_in_thread
from causerie.store.schema import resume_tokens


def token_hash(token: str) -> str:
    """Tokens are kept hashed: a copy of the table does not let anyone come back as anyone."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    token_hash: str
    session_id: str
    device_key: str
    nickname: str
    age: int
    gender: str
    department: str
    region_code: str
    # Every session id this chatter had, oldest first (the current one last).
    sessions: tuple[str, ...]
    rooms: tuple[str, ...]
    expires_at: float


def _record(row: object) -> ResumeRecord:
    values = dict(row._mapping)  # type: ignore[attr-defined]
    values["sessions"] = tuple(json.loads(values["sessions"]))
    values["rooms"] = tuple(json.loads(values["rooms"]))
    return ResumeRecord(**values)


# Built once, filled from a dict (see causerie.store.presence).
_INSERT_TOKEN = insert(resume_tokens)


class ResumeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def issue_write(self, record: ResumeRecord) -> Write:
        """The token's row, as a write for the entry's transaction (the nickname claim's,
        :meth:`causerie.store.presence.PresenceStore.add_session`)."""
        row = {
            "token_hash": record.token_hash,
            "session_id": record.session_id,
            "device_key": record.device_key,
            "nickname": record.nickname,
            "age": record.age,
            "gender": record.gender,
            "department": record.department,
            "region_code": record.region_code,
            "sessions": json.dumps(list(record.sessions)),
            "rooms": json.dumps(list(record.rooms)),
            "expires_at": record.expires_at,
        }
        return lambda conn: conn.execute(_INSERT_TOKEN, row)

    async def take(self, hashed: str, now: float) -> ResumeRecord | None:
        """The record under ``hashed``, removed (a token works once), if it has not expired."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    delete(resume_tokens)
                    .where(resume_tokens.c.token_hash == hashed)
                    .returning(*resume_tokens.c)
                )
            ).first()
        if row is None:
            return None
        record = _record(row)
        return record if record.expires_at > now else None

    async def left(self, session_id: str, *, age: int, rooms: list[str], expires_at: float) -> None:
        """The session ended: its token keeps the chatter's age and rooms until ``expires_at``."""
        change = (
            update(resume_tokens)
            .where(resume_tokens.c.session_id == session_id)
            .values(age=age, rooms=json.dumps(sorted(rooms)), expires_at=expires_at)
        )
        await write_in_thread(self.engine, lambda conn: conn.execute(change))

    async def revoke(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(resume_tokens).where(resume_tokens.c.session_id == session_id)
            )

    async def purge(self, now: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(resume_tokens).where(resume_tokens.c.expires_at <= now)
            )
            return int(result.rowcount or 0)

    async def get(self, hashed: str) -> ResumeRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*resume_tokens.c).where(resume_tokens.c.token_hash == hashed)
                )
            ).first()
        return _record(row) if row is not None else None
