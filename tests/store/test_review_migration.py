"""Migration ``r0001`` carries the old escalation tables into the review queue, on both backends."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect, text

from causerie.domain import Category, JobStatus, ReviewQueue
from causerie.store.database import alembic_config, create_engine, migrate
from causerie.store.review import ItemKind, ReviewStore, Source
from causerie.store.safety import SafetyStore
from causerie.store.trust import TrustStore

OLD_TABLES = {
    "safety_escalations",
    "trust_escalations",
    "trust_incidents",
    "trust_preserved_messages",
}
REVIEW_TABLES = {"review_items", "review_jobs", "review_history", "review_events"}

# Rows as the stores before the review queue wrote them; the trust ids are not 1, 2, 3 so that a
# copy that kept the old ids would show.
OLD_ROWS = [
    """INSERT INTO safety_decisions (id, created_at, subject_kind, content_id, subject_hash,
        author_key, room_id, recipient_key, audience, action, category, escalated, scores, rules,
        stages, policy_version, elapsed_ms) VALUES
        ('d-hold', 100.0, 'message', 'm5', 'h', 'dominique', 'rencontres', NULL, 'adults',
         'hold', 'solicitation', FALSE, '{}', '["fr.solicitation.escort"]', '{}', 'v1', 1.0),
        ('d-model', 200.0, 'private', NULL, 'h', 'dominique', NULL, 'lea', 'teens', 'block',
         'child_safety', TRUE, '{}', '[]', '{}', 'v1', 1.0)""",
    """INSERT INTO safety_escalations (id, decision_id, created_at, reason, category, priority,
        subject_kind, author_key, author_nickname, room_id, recipient_key, text, status) VALUES
        (1, 'd-hold', 100.0, 'hold', 'solicitation', 2, 'message', 'dominique', 'Dominique',
         'rencontres', NULL, 'escort dispo ce soir', 'open'),
        (2, 'd-model', 200.0, 'escalate', 'child_safety', 0, 'private', 'dominique', 'Dominique',
         NULL, 'lea', 'ne dis rien à tes parents', 'open'),
        (3, 'd-gone', 50.0, 'escalate', 'spam', 4, 'message', 'zoe', 'Zoe', 'general', NULL,
         'achetez', 'closed')""",
    """INSERT INTO trust_escalations (id, conversation_key, kind, status, reason,
        offender_session, offender_nickname, offender_key, offender_band, target, score, signals,
        created_at, updated_at, evidence_ref) VALUES
        (7, 'room:general:marc', 'grooming', 'open', 'Marc (18+) towards general: meeting',
         's1', 'Marc', 'marc', '18+', 'general', 12.5, 'link,meeting', 300.0, 310.0,
         'trust-escalation-7'),
        (8, 'pair:lea:marc', 'contact_attempt', 'closed', 'Marc (18+) towards @Lea',
         's1', 'Marc', 'marc', '18+', '@Lea', 20.0, 'private', 320.0, 330.0, NULL),
        (9, 'person:paul', 'under_13_claim', 'open', 'Paul, declared 15-17, wrote an age of 11',
         's2', 'Paul', 'paul', '15-17', 'general', 0.0, 'j''ai 11 ans', 340.0, 340.0, NULL)""",
    """INSERT INTO trust_conversations (key, score, updated_at, frozen_at, escalation_id) VALUES
        ('room:general:marc', 12.5, 310.0, 300.0, 7),
        ('person:paul', 0.0, 340.0, NULL, 9),
        ('room:musique:marc', 1.0, 290.0, NULL, NULL)""",
    """INSERT INTO trust_preserved_messages (escalation_id, message_id, room_id, sender_nickname,
        recipient_nickname, text, created_at) VALUES
        (7, 41, 'general', 'Lea', NULL, 'salut', 280.0),
        (7, 42, 'general', 'Marc', NULL, 'on se voit ?', 290.0),
        (8, 43, NULL, 'Marc', 'Lea', 'coucou', 315.0)""",
    """INSERT INTO trust_incidents (id, escalation_id, conversation_key, kind, action, signals,
        offender_session, offender_nickname, offender_key, offender_band, target, text,
        created_at) VALUES
        (20, 7, 'room:general:marc', 'message', 'refused', 'meeting', 's1', 'Marc', 'marc',
         '18+', 'general', 'on se voit ?', 290.0),
        (21, 7, 'room:general:marc', 'message', 'refused', 'link,meeting', 's1', 'Marc', 'marc',
         '18+', 'general', 'viens chez moi', 300.0),
        (22, NULL, 'room:musique:marc', 'message', 'refused', 'link', 's1', 'Marc', 'marc',
         '18+', 'musique', 'mon lien', 290.0),
        (23, 9, 'person:paul', 'age_claim', 'rebanded', 'age:11', 's2', 'Paul', 'paul',
         '15-17', 'general', 'j''ai 11 ans', 340.0)""",
]


def _revisions_before_review(url: str) -> None:
    # The two branches the review queue's revision joins, each at its last revision.
    migrate(url, "s0001")
    migrate(url, "t0001")


async def test_the_old_escalations_move_into_the_review_queue(database_url: str) -> None:
    await asyncio.to_thread(_revisions_before_review, database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement in OLD_ROWS:
                await conn.execute(text(statement))
        await asyncio.to_thread(migrate, database_url)

        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert not OLD_TABLES & tables
        assert tables >= REVIEW_TABLES

        # The policy's open escalations read as they did: child safety first, text kept.
        safety = SafetyStore(engine)
        (child, held) = await safety.open_escalations()
        assert (child.reason, child.category, child.priority) == ("escalate", "child_safety", 0)
        assert (child.subject_kind, child.recipient_key, child.source) == (
            "private",
            "lea",
            Source.MODEL,
        )
        assert child.text == "ne dis rien à tes parents" and child.decision_id == "d-model"
        assert (held.reason, held.category, held.source) == ("hold", "solicitation", Source.HOLD)
        assert (held.author_nickname, held.room_id, held.created_at) == (
            "Dominique",
            "rencontres",
            100.0,
        )

        review = ReviewStore(engine)
        jobs = {j.item.key: j for j in await review.jobs(limit=None)}
        assert jobs["decision:d-hold"].item.content_id == "m5"
        assert jobs["decision:d-hold"].queue is ReviewQueue.GENERAL
        assert jobs["decision:d-model"].queue is ReviewQueue.CHILD_SAFETY
        gone = jobs["decision:d-gone"]
        assert (gone.status, gone.action, gone.category) == (
            JobStatus.DECIDED,
            "closed",
            Category.SPAM,
        )

        # The fence's escalations, renumbered, with their history, incidents and conversations.
        trust = TrustStore(engine)
        grooming, contact, claim = await trust.escalations()
        assert (grooming.conversation_key, grooming.kind, grooming.status) == (
            "room:general:marc",
            "grooming",
            "open",
        )
        assert (grooming.offender_nickname, grooming.offender_band, grooming.target) == (
            "Marc",
            "18+",
            "general",
        )
        assert (grooming.score, grooming.signals, grooming.created_at, grooming.updated_at) == (
            12.5,
            "link,meeting",
            300.0,
            310.0,
        )
        assert grooming.evidence_ref == "trust-escalation-7"
        assert (contact.status, contact.target) == ("closed", "@Lea")
        assert (claim.kind, claim.status, claim.offender_band) == (
            "under_13_claim",
            "open",
            "15-17",
        )
        assert [e.id for e in await trust.escalations(status="open")] == [grooming.id, claim.id]

        assert [m.text for m in await trust.preserved(grooming.id)] == ["salut", "on se voit ?"]
        assert [m.message_id for m in await trust.preserved(contact.id)] == [43]
        incidents = await trust.incidents()
        assert [(i.text, i.escalation_id) for i in incidents] == [
            ("on se voit ?", grooming.id),
            ("viens chez moi", grooming.id),
            ("mon lien", None),
            ("j'ai 11 ans", claim.id),
        ]
        assert incidents[1].signals == "link,meeting" and incidents[3].action == "rebanded"

        frozen = await trust.conversation("room:general:marc")
        assert frozen is not None and frozen.escalation_id == grooming.id
        assert frozen.frozen_at == 300.0
        person = await trust.conversation("person:paul")
        assert person is not None and person.escalation_id == claim.id

        by_job = {j.id: j for j in jobs.values()}
        assert by_job[grooming.id].source is Source.FREEZE
        assert by_job[grooming.id].item.kind is ItemKind.CONVERSATION
        assert by_job[grooming.id].item.text == "viens chez moi"
        assert by_job[grooming.id].signals == 2
        assert by_job[contact.id].source is Source.FENCE
        assert by_job[claim.id].source is Source.AGE_CLAIM
        assert by_job[claim.id].item.kind is ItemKind.PERSON
        assert {by_job[e.id].queue for e in (grooming, contact, claim)} == {
            ReviewQueue.CHILD_SAFETY
        }

        # The fence carries on with the copied escalation: the next attempt joins it.
        recorded = await trust.record("room:general:marc", score=13.0, at=400.0)
        assert recorded.escalation_id == grooming.id and recorded.frozen
        await trust.release("room:general:marc", status="closed", at=500.0)
        assert [e.status for e in await trust.escalations()] == ["closed", "closed", "open"]
    finally:
        await engine.dispose()


async def test_the_review_queue_migration_goes_down_and_up_again(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url)
    config = alembic_config(database_url)
    # Down to one of the revisions it joins: only the review queue's revision is undone.
    await asyncio.to_thread(command.downgrade, config, "s0001")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables >= OLD_TABLES and not tables & REVIEW_TABLES
        await asyncio.to_thread(migrate, database_url)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables >= REVIEW_TABLES and not tables & OLD_TABLES
    finally:
        await engine.dispose()
