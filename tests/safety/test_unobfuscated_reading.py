"""The semantic model reads an obfuscated message twice: as written, and with the obfuscation
undone, because the encoder reads words, not "m0rt" or "b a i s e r"."""

from __future__ import annotations

from collections.abc import Sequence

from causerie.moderation.forms import read
from causerie.moderation.verdict import Subject
from causerie.safety.categories import Category
from causerie.safety.pipeline import InlineScorer, LoadedModel, SafetyPipeline, _unobfuscated
from causerie.settings import SafetySettings
from causerie.store.safety import SafetyStore
from tests.safety.conftest import FakeClock, author, say


class WordReader:
    """A stand-in for the encoder: it knows the word "menace" only when spelt as a word."""

    name = "words"
    version = "1"

    def __init__(self) -> None:
        self.read: list[str] = []

    def score_batch(self, texts: Sequence[str]) -> list[dict[Category, float]]:
        self.read.extend(texts)
        return [{Category.VIOLENCE: 0.99 if "menace" in t.split() else 0.0} for t in texts]


def pipeline_with(store: SafetyStore, clock: FakeClock) -> tuple[SafetyPipeline, WordReader]:
    pipeline = SafetyPipeline.from_settings(
        SafetySettings(model=False, semantic=False), store=store, with_model=False, clock=clock
    )
    reader = WordReader()
    pipeline.model = LoadedModel(
        scorer=InlineScorer(reader), name="words@1", semantic=InlineScorer(reader)
    )
    return pipeline, reader


async def test_leetspeak_and_spelt_out_words_are_read_undone(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, reader = pipeline_with(store, clock)
    assert (await pipeline.screen(say("une menace"))).deliver is False
    for text in ("une m3n4ce", "une m e n a c e"):
        verdict = await pipeline.screen(say(text, by=author(f"A{len(reader.read)}x")))
        assert not verdict.deliver, text
    assert "une menace" in reader.read


async def test_plain_text_is_read_once_and_nicknames_are_left_to_the_other_models(
    store: SafetyStore, clock: FakeClock
) -> None:
    pipeline, reader = pipeline_with(store, clock)
    assert (await pipeline.screen(say("salut Lea92, rdv 15h au parc"))).deliver
    assert reader.read == ["salut Lea92, rdv 15h au parc"]
    reader.read.clear()
    # The encoder does not read a bare nickname ("Sarah92" read as a handle); the rules do.
    assert (
        await pipeline.screen(Subject(kind="nickname", text="Menace92", author=author()))
    ).deliver
    assert reader.read == []
    others = WordReader()
    assert pipeline.model is not None
    pipeline.model = LoadedModel(
        scorer=pipeline.model.scorer,
        name="words@1",
        semantic=pipeline.model.semantic,
        others=InlineScorer(others),
    )
    await pipeline.screen(Subject(kind="nickname", text="Menace92", author=author()))
    assert (others.read, reader.read) == (["Menace92"], [])


def test_only_obfuscation_inside_words_is_undone() -> None:
    assert _unobfuscated(read("t'es m0rt demain")) == "t es mort demain"
    assert _unobfuscated(read("g a g n e z un iphone")) == "gagnez un iphone"
    for plain in ("salut Eval96 ça va", "rdv 15h au parc", "on est en 4e B", "j'ai 3 chats"):
        assert _unobfuscated(read(plain)) is None, plain
