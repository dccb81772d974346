"""Rule packs: terms, phrases and patterns per language, each with a category and a severity.

A pack is a TOML file (``causerie/data/packs/fr.toml`` ships with causerie; operators add their own
in the directories named by ``safety.pack_dirs``)::

    [pack]
    name = "fr"
    language = "fr"
    version = "2025.06"

    [[rule]]
    id = "drugs.sale"
    category = "drugs"              # one of causerie.safety.categories.Category
    severity = "high"               # low, medium, high or critical
    audiences = ["all", "teens"]    # where it applies (default: all, teens and adults)
    subjects = ["room_name"]        # what it applies to (default: everything)
    terms = ["cocaine", "salop*"]   # words and phrases, matched on whole words; "*" = prefix
    patterns = ['\\bvends?\\s+\\w+']  # RE2 over the folded text
    unless = ["pistolet a colle"]   # the rule does not fire on a text holding one of these

Terms are matched with one Aho-Corasick automaton over every normalised form of the text, and
patterns with one RE2 set: both run in time linear in the text, whatever the text or the pack.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast, get_args

import ahocorasick
import re2

from causerie.domain import ContentKind
from causerie.moderation.forms import Forms, term_key, words_of
from causerie.safety.categories import Category

ContextAudience = Literal["all", "teens", "adults"]
AUDIENCES: tuple[str, ...] = get_args(ContextAudience)
# The kinds of text the packs read (photos are screened by their own stages).
SUBJECT_KINDS: tuple[str, ...] = tuple(k.value for k in ContentKind if k is not ContentKind.PHOTO)
# Patterns longer than this are refused: a pack is data, not a program.
MAX_PATTERN_CHARS = 500


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


# The score a rule gives its category when it fires; policy.toml sets what each score leads to.
SEVERITY_SCORE: dict[Severity, float] = {
    Severity.LOW: 0.35,
    Severity.MEDIUM: 0.6,
    Severity.HIGH: 0.85,
    Severity.CRITICAL: 1.0,
}


class PackError(ValueError):
    """A pack that cannot be used, with the file and the rule at fault."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: Category
    severity: Severity
    audiences: frozenset[str]
    subjects: frozenset[str]
    terms: tuple[str, ...]
    patterns: tuple[str, ...]
    # The pack's language ("" for rules of every language).
    language: str = ""
    # Words and phrases that make a hit harmless ("ford escort", "tuer a mario kart").
    unless: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return SEVERITY_SCORE[self.severity]

    def applies(self, audience: str, kind: str) -> bool:
        return audience in self.audiences and kind in self.subjects


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    language: str
    version: str
    source: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule that fired, and on what."""

    rule: str
    category: Category
    score: float
    matched: str


def _strings(value: object, where: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PackError(f"{where}: {name} must be a list of non-empty strings")
    return tuple(cast(list[str], value))


def parse_pack(data: dict[str, Any], source: str) -> Pack:
    """Validate one pack's TOML data; every error names the file and the rule."""
    head = data.get("pack")
    if not isinstance(head, dict) or not isinstance(head.get("name"), str):
        raise PackError(f"{source}: needs a [pack] table with a name")
    name = head["name"]
    unknown = set(data) - {"pack", "rule"}
    if unknown:
        raise PackError(f"{source}: unknown tables {sorted(unknown)}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("rule", [])):
        where = f"{source}: rule {raw.get('id', index + 1)!r}" if isinstance(raw, dict) else source
        if not isinstance(raw, dict):
            raise PackError(f"{where}: each [[rule]] is a table")
        extra = set(raw) - {
            "id",
            "category",
            "severity",
            "audiences",
            "subjects",
            "terms",
            "phrases",
            "patterns",
            "unless",
            "note",
        }
        if extra:
            raise PackError(f"{where}: unknown fields {sorted(extra)}")
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise PackError(f"{where}: needs an id")
        if rule_id in seen:
            raise PackError(f"{where}: the id is used twice")
        seen.add(rule_id)
        try:
            category = Category(str(raw.get("category")))
        except ValueError:
            choices = ", ".join(c.value for c in Category)
            raise PackError(f"{where}: category must be one of {choices}") from None
        try:
            severity = Severity(raw.get("severity", "medium"))
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise PackError(f"{where}: severity must be one of {choices}") from None
        audiences = _strings(raw.get("audiences"), where, "audiences") or AUDIENCES
        if set(audiences) - set(AUDIENCES):
            raise PackError(f"{where}: audiences must be among {', '.join(AUDIENCES)}")
        subjects = _strings(raw.get("subjects"), where, "subjects") or SUBJECT_KINDS
        if set(subjects) - set(SUBJECT_KINDS):
            raise PackError(f"{where}: subjects must be among {', '.join(SUBJECT_KINDS)}")
        terms = _strings(raw.get("terms"), where, "terms") + _strings(
            raw.get("phrases"), where, "phrases"
        )
        patterns = _strings(raw.get("patterns"), where, "patterns")
        if not terms and not patterns:
            raise PackError(f"{where}: needs terms, phrases or patterns")
        for pattern in patterns:
            if len(pattern) > MAX_PATTERN_CHARS:
                raise PackError(f"{where}: a pattern is longer than {MAX_PATTERN_CHARS} characters")
            try:
                re2.compile(pattern)
            except re2.error as exc:
                raise PackError(f"{where}: pattern {pattern!r} is not valid RE2: {exc}") from None
        for term in terms:
            if not term_key(term.rstrip("*")).text.strip():
                raise PackError(f"{where}: term {term!r} has no letters or digits")
        rules.append(
            Rule(
                id=f"{name}.{rule_id}",
                category=category,
                severity=severity,
                audiences=frozenset(audiences),
                subjects=frozenset(subjects),
                terms=terms,
                patterns=patterns,
                language=str(head.get("language", "")),
                unless=_strings(raw.get("unless"), where, "unless"),
            )
        )
    return Pack(
        name=name,
        language=str(head.get("language", "")),
        version=str(head.get("version", "")),
        source=source,
        rules=tuple(rules),
    )


def load_pack_text(text: str, source: str) -> Pack:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{source}: not valid TOML: {exc}") from None
    return parse_pack(data, source)


@dataclass(frozen=True, slots=True)
class _TermEntry:
    rule: int
    runs: tuple[int, ...]
    term: str


@dataclass
class RuleBook:
    """Every rule of a set of packs, compiled for linear-time matching."""

    packs: tuple[Pack, ...]
    rules: tuple[Rule, ...] = field(init=False)
    version: str = field(init=False)
    _automaton: Any = field(init=False, repr=False)
    _patterns: Any = field(init=False, repr=False)
    _pattern_owner: list[tuple[int, Any]] = field(init=False, repr=False)
    _unless: dict[int, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rules: list[Rule] = []
        ids: set[str] = set()
        for pack in self.packs:
            for rule in pack.rules:
                if rule.id in ids:
                    raise PackError(f"{pack.source}: rule {rule.id!r} exists in another pack")
                ids.add(rule.id)
                rules.append(rule)
        self.rules = tuple(rules)
        entries: dict[str, list[_TermEntry]] = {}
        patterns = re2.Set.SearchSet(re2.Options())
        owners: list[tuple[int, Any]] = []
        for index, rule in enumerate(rules):
            for term in rule.terms:
                prefix = term.endswith("*")
                squeezed = term_key(term.rstrip("*"))
                # A term is padded like the text: it starts a word, and ends one unless "*".
                key, runs = squeezed.text, squeezed.runs
                if prefix:
                    key, runs = key[:-1], runs[:-1]
                entries.setdefault(key, []).append(_TermEntry(index, runs, term))
                glued = _glued_phrase(term)
                if glued is not None:
                    patterns.Add(glued)
                    owners.append((index, re2.compile(glued)))
            for pattern in rule.patterns:
                patterns.Add(pattern)
                owners.append((index, re2.compile(pattern)))
        automaton = ahocorasick.Automaton()
        for key, value in entries.items():
            automaton.add_word(key, tuple(value))
        if entries:
            automaton.make_automaton()
        self._automaton = automaton if entries else None
        patterns.Compile()
        self._patterns = patterns if owners else None
        self._pattern_owner = owners
        # On the ``words`` view, as terms are: whole words, leetspeak and accents undone.
        self._unless = {
            index: re2.compile(
                r"\b(?:" + "|".join(re2.escape(words_of(t)) for t in rule.unless) + r")\b"
            )
            for index, rule in enumerate(rules)
            if rule.unless
        }
        digest = hashlib.sha256()
        for pack in self.packs:
            digest.update(f"{pack.name}:{pack.version}:{len(pack.rules)}".encode())
            for rule in pack.rules:
                parts = (
                    rule.id,
                    rule.category.value,
                    rule.severity.value,
                    *sorted(rule.audiences),
                    "|",
                    *sorted(rule.subjects),
                    "|",
                    *rule.terms,
                    "|",
                    *rule.patterns,
                    "|",
                    *rule.unless,
                )
                digest.update("\x1f".join(parts).encode())
        self.version = digest.hexdigest()[:12]

    def match(
        self,
        text: Forms,
        audience: str,
        kind: str,
        languages: Callable[[], frozenset[str]] | None = None,
    ) -> list[Hit]:
        """Every rule that fires on ``text`` for this audience and kind of subject, once each;
        with ``languages``, only the rules of packs in the languages it gives (and language-free
        ones). It is asked only once a rule of some language has fired: most chat lines fire
        none, and telling a line's language costs more than matching it.
        """
        fired: dict[int, str] = {}
        if self._automaton is not None:
            for view in text.keys:
                for end, entries in self._automaton.iter(view.text):
                    for entry in entries:
                        if entry.rule in fired:
                            continue
                        start = end - len(entry.runs) + 1
                        # The text may repeat a letter more than the term, never less: "snaaap"
                        # is "snap", "as" is not "ass".
                        if all(view.runs[start + i] >= need for i, need in enumerate(entry.runs)):
                            fired[entry.rule] = entry.term
        if self._patterns is not None:
            # latin_words squeezes stretched letters ("snaaaapchat") that patterns cannot.
            for view_text in (text.light, text.words, text.latin_words):
                for index in self._patterns.Match(view_text) or ():
                    rule, compiled = self._pattern_owner[index]
                    if rule not in fired:
                        found = compiled.search(view_text)
                        fired[rule] = found.group(0)[:80] if found else compiled.pattern
        hits: list[Hit] = []
        read_in: frozenset[str] | None = None
        for index, matched in fired.items():
            rule = self.rules[index]
            if not rule.applies(audience, kind):
                continue
            unless = self._unless.get(index)
            if unless is not None and unless.search(text.words):
                continue
            if rule.language and languages is not None:
                if read_in is None:
                    read_in = languages()
                if rule.language not in read_in:
                    continue
            hits.append(Hit(rule.id, rule.category, rule.score, matched))
        hits.sort(key=lambda h: (-h.score, h.rule))
        return hits


# A phrase spelt out letter by letter reads as one word ("k i l l  y o u r s e l f" is
# "killyourself"): long phrases are also looked for glued, anywhere in a word. Short ones are
# not: glued, they could sit inside ordinary words.
GLUED_PHRASE_LETTERS = 9


def _glued_phrase(term: str) -> str | None:
    if term.endswith("*"):
        return None
    words = words_of(term).split()
    glued = "".join(words)
    if len(words) < 2 or sum(c.isalpha() for c in glued) < GLUED_PHRASE_LETTERS:
        return None
    escaped: str = re2.escape(glued)
    return escaped


def builtin_pack_texts() -> list[tuple[str, str]]:
    """(source, text) of each pack that ships with causerie, in name order."""
    folder = resources.files("causerie.data").joinpath("packs")
    found = [entry for entry in folder.iterdir() if entry.name.endswith(".toml")]
    return [
        (f"causerie/data/packs/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in sorted(found, key=lambda e: e.name)
    ]


def pack_files(directories: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in directories:
        if not directory.is_dir():
            raise PackError(f"{directory}: the rule pack directory does not exist")
        files.extend(sorted(directory.glob("*.toml")))
    return files


def fingerprint(directories: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """What changes when an operator edits, adds or removes a pack file."""
    marks: list[tuple[str, int, int]] = []
    for path in pack_files(directories):
        stat = path.stat()
        marks.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(marks)


def load_rulebook(directories: Sequence[Path] = ()) -> RuleBook:
    """The built-in packs plus every ``*.toml`` in ``directories``; raises :class:`PackError`."""
    packs = [load_pack_text(text, source) for source, text in builtin_pack_texts()]
    for path in pack_files(directories):
        packs.append(load_pack_text(path.read_text(encoding="utf-8"), str(path)))
    return RuleBook(tuple(packs))
