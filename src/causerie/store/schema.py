"""The chat tables and the review queue. Alembic migrations under ``migrations/`` create exactly
these.

Nothing identifying beyond the nickname and the declared profile is kept here: no IP address,
no postal code (only the département and region derived from it). Identifying traffic data, when
the law requires it, goes to the separate retention store.

The review queue (``review_*``, read and written only by :mod:`causerie.store.review`) keeps what
a moderator must read after the chat has forgotten it: the text of an escalated or held message,
a frozen conversation's history, the refused attempts around it. It lives until the job is
decided and the item purged.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

from causerie.domain import AgeBand, Category, JobStatus, ReviewQueue

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

_ID = BigInteger().with_variant(Integer, "sqlite")

nodes = Table(
    "nodes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", Double, nullable=False),
    Column("last_seen", Double, nullable=False),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("name", String(80), nullable=False),
    # The folded name, so that "Musique" and "musiqué" cannot both exist.
    Column("name_key", String(80), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("region_code", String(8), nullable=False, server_default=""),
    Column("topic", String(400), nullable=False, server_default=""),
    # The operator's English name and topic (empty: the same as ``name`` and ``topic``).
    Column("name_en", String(80), nullable=False, server_default=""),
    Column("topic_en", String(400), nullable=False, server_default=""),
    Column("host_key", String(80), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("position", Integer, nullable=False, server_default="0"),
)

online_sessions = Table(
    "online_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("nickname", String(40), nullable=False),
    Column("nickname_key", String(80), nullable=False, unique=True),
    Column("age", Integer, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("department", String(4), nullable=False),
    Column("region_code", String(8), nullable=False),
    Column("node_id", String(64), nullable=False, index=True),
    Column("connected_at", Double, nullable=False),
)

room_members = Table(
    "room_members",
    metadata,
    Column("room_id", String(80), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "session_id",
        String(40),
        ForeignKey("online_sessions.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("joined_at", Double, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("room_id", String(80), nullable=True),
    Column("sender_session", String(40), nullable=False),
    Column("sender_nickname", String(40), nullable=False),
    Column("recipient_session", String(40), nullable=True),
    Column("recipient_nickname", String(40), nullable=True),
    Column("text", Text, nullable=False),
    # Shown masked until the reader reveals it; kept so that history is masked too.
    Column("blurred", Boolean, nullable=False, server_default=false()),
    # A photo message: the photo's capability id (causerie.photos); its caption is ``text``.
    Column("photo_id", String(40), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    # Stored but not yet acknowledged (causerie.chat.delivery): kept out of every history until
    # the last step before the ack clears it; a node that dies first leaves it for the purge.
    Column("pending", Boolean, nullable=False, server_default=false()),
    # The chatter's request id (the first session of a resumed chain, a space, the client's
    # ``request``): one acknowledged message per request, so a retry finds the first ack.
    Column("request_key", String(120), nullable=True),
    Index("ix_messages_room_created", "room_id", "created_at"),
    Index(
        "ux_messages_request_key",
        "request_key",
        unique=True,
        sqlite_where=text("NOT pending"),
        postgresql_where=text("NOT pending"),
    ),
)


# The message ids not yet handed out: each node reserves a block of them at a time
# (causerie.store.messages.MessageIds), so a message has its id before anything is written, and
# its row is written once, visible, as the last step before the ack.
message_ids = Table(
    "message_ids",
    metadata,
    Column("name", String(40), primary_key=True),
    # The first id of the next block.
    Column("next_id", _ID, nullable=False),
)


# -- the review queue ----------------------------------------------------------------------------
# The values the CHECK constraints admit; the migration that creates the tables spells the same
# lists out, as a migration must not change when the code does.
ITEM_KINDS = (
    "message",
    "private",
    "nickname",
    "room_name",
    "topic",
    "photo",
    "person",
    "conversation",
)
JOB_SOURCES = (
    "rules",
    "model",
    "fence",
    "hold",
    "freeze",
    "age_claim",
    "report",
    "notice",
    "appeal",
    "hash_match",
    "nudity",
    "moderator",
)


def _one_of(column: str, values: Iterable[str], *, nullable: bool = False) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    check = f"{column} IN ({listed})"
    return f"{column} IS NULL OR {check}" if nullable else check


review_items = Table(
    "review_items",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # A content kind (message, private, nickname, room_name, topic, photo), a person or a
    # conversation.
    Column("kind", String(16), nullable=False),
    # What makes two signals one item: "decision:<id>", a content id, a conversation key.
    Column("key", String(240), nullable=False, index=True),
    # "m<message id>" once the content is stored.
    Column("content_id", String(40), nullable=True, index=True),
    Column("decision_id", String(32), nullable=True, index=True),
    Column("conversation_key", String(240), nullable=True, index=True),
    # The text as it was: the message itself may expire long before a moderator reads it.
    Column("text", Text, nullable=False, server_default=""),
    Column("author_key", String(80), nullable=False, index=True),
    Column("author_nickname", String(40), nullable=False),
    Column("author_session", String(40), nullable=True),
    Column("author_band", String(8), nullable=True),
    Column("room_id", String(80), nullable=True),
    Column("recipient_key", String(80), nullable=True),
    # Where it happened, as the minors fence names it: a room id or "@nickname".
    Column("place", String(80), nullable=True),
    Column("signals", String(400), nullable=False, server_default=""),
    # The evidence locker's reference, once the content is sealed there.
    Column("evidence_ref", String(200), nullable=True),
    Column("created_at", Double, nullable=False),
    CheckConstraint(_one_of("kind", ITEM_KINDS), name="kind"),
    CheckConstraint(_one_of("author_band", [b.value for b in AgeBand], nullable=True), name="band"),
)

review_jobs = Table(
    "review_jobs",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "item_id",
        _ID,
        ForeignKey("review_items.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("queue", String(16), nullable=False),
    # Lower is more urgent: child safety is 0.
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    # What opened it: escalate, hold (safety), grooming, contact_attempt, age_inconsistency,
    # under_13_claim (the minors fence).
    Column("kind", String(32), nullable=False),
    Column("reason", String(400), nullable=False),
    Column("source", String(16), nullable=False),
    Column("category", String(32), nullable=True),
    # How many signals were folded into this job while it waited.
    Column("signals", Integer, nullable=False, server_default="1"),
    Column("score", Double, nullable=True),
    # The item's key while the job is undecided, NULL after: at most one undecided job per
    # item, enforced by the database across nodes.
    Column("open_key", String(240), nullable=True, unique=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("claimed_by", String(80), nullable=True),
    Column("claim_expires_at", Double, nullable=True),
    Column("decided_by", String(80), nullable=True),
    Column("decided_at", Double, nullable=True),
    Column("action", String(32), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_review_jobs_queue", "status", "queue", "priority", "created_at"),
    CheckConstraint(_one_of("queue", [q.value for q in ReviewQueue]), name="queue"),
    CheckConstraint(_one_of("status", [s.value for s in JobStatus]), name="status"),
    CheckConstraint(_one_of("source", JOB_SOURCES), name="source"),
    CheckConstraint(
        _one_of("category", [c.value for c in Category], nullable=True), name="category"
    ),
)

# A frozen copy of the conversation around an item, taken when its job opened.
review_history = Table(
    "review_history",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "item_id",
        _ID,
        ForeignKey("review_items.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("message_id", _ID, nullable=True),
    Column("room_id", String(80), nullable=True),
    Column("sender_nickname", String(40), nullable=False),
    Column("recipient_nickname", String(40), nullable=True),
    Column("text", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

# What happened in a conversation: the minors fence's refused attempts, later reports. An event
# joins the item of the job that took its conversation up; those no job took up are purged.
review_events = Table(
    "review_events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column(
        "item_id",
        _ID,
        ForeignKey("review_items.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    Column("conversation_key", String(240), nullable=False, index=True),
    # message, private_attempt, teen_room_attempt, typing_attempt, frozen_attempt, age_claim
    Column("kind", String(32), nullable=False),
    # refused, delivered, rebanded
    Column("action", String(16), nullable=False),
    Column("signals", String(400), nullable=False, server_default=""),
    Column("author_session", String(40), nullable=False),
    Column("author_nickname", String(40), nullable=False),
    Column("author_key", String(80), nullable=False, index=True),
    Column("author_band", String(8), nullable=False),
    Column("place", String(80), nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("created_at", Double, nullable=False, index=True),
)


# -- coming back after a reload ------------------------------------------------------------------
# A chatter's identity for a few minutes after their connection ends, under a hashed token the
# web client keeps: reloading the page or changing networks brings the same chatter back.
resume_tokens = Table(
    "resume_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    # The session that holds the token now; its exit starts the token's grace period.
    Column("session_id", String(40), nullable=False, index=True),
    Column("device_key", String(64), nullable=False),
    Column("nickname", String(40), nullable=False),
    Column("age", Integer, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("department", String(8), nullable=False),
    Column("region_code", String(8), nullable=False),
    # JSON lists: the chatter's earlier session ids (for private history) and rooms.
    Column("sessions", Text, nullable=False),
    Column("rooms", Text, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
)
