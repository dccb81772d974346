"""MicroBatcher: concurrent calls share one score_batch call and get the same scores."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from causerie.safety.categories import Category
from causerie.safety.model import LinearNgramModel, load_default_model
from causerie.safety.model.batcher import BatcherClosedError, MicroBatcher

TEXTS = [
    "salut tout le monde",
    "ajoute moi sur snap",
    "vends de la beuh sur Lyon",
    "the assassin in that film was great",
    "i know where you live",
    "mon numéro c'est le 06 11 22 33 44",
    "bonne soirée",
    "selling a pistol, no paperwork",
] * 8


@pytest.fixture(scope="module")
def model() -> LinearNgramModel:
    return load_default_model()


@pytest.mark.parametrize("in_thread", [False, True])
@pytest.mark.parametrize("max_wait_ms", [0.0, 2.0])
async def test_concurrent_calls_are_batched_with_the_same_scores(
    model: LinearNgramModel, in_thread: bool, max_wait_ms: float
) -> None:
    async with MicroBatcher(
        model, max_batch=16, max_wait_ms=max_wait_ms, in_thread=in_thread
    ) as batcher:
        results = await asyncio.gather(*(batcher.score(text) for text in TEXTS))
    expected = model.score_batch(TEXTS)
    for got, want in zip(results, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    assert sum(batcher.batch_sizes) == len(TEXTS)
    assert max(batcher.batch_sizes) == 16
    assert len(batcher.batch_sizes) == len(TEXTS) // 16


async def test_a_lone_call_waits_at_most_max_wait(model: LinearNgramModel) -> None:
    async with MicroBatcher(model, max_wait_ms=2.0) as batcher:
        scores = await asyncio.wait_for(batcher.score("bonjour"), timeout=1.0)
    assert set(scores) == set(model.categories)
    assert list(batcher.batch_sizes) == [1]


async def test_close_scores_what_is_queued_then_refuses(model: LinearNgramModel) -> None:
    batcher = MicroBatcher(model, max_wait_ms=50.0)
    await batcher.start()
    pending = [asyncio.ensure_future(batcher.score(text)) for text in TEXTS[:5]]
    await asyncio.sleep(0)
    await batcher.close()
    assert all(set(task.result()) == set(model.categories) for task in pending)
    with pytest.raises(BatcherClosedError):
        await batcher.score("trop tard")


async def test_score_before_start_is_refused(model: LinearNgramModel) -> None:
    with pytest.raises(BatcherClosedError):
        await MicroBatcher(model).score("bonjour")


class BrokenModel:
    """A TextModel whose inference fails, to see the failure reach every waiting caller."""

    name = "broken"
    version = "0"

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        raise RuntimeError("inference failed")


async def test_a_failing_batch_fails_its_callers_and_the_batcher_goes_on() -> None:
    async with MicroBatcher(BrokenModel(), max_wait_ms=0) as batcher:
        outcomes = await asyncio.gather(
            *(batcher.score(t) for t in ("a", "b")), return_exceptions=True
        )
        assert all(isinstance(o, RuntimeError) for o in outcomes)
        with pytest.raises(RuntimeError, match="inference failed"):
            await batcher.score("c")


def test_invalid_settings_are_refused(model: LinearNgramModel) -> None:
    with pytest.raises(ValueError):
        MicroBatcher(model, max_batch=0)
    with pytest.raises(ValueError):
        MicroBatcher(model, max_wait_ms=-1)
