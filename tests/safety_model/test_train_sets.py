"""scripts/train_semantic_model.py --sets: tuning sets read as training lines, unseen sets never."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from causerie.safety.categories import Category
from tests.safety_model.test_heldout_set import UNSEEN

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_semantic_model.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_semantic_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _line(text: str, label: str, category: str | None, context: str) -> str:
    row = {
        "id": "x",
        "text": text,
        "lang": "fr",
        "label": label,
        "category": category,
        "context": context,
        "form": "plain",
        "author_band": "18+",
        "note": "",
    }
    return json.dumps(row, ensure_ascii=False)


def test_set_lines_become_rows_less_those_harmless_only_for_their_context(tmp_path: Path) -> None:
    directory = tmp_path / "tuning"
    directory.mkdir()
    lines = [
        _line("placeholder threat line number one", "harmful", "violence", "all_ages_room"),
        _line("placeholder proposition between adults", "harmful", "sexual", "all_ages_room"),
        _line("the same proposition, harmless here", "harmless", None, "adult_room"),
        _line("adults swap numbers before a coffee", "harmless", None, "private_adult_adult"),
        _line("on se retrouve à la gare pour le vélo", "harmless", None, "all_ages_room"),
    ]
    (directory / "lines.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, tuning = _script().set_rows([directory])
    read = {text: labels for text, labels, _, _ in rows} | {e.text: e.labels for e in tuning}
    assert read == {
        "placeholder threat line number one": frozenset({Category.VIOLENCE}),
        "placeholder proposition between adults": frozenset({Category.SEXUAL}),
        "on se retrouve à la gare pour le vélo": frozenset(),
    }
    assert all(group.startswith("set:tuning:") for _, _, group, _ in rows)


@pytest.mark.parametrize("unseen", UNSEEN, ids=lambda path: path.name)
def test_the_unseen_sets_are_refused(unseen: Path) -> None:
    # UNSEEN is the one list of the unseen sets: one added there and not to the script fails.
    with pytest.raises(SystemExit, match="never trained on"):
        _script().main(["--sets", str(unseen), "--out", "/nonexistent/heads.npz"])
