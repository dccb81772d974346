"""Reading the labelled safety data sets (JSON lines) shared by training, evaluation and tests.

One example per line: ``{"text": "...", "lang": "fr" | "en", "labels": ["drugs", ...]}``; an
empty ``labels`` list marks benign text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from causerie.safety.categories import Category
from causerie.text import fold

LANGUAGES = ("fr", "en")

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    labels: frozenset[Category]

    def to_json(self) -> str:
        labels = sorted(label.value for label in self.labels)
        return json.dumps(
            {"text": self.text, "lang": self.lang, "labels": labels}, ensure_ascii=False
        )


class DatasetError(ValueError):
    pass


def parse_lines(lines: Iterable[str], source: str = "<data>") -> Iterator[Example]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = frozenset(Category(label) for label in row["labels"])
            text, lang = row["text"], row["lang"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{source}:{number}: {exc}") from exc
        if not isinstance(text, str) or not text.strip() or lang not in LANGUAGES:
            raise DatasetError(f"{source}:{number}: needs a text and a lang in {LANGUAGES}")
        yield Example(text=text, lang=lang, labels=labels)


def load(path: Path) -> list[Example]:
    with path.open(encoding="utf-8") as lines:
        return list(parse_lines(lines, str(path)))


def overlap_key(text: str) -> str:
    """The form under which two texts count as the same when keeping train and eval apart:
    case, accents, look-alike letters, punctuation, emoji and spacing are ignored."""
    return _NOT_WORD.sub(" ", fold(text)).strip()
