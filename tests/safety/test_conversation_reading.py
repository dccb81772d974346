"""The semantic reading of an author's recent messages together: a set-up no single line shows
goes to a moderator from the third message, once, while each message is judged on its own."""

from __future__ import annotations

from collections.abc import Sequence

from causerie.safety.categories import Category
from causerie.safety.pipeline import InlineScorer, LoadedModel, SafetyPipeline
from causerie.settings import SafetySettings
from causerie.store.safety import SafetyStore
from tests.safety.conftest import FakeClock, author, private, say

# Each line alone is harmless to the model; three of them together read as an approach.
STEP = "zz-step"


class TogetherModel:
    """A stand-in for the semantic model: one line is nothing, a trail of three steps is risk."""

    name = "together"
    version = "1"

    def __init__(self) -> None:
        self.read: list[str] = []

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        self.read.extend(texts)
        return [
            {
                Category.CHILD_SAFETY: 0.9 if text.count(STEP) >= 3 else 0.0,
                Category.DRUGS: 0.0,
            }
            for text in texts
        ]


class Faint:
    """The line reader: a step alone reads faintly of grooming (a signal, far from a refusal)."""

    name = "faint"
    version = "1"

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        return [{Category.CHILD_SAFETY: 0.25} if STEP in text else {} for text in texts]


def pipeline_with(store: SafetyStore, clock: FakeClock) -> tuple[SafetyPipeline, TogetherModel]:
    pipeline = SafetyPipeline.from_settings(
        SafetySettings(model=False, semantic=False), store=store, with_model=False, clock=clock
    )
    together = TogetherModel()
    pipeline.model = LoadedModel(
        scorer=InlineScorer(Faint()), name="faint@1", semantic=InlineScorer(together)
    )
    return pipeline, together


async def test_the_third_step_sends_the_conversation_to_a_moderator_and_is_delivered(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, together = pipeline_with(store, clock)
    first = await pipeline.screen(say(f"{STEP} un"))
    clock.advance(5)
    second = await pipeline.screen(say(f"{STEP} deux"))
    assert first.deliver and second.deliver
    # Nothing is read together before the policy's third message.
    assert together.read == []
    assert await store.open_escalations() == []
    clock.advance(5)
    third = await pipeline.screen(say(f"{STEP} trois"))
    assert third.deliver
    assert together.read == [f"{STEP} un . {STEP} deux . {STEP} trois"]
    [job] = await store.open_escalations()
    assert job.category == "child_safety" and job.text == f"{STEP} trois"
    decision = await store.decision(third.decision_id or "")
    assert decision is not None and decision.escalated
    assert "conversation.semantic.child_safety" in decision.rules
    # One review per set-up: the next steps do not queue it again within the half-life.
    clock.advance(5)
    assert (await pipeline.screen(say(f"{STEP} quatre"))).deliver
    assert len(await store.open_escalations()) == 1


async def test_each_author_and_conversation_has_its_own_trail(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, _ = pipeline_with(store, clock)
    for nickname in ("Alex", "Sam", "Noa"):
        assert (await pipeline.screen(say(f"{STEP} de {nickname}", by=author(nickname)))).deliver
    await pipeline.screen(private(f"{STEP} a", to_age=15))
    await pipeline.screen(say(f"{STEP} b"))
    assert await store.open_escalations() == []


async def test_grooming_is_not_read_into_talk_among_adults_or_among_teens(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, together = pipeline_with(store, clock)
    for n in range(5):
        await pipeline.screen(private(f"{STEP} {n}", to_age=30))
        await pipeline.screen(say(f"{STEP} {n}", by=author("Lou", 15), audience="teens"))
        clock.advance(5)
    # Read after the 3rd and the 5th message of each (every second one, to spare the encoder),
    # and no category it may flag there was reached.
    assert len(together.read) == 4
    assert together.read[-1] == " . ".join(f"{STEP} {n}" for n in range(5))
    assert await store.open_escalations() == []


async def test_a_long_trail_is_read_from_its_latest_words(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, together = pipeline_with(store, clock)
    for n in range(3):
        await pipeline.screen(say(f"{STEP} {n} " + "blabla " * 30 + f"end{n}"))
        clock.advance(5)
    [joined] = together.read
    assert len(joined) == 300 and joined.endswith("end2")


async def test_a_trail_without_a_signal_is_not_read_together(
    store: SafetyStore, clock: FakeClock
) -> None:
    # Ordinary talk: no line carries even a faint signal, so the encoder is spared the reading.
    pipeline, together = pipeline_with(store, clock)
    for n in range(8):
        clock.advance(5)
        assert (await pipeline.screen(say(f"on parle du match {n}"))).deliver
    assert together.read == []
    # One faint line (the ninth, a due one) makes the trail worth reading.
    clock.advance(5)
    await pipeline.screen(say(f"{STEP} neuf"))
    assert len(together.read) == 1 and together.read[0].endswith(f"{STEP} neuf")
