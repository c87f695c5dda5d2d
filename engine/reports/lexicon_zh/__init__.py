"""Chinese rendering of normalised report sentences from a reviewed bilingual lexicon.

`translate_sentence` returns the Chinese for one English sentence, or None when the lexicon
does not cover it. Nothing is guessed: a sentence is covered when it is a reviewed sentence
pair in `sentences.txt`, or when every clause composes from `phrases.txt` through the grammar in
`grammar.py` and the result passes the back-translation check.
"""

from __future__ import annotations

from collections import Counter
from functools import cache, lru_cache

from engine.reports.lexicon_zh import cues
from engine.reports.lexicon_zh.data import default_lexicon
from engine.reports.lexicon_zh.grammar import Composer
from engine.reports.lexicon_zh.numbered import read_numbered_zh


def _grammar_words() -> set[str]:
    """Return the Chinese that the grammar adds around lexicon entries."""
    words = {"未见", "未再见", "未见提示", "的", "，但", "，伴", "，", "；", "、", "或", "及", "且", "示"}
    words.update(cues.STATE_ADVERBS.values())
    words.update(cues.CLAUSE_ADVERBS.values())
    words.update(part for pair in cues.INTERPRETATIONS.values() for part in pair)
    words.update(cues.LEADING_HEDGES.values())
    words.update(zh for zh, _ in cues.STATUSES.values())
    words.update((cues.COMPARISON_ZH, cues.COMPARISON_CT_ZH, cues.RECOMMENDATION_ZH))
    words.update(zh for _, zh in cues.CONJUNCTIONS)
    words.update(cues.LIST_ZH.values())
    words.update(cues.PREDOMINANCE.values())
    words.update(cues.VIEWS.values())
    words.update(part for pair in (*cues.STATUS_POST.values(), *cues.HISTORY.values()) for part in pair)
    words.update(cues.PURPOSES.values())
    words.discard("")
    return words


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
        if entry.kind == "modifier" and entry.zh.endswith("的"):
            # The grammar drops "的" from a modifier that reads as a predicate.
            table.setdefault(entry.zh.removesuffix("的"), set()).add(entry.canonical)
    for english, chinese in lexicon.sentences.items():
        table.setdefault(chinese, set()).add(english)
    for word in _grammar_words():
        table.setdefault(word, set()).add("")
    return {chinese: frozenset(englishes) for chinese, englishes in table.items()}


@lru_cache(maxsize=1)
def _longest_key() -> int:
    return max(map(len, _reverse_table()))


def back_translates_to(chinese: str, expected: Counter) -> bool:
    """Check that Chinese text cuts into lexicon entries and grammar words whose English is `expected`.

    The search tries every cut, so a longer entry cannot hide the entries a translation used.
    It fails when some part of the text is not a lexicon entry, a grammar word or a numbered
    phrase (measurement, rib, vertebral level), or when the English recovered differs from
    `expected` (a multiset).
    """
    table = _reverse_table()
    longest = _longest_key()

    @cache
    def search(index: int, remaining: tuple[tuple[str, int], ...]) -> bool:
        if index == len(chinese):
            return not remaining
        left = dict(remaining)
        candidates = read_numbered_zh(chinese, index)
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


@lru_cache(maxsize=65536)
def translate_sentence(sentence: str) -> str | None:
    """Return the Chinese for an English report sentence, or None when it is not covered."""
    key = canonical_key(sentence)
    if not key:
        return None
    translation = _composer().translate_clauses(key)
    if translation is None:
        return None
    expected = Counter(translation.chunks)
    if not back_translates_to(translation.text, expected):
        return None
    return translation.text + "。"
