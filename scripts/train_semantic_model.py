"""Train the semantic stage's heads over the sentence encoder and bake the exemplar banks.

    .venv/bin/python scripts/train_semantic_model.py            # about a minute on one core
    .venv/bin/python scripts/evaluate_semantic_model.py

Reads the hand-written exemplar banks (data/safety/semantic/exemplars/<label>.txt, which are
also the core of the training data) and the hand-written corpus (data/safety/semantic/corpus/,
five lines in six for training, the sixth for the thresholds), generates template lines
(scripts/semantic_templates.py, fixed seed) and writes data/safety/semantic/train.jsonl, then
trains one logistic head per category on the 512-d embeddings (numpy Newton iterations, no
scikit-learn needed), fits how to combine each head with its exemplar score on out-of-fold
scores, shifts each category's bias so that 0.5 is the best operating point on
data/safety/semantic/dev.jsonl plus the corpus's tuning sixth, and writes
src/causerie/safety/model/semantic_heads.npz (heads, banks and their embeddings).
Dev lines never enter training: a generated or corpus line that collides with one is dropped,
and an exemplar that does stops the script.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

# One core: the server gives the encoder one thread, and the machine is shared.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import numpy.typing as npt

from causerie.safety.categories import Category
from causerie.safety.model.dataset import Example, load, overlap_key
from causerie.safety.model.encoder import Encoder
from causerie.safety.model.semantic import (
    HARMLESS,
    HEADS_FILE,
    ExemplarBank,
    Heads,
    exemplar_scores,
    read_exemplar_files,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from semantic_templates import (
    AMBUSH_STEPS,
    CHATTER,
    DEALING_STEPS,
    GROOMING_STEPS,
    HARMLESS_CONVERSATION,
    NICK_MENTIONS,
    NICK_NAMES,
    NICK_SUFFIXES,
    SHORT_HARMLESS,
    SLOTS,
    TEMPLATES,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "safety" / "semantic"
EXEMPLARS = DATA / "exemplars"
CORPUS = DATA / "corpus"
# The sets that measure text nobody trained on (data/safety/<name>/, their READMEs).
UNSEEN_SETS = ("heldout", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8")
TRAIN = DATA / "train.jsonl"
DEV = DATA / "dev.jsonl"
HEADS = ROOT / "src" / "causerie" / "safety" / "model" / HEADS_FILE

CATEGORIES = tuple(Category)
FORMAT = "1"
# Never put a grooming signal next to sexual or paid-sex text (the test data rule).
FORBIDDEN_PAIRS = {
    frozenset({Category.CHILD_SAFETY, Category.SEXUAL}),
    frozenset({Category.CHILD_SAFETY, Category.SOLICITATION}),
}
_SLOT = re.compile(r"\{(\w+)\}")
FloatArray = npt.NDArray[np.float32]

_FRENCH = re.compile(
    r"\b(je|tu|t'|j'|c'est|le|la|les|des|une?|et|est|pour|avec|sur|moi|toi|mon|ma|mes|ton|ta|"
    r"tes|qui|quoi|pas|dans|chez|ce|cette|slt|mdr|tkt|jsp|vends|cherche|ajoute|gagne|"
    r"qu'|quel|elle|il|on|vous|nous|sa|son|ses|au|aux|du|de|en|à|ça|ici|fais|va|sale)\b",
    re.IGNORECASE,
)
_ENGLISH = re.compile(
    r"\b(i|you|your|the|a|an|and|is|are|for|with|on|me|my|who|what|not|in|at|this|that|"
    r"to|of|it|i'm|don't|lol|got|get|selling|add|need|he|she|they|we|come|go)\b",
    re.IGNORECASE,
)


def language(text: str) -> str:
    """A rough fr/en tag from function words, enough to split reports by language."""
    fr, en = len(_FRENCH.findall(text)), len(_ENGLISH.findall(text))
    if fr == en:
        return "fr" if re.search(r"[éèêàçùâîôû]", text) else "en"
    return "fr" if fr > en else "en"


# --------------------------------------------------------------------------- generation


_FR_CASUAL = [
    ("tu es ", "t'es "),
    ("je ne sais pas", "jsp"),
    ("s'il te plaît", "stp"),
    ("c'est ", "c "),
    ("quoi", "koi"),
    ("pourquoi", "pk"),
    ("beaucoup", "bcp"),
    ("aujourd'hui", "ajd"),
    ("je suis", "jsuis"),
    ("tu as ", "t'as "),
    ("qu'est-ce que", "qu'est ce que"),
    ("avec", "avc"),
    ("message", "msg"),
]
_EN_CASUAL = [
    ("you ", "u "),
    (" are ", " r "),
    ("your ", "ur "),
    ("please", "pls"),
    ("tonight", "2nite"),
    ("to be honest", "tbh"),
    ("i don't know", "idk"),
    ("what's", "whats"),
    ("for ", "4 "),
]
_LEET = str.maketrans({"a": "4", "e": "3", "o": "0", "i": "1"})


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def casual(text: str, rng: random.Random) -> str:
    """A chat-style variant: case, accents, abbreviations, greetings and tails, a little leet."""
    out = text
    if rng.random() < 0.5:
        out = out.lower()
    if rng.random() < 0.3:
        out = strip_accents(out)
    pairs = _FR_CASUAL if language(text) == "fr" else _EN_CASUAL
    for source, target in pairs:
        if source in out and rng.random() < 0.5:
            out = out.replace(source, target)
    if rng.random() < 0.4:
        out = out.rstrip(" ?!.")
    if rng.random() < 0.25:
        out = f"{rng.choice(SLOTS['wrap_pre'])} {out}"
    if rng.random() < 0.25:
        out = f"{out} {rng.choice(SLOTS['wrap_post'])}"
    if rng.random() < 0.05:
        words = out.split()
        i = rng.randrange(len(words))
        words[i] = words[i].translate(_LEET)
        out = " ".join(words)
    return out


def expand(template: str, rng: random.Random) -> str:
    return _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)


def labels_of(name: str) -> frozenset[Category]:
    if name == HARMLESS:
        return frozenset()
    labels = frozenset(Category(part) for part in name.split("+"))
    if any(pair <= labels for pair in FORBIDDEN_PAIRS):
        raise SystemExit(f"forbidden label pair in {name!r}")
    return labels


Row = tuple[str, frozenset[Category], str, float]  # text, labels, group, weight


def core_rows(rng: random.Random) -> list[Row]:
    """The hand-written exemplars, each with one chat-style variant."""
    rows: list[Row] = []
    for i, (label, text) in enumerate(read_exemplar_files(EXEMPLARS)):
        labels = labels_of(label)
        group = f"core:{label}:{i // 4}"
        rows.append((text, labels, group, 2.0))
        rows.append((casual(text, rng), labels, group, 1.0))
    return rows


def generated_rows(rng: random.Random, per_template: int, harmless_per_template: int) -> list[Row]:
    rows: list[Row] = []
    for label, templates in TEMPLATES.items():
        labels = labels_of(label)
        n = harmless_per_template if label == HARMLESS else per_template
        for t, template in enumerate(templates):
            group = f"tpl:{label}:{t}"
            for _ in range(n):
                rows.append((casual(expand(template, rng), rng), labels, group, 1.0))
    # Harmful lines inside ordinary chatter: the harm still counts.
    harmful = [(label, t) for label, ts in TEMPLATES.items() if label != HARMLESS for t in ts]
    for j in range(300):
        label, template = rng.choice(harmful)
        line = expand(template, rng)
        filler = rng.choice(CHATTER)
        text = f"{filler} {line}" if rng.random() < 0.5 else f"{line} {filler}"
        rows.append((casual(text, rng), labels_of(label), f"mix:{j % 40}", 1.0))
    # Grooming spread over several messages, read as one text (as score_conversation does).
    for j in range(160):
        steps = sorted(rng.sample(range(len(GROOMING_STEPS)), rng.choice([3, 4])))
        messages = [rng.choice(GROOMING_STEPS[s]) for s in steps]
        for _ in range(rng.choice([0, 1, 2])):
            messages.insert(rng.randrange(len(messages) + 1), rng.choice(CHATTER))
        rows.append(
            (" . ".join(messages), frozenset({Category.CHILD_SAFETY}), f"conv:{j % 20}", 1.0)
        )
    for name, steps_list, category in (
        ("ambush", AMBUSH_STEPS, Category.AMBUSH),
        ("dealing", DEALING_STEPS, Category.DRUGS),
    ):
        for j in range(100):
            chosen = sorted(rng.sample(range(len(steps_list)), rng.choice([3, 4])))
            messages = [rng.choice(steps_list[s]) for s in chosen]
            if rng.random() < 0.5:
                messages.insert(rng.randrange(len(messages) + 1), rng.choice(CHATTER))
            rows.append((" . ".join(messages), frozenset({category}), f"{name}:{j % 20}", 1.0))
    # Asking someone's age is ordinary on a chat site: only with school, secrecy, being alone
    # or a meeting does it become an approach, so an opener alone is taught as harmless.
    openers = [
        "t'as quel âge ?",
        "tu as quel âge",
        "how old are you?",
        "age ?",
        "asl ?",
        "t'as quel age toi",
        "how old r u",
        "tu as quel âge et tu viens d'où ?",
    ]
    for j in range(80):
        greeting = rng.choice(SHORT_HARMLESS[:40])
        text = f"{greeting} . {rng.choice(openers)}"
        if rng.random() < 0.4:
            text += f" . {rng.choice(['moi 15', 'moi 16', 'i am 17', '14', 'moi 19', '22 et toi'])}"
        rows.append((text, frozenset(), f"opener:{j % 10}", 1.0))

    def nick() -> str:
        name = rng.choice(NICK_NAMES)
        return name + rng.choice(NICK_SUFFIXES) if rng.random() < 0.8 else name.lower()

    for j in range(700):
        template = rng.choice(NICK_MENTIONS)
        text = template.replace("{nick2}", nick()).replace("{nick}", nick())
        rows.append((text, frozenset(), f"nick:{j % 28}", 1.0))
    for text in SHORT_HARMLESS:
        rows.append((text, frozenset(), f"short:{text}", 2.0))
        rows.append((casual(text, rng), frozenset(), f"short:{text}", 1.0))
    for j in range(240):
        messages = rng.sample(HARMLESS_CONVERSATION, rng.choice([2, 3, 4, 5]))
        rows.append((" . ".join(messages), frozenset(), f"hconv:{j % 20}", 1.0))
    return rows


def sets_thresholds(text: str) -> bool:
    """Whether a hand-written line is one of the one in six (by a hash of its text, so the
    split is stable) kept apart from training to set the thresholds."""
    key = overlap_key(text)
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 6 == 0


def corpus_rows(without: Sequence[str] = ()) -> tuple[list[Row], list[Example]]:
    """The hand-written corpus (data/safety/semantic/corpus/*.jsonl, less the files matching a
    pattern of ``without``): training rows, and one line in six (by a hash of its text, so the
    split is stable) kept apart to set the thresholds."""
    rows: list[Row] = []
    tuning: list[Example] = []
    if not CORPUS.is_dir():
        return rows, tuning
    for path in sorted(CORPUS.glob("*.jsonl")):
        if any(path.match(pattern) for pattern in without):
            continue
        for i, example in enumerate(load(path)):
            if any(pair <= example.labels for pair in FORBIDDEN_PAIRS):
                raise SystemExit(f"{path}: forbidden label pair in {example.text!r}")
            if sets_thresholds(example.text):
                tuning.append(example)
            else:
                rows.append((example.text, example.labels, f"corpus:{path.stem}:{i // 5}", 1.5))
    return rows, tuning


# Where a harmless line of an evaluation set is harmless only because of who reads it (adults'
# sexual talk, adults swapping numbers): the heads read no context, so such lines teach nothing.
_CONTEXT_HARMLESS = frozenset({"adult_room", "private_adult_adult"})


def set_rows(directories: Sequence[Path], weight: float = 1.5) -> tuple[list[Row], list[Example]]:
    """The lines of tuning sets in the evaluation schema (data/safety/dev/lines.jsonl...) as
    corpus rows: a harmful line is its category, a harmless one no category, less the harmless
    lines whose label depends on their context. Split as the corpus is (one in six apart)."""
    rows: list[Row] = []
    tuning: list[Example] = []
    for directory in directories:
        path = directory / "lines.jsonl"
        for i, line in enumerate(path.read_text("utf-8").splitlines()):
            item = json.loads(line)
            if item["label"] == "harmless" and item["context"] in _CONTEXT_HARMLESS:
                continue
            labels = (
                frozenset({Category(item["category"])})
                if item["label"] == "harmful"
                else frozenset()
            )
            example = Example(text=item["text"], lang=item["lang"], labels=labels)
            if sets_thresholds(example.text):
                tuning.append(example)
            else:
                rows.append((example.text, labels, f"set:{directory.name}:{i // 5}", weight))
    return rows, tuning


def dedupe(rows: Sequence[Row], dev_keys: set[str]) -> tuple[list[Row], int]:
    seen: set[str] = set()
    out: list[Row] = []
    dropped = 0
    for row in rows:
        key = overlap_key(row[0])
        if key in dev_keys:
            if row[2].startswith("core:"):
                raise SystemExit(f"hand-written exemplar is also a dev line: {row[0]!r}")
            dropped += 1
            continue
        if key and key not in seen:
            seen.add(key)
            out.append(row)
    return out, dropped


# --------------------------------------------------------------------------- training


def training_lines(
    rng: random.Random,
    sets: Sequence[Path],
    *,
    without: Sequence[str] = (),
    set_weight: float = 1.5,
    per_template: int = 14,
    harmless_per_template: int = 22,
) -> tuple[list[Row], int, list[Example]]:
    """The training rows, how many generated lines collided with a threshold line, and the
    threshold lines (the dev file, the corpus's and the sets' sixth); refuses an unseen set."""
    if any(d.resolve().name in UNSEEN_SETS for d in sets):
        raise SystemExit(f"{', '.join(UNSEEN_SETS)} measure unseen text: never trained on")
    corpus, corpus_tuning = corpus_rows(without)
    from_sets, sets_tuning = set_rows(sets, set_weight)
    dev = load(DEV) + corpus_tuning + sets_tuning
    rows, dropped = dedupe(
        core_rows(rng)
        + corpus
        + from_sets
        + generated_rows(rng, per_template, harmless_per_template),
        {overlap_key(e.text) for e in dev},
    )
    return rows, dropped, dev


def fit_logistic(
    x: FloatArray, y: FloatArray, weight: FloatArray, l2: float, iterations: int = 12
) -> tuple[FloatArray, float]:
    """Weighted L2 logistic regression by Newton's method; the intercept is not penalised."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1), dtype=np.float32)]).astype(np.float64)
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        gradient = xb.T @ (weight * (p - y)) + penalty * w
        s = weight * p * (1 - p) + 1e-9
        hessian = (xb * s[:, None]).T @ xb + np.diag(penalty + 1e-8)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-5:
            break
    return w[:-1].astype(np.float32), float(w[-1])


def train_heads(
    x: FloatArray, y: FloatArray, weight: FloatArray, l2: float
) -> tuple[FloatArray, FloatArray]:
    coef = np.zeros((len(CATEGORIES), x.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(CATEGORIES), dtype=np.float32)
    for j in range(len(CATEGORIES)):
        coef[j], intercept[j] = fit_logistic(x, y[:, j], weight, l2)
    return coef, intercept


def group_folds(groups: Sequence[str], k: int, seed: int) -> npt.NDArray[np.int64]:
    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    fold_of = {name: i % k for i, name in enumerate(names)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def loo_exemplar_scores(
    x: FloatArray, texts: Sequence[str], bank: ExemplarBank, k: int
) -> FloatArray:
    """Exemplar scores with each text's own bank entry left out (it is its own nearest)."""
    own = {text: i for i, text in enumerate(bank.texts)}
    out = exemplar_scores(x, bank, CATEGORIES, k)
    for i, text in enumerate(texts):
        j = own.get(text)
        if j is None:
            continue
        keep = np.ones(len(bank), dtype=bool)
        keep[j] = False
        reduced = ExemplarBank(
            tuple(t for t, m in zip(bank.texts, keep, strict=True) if m),
            tuple(lab for lab, m in zip(bank.labels, keep, strict=True) if m),
            bank.embeddings[keep],
        )
        out[i] = exemplar_scores(x[i : i + 1], reduced, CATEGORIES, k)[0]
    return out


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def best_threshold(scores: FloatArray, truth: FloatArray) -> tuple[float, float]:
    """The threshold with the best F1 (ties go to the one nearest 0.5), and that F1."""
    best = (0.5, -1.0)
    for t in np.arange(0.10, 0.91, 0.025):
        predicted = scores >= t
        tp = float((predicted & (truth > 0)).sum())
        fp = float((predicted & (truth == 0)).sum())
        fn = float((~predicted & (truth > 0)).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1.0)
        if f1 > best[1] + 1e-9 or (abs(f1 - best[1]) <= 1e-9 and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (float(t), f1)
    return best


def sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = (1 / (1 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--per-template", type=int, default=14)
    parser.add_argument("--harmless-per-template", type=int, default=22)
    parser.add_argument("--l2", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    parser.add_argument("--k", type=int, nargs="+", default=[3])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--without",
        nargs="*",
        default=[],
        metavar="GLOB",
        help="leave out the corpus files matching these patterns (e.g. 'w2_*')",
    )
    parser.add_argument(
        "--sets",
        nargs="*",
        type=Path,
        default=[],
        metavar="DIR",
        help="tuning sets in the evaluation schema to train on too (never the held-out set)",
    )
    parser.add_argument(
        "--combine-on-dev",
        action="store_true",
        help="fit how each head combines with its exemplar score on the threshold lines instead "
        "of out-of-fold training lines: for an encoder tuned on the training lines "
        "(scripts/tune_encoder.py), whose training lines are never out of its fold",
    )
    parser.add_argument(
        "--set-weight",
        type=float,
        default=1.5,
        help="the training weight of a tuning set's line (a corpus line weighs 1.5)",
    )
    parser.add_argument(
        "--out", type=Path, default=HEADS, help="where to write the heads (default: the package's)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rng = random.Random(args.seed)

    rows, dropped, dev = training_lines(
        rng,
        args.sets,
        without=args.without,
        set_weight=args.set_weight,
        per_template=args.per_template,
        harmless_per_template=args.harmless_per_template,
    )
    examples = [Example(text=t, lang=language(t), labels=labels) for t, labels, _, _ in rows]
    TRAIN.write_text("".join(e.to_json() + "\n" for e in examples), encoding="utf-8")
    counts = Counter(label.value for e in examples for label in e.labels)
    print(
        f"train: {len(examples)} lines ({sum(not e.labels for e in examples)} harmless), "
        f"{dropped} generated lines dropped as dev collisions; dev: {len(dev)} lines"
    )
    print("  " + ", ".join(f"{c.value} {counts[c.value]}" for c in CATEGORIES))

    encoder = Encoder(threads=1)
    x = encoder.encode([t for t, _, _, _ in rows])
    weight = np.array([w for _, _, _, w in rows], dtype=np.float32)
    y = np.array([[c in labels for c in CATEGORIES] for _, labels, _, _ in rows], dtype=np.float32)
    groups = [g for _, _, g, _ in rows]
    x_dev = encoder.encode([e.text for e in dev])
    y_dev = np.array([[c in e.labels for c in CATEGORIES] for e in dev], dtype=np.float32)
    print(f"embedded in {time.perf_counter() - started:.1f} s")

    entries = read_exemplar_files(EXEMPLARS)
    bank_texts = [text for _, text in entries]
    bank = ExemplarBank(
        tuple(bank_texts),
        tuple(label for label, _ in entries),
        encoder.encode(bank_texts).astype(np.float16).astype(np.float32),
    )
    texts = [t for t, _, _, _ in rows]
    folds = group_folds(groups, args.folds, args.seed)

    best: tuple[float, float, int, Heads] | None = None
    for l2 in args.l2:
        oof = np.zeros_like(y)
        for f in range(args.folds):
            test = folds == f
            coef, intercept = train_heads(x[~test], y[~test], weight[~test], l2)
            oof[test] = x[test] @ coef.T + intercept
        coef, intercept = train_heads(x, y, weight, l2)
        for k in args.k:
            knn = loo_exemplar_scores(x, texts, bank, k)
            combine = np.zeros((len(CATEGORIES), 3), dtype=np.float32)
            dev_heads = x_dev @ coef.T + intercept
            dev_knn = exemplar_scores(x_dev, bank, CATEGORIES, k)
            for j in range(len(CATEGORIES)):
                if args.combine_on_dev:
                    features = np.stack([dev_heads[:, j], dev_knn[:, j]], axis=1)
                    target, sample = y_dev[:, j], np.ones(len(y_dev), dtype=np.float32)
                else:
                    features = np.stack([oof[:, j], knn[:, j]], axis=1)
                    target, sample = y[:, j], weight
                (a, g), b = fit_logistic(features.astype(np.float32), target, sample, 1e-2)
                # A bank an operator extends must pull its way: never a negative weight.
                combine[j] = (a, max(g, 0.0), b)
            dev_z = combine[:, 0] * dev_heads + combine[:, 1] * dev_knn + combine[:, 2]
            dev_p = sigmoid(dev_z)
            f1s = []
            for j in range(len(CATEGORIES)):
                t, f1 = best_threshold(dev_p[:, j], y_dev[:, j])
                combine[j, 2] -= logit(t)
                f1s.append(f1)
            macro = float(np.mean(f1s))
            print(
                f"l2={l2:g} k={k}: dev macro F1 {macro:.3f} at tuned thresholds "
                f"(combine head/exemplar weights {np.round(combine[:, :2].mean(0), 2).tolist()})"
            )
            heads = Heads(
                version="",
                categories=CATEGORIES,
                coef=coef,
                intercept=intercept,
                combine=combine,
                k=k,
                bank=bank,
            )
            if best is None or macro > best[0]:
                best = (macro, l2, k, heads)
    assert best is not None
    macro, l2, k, heads = best
    digest = hashlib.sha256()
    digest.update(TRAIN.read_bytes())
    for label, text in entries:
        digest.update(f"{label}\t{text}\n".encode())
    version = f"{FORMAT}.0+{digest.hexdigest()[:8]}"
    final = Heads(
        version=version,
        categories=CATEGORIES,
        coef=heads.coef,
        intercept=heads.intercept,
        combine=heads.combine,
        k=k,
        bank=bank,
        metadata={
            "l2": l2,
            "dev_macro_f1": round(macro, 4),
            "train_lines": len(rows),
            "dev_lines": len(dev),
            "exemplars": len(bank),
            "encoder": encoder.version,
            "seed": args.seed,
        },
    )
    buffer = io.BytesIO()
    final.save(buffer)
    args.out.write_bytes(buffer.getvalue())
    print(
        f"wrote {args.out} ({len(buffer.getvalue()) / 1e6:.2f} MB), version "
        f"{version}, l2={l2:g}, k={k}, {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
