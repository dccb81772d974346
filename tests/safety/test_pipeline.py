"""The pipeline as the chat service uses it, with its records in a real database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from causerie.errors import ErrorCode
from causerie.moderation.verdict import Subject
from causerie.protocol.identity import nickname_key
from causerie.safety.categories import Category
from causerie.safety.pipeline import InlineScorer, LoadedModel, SafetyPipeline
from causerie.settings import SafetySettings
from causerie.store.safety import SafetyStore
from tests.safety.conftest import FakeClock, author, private, say

DRUG_SALE = "vends de la c0c@ine"


async def test_every_decision_is_recorded_with_its_reasons(
    pipeline: SafetyPipeline, store: SafetyStore
) -> None:
    allowed = await pipeline.screen(say("Bonjour à tous"))
    assert allowed.deliver and allowed.stored is not None
    await allowed.stored("m42")
    blocked = await pipeline.screen(say(DRUG_SALE))
    assert not blocked.deliver
    assert blocked.code == ErrorCode.CONTENT_BLOCKED
    assert "drugs" in blocked.message
    # Refusals are written before the author hears of them; allowed ones with the next flush.
    refused = await store.decision(blocked.decision_id or "")
    assert refused is not None
    assert refused.action == "block" and refused.category == "drugs"
    assert "fr.drugs.sale" in refused.rules
    assert refused.scores["drugs"] > 0.85
    assert refused.policy_version == pipeline.policy_version
    assert set(refused.stages) >= {"normalise", "rules", "conversation", "decide"}
    assert refused.elapsed_ms > 0 and len(refused.subject_hash) == 64
    assert await store.decision(allowed.decision_id or "") is None
    await pipeline.flush()
    delivered = await store.decision(allowed.decision_id or "")
    assert delivered is not None
    assert (delivered.action, delivered.content_id, delivered.room_id) == (
        "allow",
        "m42",
        "general",
    )


async def test_repeat_offences_climb_the_strike_ladder_and_decay(
    pipeline: SafetyPipeline, store: SafetyStore, clock: FakeClock
) -> None:
    first = await pipeline.screen(say(DRUG_SALE))
    assert first.code == ErrorCode.CONTENT_BLOCKED and "muted" not in first.message
    clock.advance(10)
    second = await pipeline.screen(say(DRUG_SALE))
    assert second.code == ErrorCode.CONTENT_BLOCKED and "muted" in second.message
    clock.advance(10)
    third = await pipeline.screen(say(DRUG_SALE))
    assert third.code == ErrorCode.MUTED and "15 minutes" in third.message
    # Muted: even a harmless message is refused until the mute ends.
    clock.advance(60)
    meanwhile = await pipeline.screen(say("pardon"))
    assert (meanwhile.deliver, meanwhile.code) == (False, ErrorCode.MUTED)
    clock.advance(15 * 60)
    assert (await pipeline.screen(say("pardon"))).deliver
    # Still within the day: the strikes still count, so the next offences kick, then ban.
    actions = []
    for _ in range(4):
        clock.advance(10)
        verdict = await pipeline.screen(say(DRUG_SALE))
        actions.append((verdict.code, verdict.disconnect))
        if verdict.code == ErrorCode.MUTED:
            clock.advance(31 * 60)
    assert (ErrorCode.KICKED, True) in actions
    assert actions[-1] == (ErrorCode.BANNED, True)
    # A ban refuses the nickname at entry, here and on any node reading the same store.
    other_node = SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, clock=clock, with_model=False
    )
    entry = await other_node.screen(Subject(kind="nickname", text="Camille", author=author()))
    assert (entry.deliver, entry.code) == (False, ErrorCode.BANNED)
    # A day later the ban is over and the strikes have halved: a single offence is a block again.
    clock.advance(25 * 3600)
    later = SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, clock=clock, with_model=False
    )
    assert (await later.screen(Subject(kind="nickname", text="Camille", author=author()))).deliver
    assert 3 < later.strikes.total(author().key, clock()) < 8
    clock.advance(10 * 24 * 3600)
    assert later.strikes.total(author().key, clock()) < 0.1


async def test_mutes_decided_on_one_node_reach_the_others(
    pipeline: SafetyPipeline, store: SafetyStore, clock: FakeClock
) -> None:
    other_node = SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, clock=clock, with_model=False
    )
    for _ in range(3):
        verdict = await pipeline.screen(say(DRUG_SALE))
    assert verdict.code == ErrorCode.MUTED
    assert (await other_node.screen(say("hello"))).deliver
    await other_node.refresh_sanctions()
    assert (await other_node.screen(say("hello"))).code == ErrorCode.MUTED
    lifted = await store.lift_sanctions(author().key, "mute", clock())
    assert lifted == 1
    await other_node.refresh_sanctions()
    assert (await other_node.screen(say("hello"))).deliver


async def test_escalations_and_holds_reach_the_moderation_queue_child_safety_first(
    pipeline: SafetyPipeline, store: SafetyStore, clock: FakeClock
) -> None:
    adult = author("Dominique", 40)
    held = await pipeline.screen(say("escort dispo ce soir", by=adult, audience="adults"))
    assert (held.deliver, held.code) == (False, ErrorCode.HELD_FOR_REVIEW)
    clock.advance(5)
    grooming = await pipeline.screen(private("ne dis rien à tes parents", by=adult, to_age=14))
    assert not grooming.deliver
    queue = await store.open_escalations()
    assert [(e.reason, e.category) for e in queue] == [
        ("escalate", "child_safety"),
        ("hold", "solicitation"),
    ]
    assert queue[0].priority == 0 and queue[0].recipient_key == nickname_key("Dominique")
    # The moderator reads the text itself, which the decision record does not keep.
    assert queue[0].text == "ne dis rien à tes parents"
    decision = await store.decision(grooming.decision_id or "")
    assert decision is not None and decision.escalated and decision.audience == "teens"


async def test_mild_signals_add_up_over_a_conversation(pipeline: SafetyPipeline) -> None:
    verdicts = []
    # Each names a drug in passing (a low-severity rule); together they are a pattern.
    for text in ("la weed c'est cool", "la coke aussi", "et la mdma", "la ketamine sinon"):
        verdicts.append(await pipeline.screen(say(text)))
    assert [v.deliver for v in verdicts] == [True, True, True, False]
    assert "drugs" in verdicts[-1].message
    # Another conversation starts afresh.
    assert (await pipeline.screen(private("j'utilise snap"))).deliver


async def test_the_same_text_over_and_over_is_spam(
    pipeline: SafetyPipeline, store: SafetyStore
) -> None:
    text = "venez tous dans le salon musique ce soir"
    verdicts = [await pipeline.screen(say(text)) for _ in range(3)]
    assert [v.deliver for v in verdicts] == [True, True, False]
    decision = await store.decision(verdicts[-1].decision_id or "")
    assert decision is not None and decision.category == "spam"
    assert "spam.repeated_3" in decision.rules


async def test_sexual_talk_between_adults_is_blurred_never_towards_a_minor(
    pipeline: SafetyPipeline,
) -> None:
    adults = await pipeline.screen(say("tu aimes le porno ?", audience="adults"))
    assert adults.deliver and adults.blurred
    to_adult = await pipeline.screen(private("un p0rno ce soir ?", to_age=30))
    assert to_adult.deliver and to_adult.blurred
    to_minor = await pipeline.screen(private("un porno ce soir ?", to_age=15))
    assert not to_minor.deliver and "sexual" in to_minor.message
    mixed_room = await pipeline.screen(say("porno", audience="all"))
    assert not mixed_room.deliver


class MarkerModel:
    """A stand-in for the shipped model: confident on one synthetic marker, silent otherwise."""

    name = "marker"
    version = "1"

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        return [
            {
                c: (0.99 if "zz-threat-marker" in t and c == Category.VIOLENCE else 0.0)
                for c in Category
            }
            for t in texts
        ]


class FaintModel:
    """A model that reads one style of line as faintly off-platform, as the shipped one reads
    handle-like gibberish."""

    name = "faint"
    version = "1"

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        # 0.3 weighs 0.27: under a low-severity rule's 0.35, the mildest signal that adds up.
        return [{Category.OFF_PLATFORM: 0.3 if "zz-faint" in t else 0.0} for t in texts]


async def test_a_faint_reading_repeated_over_many_lines_is_not_a_refusal(
    store: SafetyStore,
) -> None:
    pipeline = SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, with_model=False
    )
    pipeline.model = LoadedModel(scorer=InlineScorer(FaintModel()), name="faint@1")
    verdicts = [await pipeline.screen(say(f"zz-faint {i} {'x' * i}")) for i in range(12)]
    assert all(v.deliver for v in verdicts)


class SlowScorer:
    async def score(self, text: str) -> dict[Category, float]:
        await asyncio.sleep(1)
        return {}


async def test_the_model_stage_scores_what_no_rule_lists(store: SafetyStore) -> None:
    pipeline = SafetyPipeline.from_settings(
        SafetySettings(model=False), store=store, with_model=False
    )
    pipeline.model = LoadedModel(scorer=InlineScorer(MarkerModel()), name="marker@1")
    verdict = await pipeline.screen(say("zz-threat-marker"))
    assert not verdict.deliver and "threat" in verdict.message
    decision = await store.decision(verdict.decision_id or "")
    assert decision is not None
    assert "model.violence" in decision.rules and "model" in decision.stages
    assert decision.policy_version.endswith("/marker@1")
    assert (await pipeline.screen(say("bonjour"))).deliver


async def test_a_model_past_its_time_leaves_the_decision_to_the_rules(
    store: SafetyStore,
) -> None:
    settings = SafetySettings(model=False, model_timeout_ms=20)
    pipeline = SafetyPipeline.from_settings(settings, store=store, with_model=False)
    pipeline.model = LoadedModel(scorer=SlowScorer(), name="slow@1")
    started = time.perf_counter()
    allowed = await pipeline.screen(say("bonjour"))
    blocked = await pipeline.screen(say(DRUG_SALE))
    assert time.perf_counter() - started < 0.5
    assert allowed.deliver and not blocked.deliver
    decision = await store.decision(blocked.decision_id or "")
    assert decision is not None and "model" in decision.stages


async def test_a_very_long_text_is_refused_in_bounded_time(
    pipeline: SafetyPipeline, store: SafetyStore
) -> None:
    started = time.perf_counter()
    verdict = await pipeline.screen(say("a" * 100_000))
    assert (verdict.deliver, verdict.code) == (False, ErrorCode.MESSAGE_TOO_LONG)
    longest = await pipeline.screen(say("ajoute moi sur s n a p " * 850))
    assert time.perf_counter() - started < 2.0
    assert (longest.deliver, longest.code) == (False, ErrorCode.CONTENT_BLOCKED)
    decision = await store.decision(verdict.decision_id or "")
    assert decision is not None and "too_long" in decision.rules


async def test_packs_and_policy_reload_without_a_restart(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    settings = SafetySettings(model=False, pack_dirs=[packs])
    pipeline = SafetyPipeline.from_settings(settings, with_model=False)
    assert (await pipeline.screen(say("rendez-vous au zorgblat"))).deliver
    assert not pipeline.reload_if_changed()
    pack = packs / "local.toml"
    pack.write_text(
        '[pack]\nname = "local"\n\n[[rule]]\nid = "drugs.slang"\ncategory = "drugs"\n'
        'severity = "high"\nterms = ["zorgblat"]\n',
        encoding="utf-8",
    )
    assert pipeline.reload_if_changed()
    assert not (await pipeline.screen(say("rendez-vous au z0rgbl@t"))).deliver
    # A broken edit is refused and the rules in force stay.
    pack.write_text("[pack\n", encoding="utf-8")
    assert not pipeline.reload_if_changed()
    assert not (await pipeline.screen(say("rendez-vous au zorgblat"))).deliver


async def test_a_warning_names_the_harm_without_being_refused_for_it(
    pipeline: SafetyPipeline,
) -> None:
    # The same rule fires on all three ("argent facile"); only the one that warns is delivered.
    scam = await pipeline.screen(
        say("argent facile en 24h, écris en privé pour le plan", by=author("Lou"))
    )
    assert not scam.deliver and "scam" in scam.message
    warning = await pipeline.screen(
        say(
            "si on vous propose de l'argent facile c'est une arnaque, signalez le compte",
            by=author("Sacha"),
        )
    )
    assert warning.deliver
    # A warning in front of a request for its author softens nothing.
    attacker = await pipeline.screen(
        say("c'est une arnaque ce site, argent facile avec moi, écris moi", by=author("Noa"))
    )
    assert not attacker.deliver
