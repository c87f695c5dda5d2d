"""Chinese rendering of normalised report sentences from a reviewed bilingual lexicon.

`translate_sentence` returns the Chinese for one English sentence, or None when the lexicon
does not cover it. Nothing is guessed: a sentence is covered when it is a reviewed sentence
pair in `sentences.txt`, or when every clause composes from `phrases.txt` through the grammar in
`grammar.py` and the result passes the back-translation check.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, lru_cache

from engine.reports.lexicon_zh.data import MEASUREMENT, default_lexicon
from engine.reports.lexicon_zh.grammar import (
    CLAUSE_ADVERBS,
    CONJUNCTIONS,
    INTERPRETATIONS,
    LIST_ZH,
    STATE_ADVERBS,
    Composer,
)

# Words the grammar adds in Chinese, beyond lexicon entries.
_TEMPLATE_WORDS = (
    "未见",
    "，但",
    "，伴",
    "，",
    "；",
    "、",
    "或",
    "及",
    *INTERPRETATIONS.values(),
    *STATE_ADVERBS.values(),
    *CLAUSE_ADVERBS.values(),
)


def canonical_key(sentence: str) -> str:
    """Lower-case a sentence, drop its final punctuation and normalise spacing."""
    text = " ".join(sentence.lower().split())
    return text.rstrip(" .?!;:").replace(" ,", ",")


@lru_cache(maxsize=1)
def _composer() -> Composer:
    return Composer(default_lexicon())


@lru_cache(maxsize=1)
def _reverse_table() -> dict[str, frozenset[str]]:
    """Map every Chinese string of the lexicon to the canonical English forms it renders.

    Grammar words map to the empty string: they carry no lexicon entry.
    """
    lexicon = default_lexicon()
    table: dict[str, set[str]] = {}
    for entry in lexicon.entries():
        table.setdefault(entry.zh, set()).add(entry.canonical)
    for english, chinese in lexicon.sentences.items():
        table.setdefault(chinese, set()).add(english)
    for word in (*_TEMPLATE_WORDS, *(zh for _, zh in CONJUNCTIONS), *LIST_ZH.values()):
        table.setdefault(word, set()).add("")
    return {chinese: frozenset(englishes) for chinese, englishes in table.items()}


_MEASUREMENT_ZH = re.compile(r"\d+(?:\.\d+)?(?: ?(?:mm|cm|x|by))?(?: \d+(?:\.\d+)? ?(?:mm|cm))?")


def back_translates_to(chinese: str, expected: Counter) -> bool:
    """Check that Chinese text cuts into lexicon entries and grammar words whose English is `expected`.

    The search tries every cut, so a longer entry cannot hide the entries a translation used.
    It fails when some part of the text is not a lexicon entry, a grammar word or a
    measurement, or when the English recovered differs from `expected` (a multiset).
    """
    table = _reverse_table()
    longest = max(map(len, table))

    @cache
    def search(index: int, remaining: tuple[tuple[str, int], ...]) -> bool:
        if index == len(chinese):
            return not remaining
        left = dict(remaining)
        measurement = _MEASUREMENT_ZH.match(chinese, index)
        candidates = [(measurement.end(), measurement.group(0))] if measurement else []
        for length in range(min(longest, len(chinese) - index), 0, -1):
            piece = chinese[index : index + length]
            candidates.extend((index + length, english) for english in sorted(table.get(piece, ())))
        for end, english in candidates:
            if not english:
                if search(end, remaining):
                    return True
            elif left.get(english, 0) > 0:
                updated = dict(left)
                updated[english] -= 1
                if search(end, tuple(sorted((key, count) for key, count in updated.items() if count))):
                    return True
        return False

    return search(0, tuple(sorted(expected.items())))


def _recoverable(chunk: str) -> str | None:
    """Return the English that back-translation yields for a chunk, or None for a silent chunk."""
    lexicon = default_lexicon()
    entry = lexicon.lookup(chunk)
    if entry is not None:
        return entry.canonical
    if chunk in lexicon.sentences:
        return chunk
    return chunk if MEASUREMENT.match(chunk) else None


def translate_sentence(sentence: str) -> str | None:
    """Return the Chinese for an English report sentence, or None when it is not covered."""
    key = canonical_key(sentence)
    if not key:
        return None
    translation = _composer().translate_clauses(key)
    if translation is None:
        return None
    expected = Counter(filter(None, map(_recoverable, translation.chunks)))
    if not back_translates_to(translation.text, expected):
        return None
    return translation.text + "。"
