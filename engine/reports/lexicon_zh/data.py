"""Load the bilingual lexicon files that sit beside this module.

`phrases.txt` has one entry per line: kind, English variants separated by "; " (the first is
canonical) and Chinese, separated by tabs. Kinds are "finding", "procedure" (devices' and
operations' names, exams), "modifier", "location", "subject" and "state". `sentences.txt` has reviewed whole sentences or clauses: canonical
English (lower case, no final full stop) and Chinese, separated by a tab. Lines starting with
"#" are comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.reports.lexicon_zh.numbered import numbered_phrase

DATA_DIR = Path(__file__).resolve().parent
KINDS = frozenset({"finding", "procedure", "modifier", "location", "subject", "state"})
NOUN_KINDS = frozenset({"finding", "procedure", "modifier", "location"})


@dataclass(frozen=True)
class PhraseEntry:
    kind: str
    canonical: str
    zh: str


class Lexicon:
    """Phrase and sentence tables, with English keys in lower case."""

    def __init__(self, tables: dict[str, dict[str, PhraseEntry]], sentences: dict[str, str]):
        self.tables = tables
        self.sentences = sentences
        self.noun_phrases = {key: entry for kind in NOUN_KINDS for key, entry in tables[kind].items()}
        # Numbered rib phrases run to five words ("posterior 5th through 7th ribs").
        self.longest = max(5, *(len(key.split()) for key in self.noun_phrases))

    def entries(self) -> list[PhraseEntry]:
        return [entry for table in self.tables.values() for entry in table.values()]

    def phrase(self, english: str) -> PhraseEntry | None:
        """Return the finding, procedure, modifier or location entry for an English phrase."""
        entry = self.noun_phrases.get(english)
        if entry is None:
            numbered = numbered_phrase(english)
            if numbered is not None:
                return PhraseEntry(numbered.kind, numbered.canonical, numbered.zh)
        return entry

    def subject(self, english: str) -> PhraseEntry | None:
        return self.tables["subject"].get(english)

    def state(self, english: str) -> PhraseEntry | None:
        return self.tables["state"].get(english)

    def lookup(self, english: str) -> PhraseEntry | None:
        """Return the entry of any kind for an English chunk."""
        for table in self.tables.values():
            if english in table:
                return table[english]
        return self.phrase(english)

    def sentence(self, english: str) -> str | None:
        return self.sentences.get(english)


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append((number, line.rstrip("\n").split("\t")))
    return rows


def load_lexicon(directory: Path = DATA_DIR) -> Lexicon:
    """Read phrases.txt and sentences.txt, raising ValueError on a malformed or conflicting line."""
    tables: dict[str, dict[str, PhraseEntry]] = {kind: {} for kind in sorted(KINDS)}
    path = directory / "phrases.txt"
    for number, fields in _lines(path):
        if len(fields) != 3 or fields[0] not in KINDS:
            raise ValueError(
                f"{path}:{number}: expected 'kind<TAB>english; variants<TAB>chinese', got {fields!r}"
            )
        kind, variants, zh = fields
        english = [variant.strip().lower() for variant in variants.split(";") if variant.strip()]
        entry = PhraseEntry(kind, english[0], zh.strip())
        phrases = tables[kind]
        # The noun tables share one namespace: the chunker looks a phrase up in all of them.
        shared = [tables[name] for name in sorted(NOUN_KINDS)] if kind in NOUN_KINDS else [phrases]
        for variant in english:
            previous = next((table[variant] for table in shared if variant in table), None)
            if previous is not None and previous != entry:
                raise ValueError(f"{path}:{number}: {variant!r} already maps to {previous.zh!r}")
            phrases[variant] = entry
    sentences: dict[str, str] = {}
    path = directory / "sentences.txt"
    for number, fields in _lines(path):
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'english<TAB>chinese', got {fields!r}")
        sentences[fields[0].strip().lower()] = fields[1].strip()
    return Lexicon(tables, sentences)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_lexicon()
