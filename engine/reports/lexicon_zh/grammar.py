"""Phrase-level English-to-Chinese composition for normalised report sentences.

A sentence is split into clauses at conjunctions (", ", "; ", " and ", " with ", " but ",
" without "). Each clause must match one clause pattern in full:

- negation: "[there is] no <noun phrases> [is seen]" renders as "未见<noun phrases>";
- state: "<subjects> is|are <state>" ("the heart is normal in size") renders as "<subjects><state>";
- subject with negation: "<subjects> are free of <noun phrases>" renders as "<subjects>未见<noun phrases>";
- interpretation: "<clause> consistent with <noun phrase>" renders as "<clause>，符合<noun phrase>";
- finding: "[there is] <noun phrase> [is noted]" renders as "<noun phrase>".

A noun phrase is cut into lexicon chunks (modifier, location, finding), longest match first,
after skipping articles and prepositions. Chinese puts locations first, then modifiers, then the
finding: "small left pleural effusion" renders as "左侧少量胸腔积液". A clause with any word
outside the lexicon does not translate, so a sentence is either translated whole or not at all.

Every translation is checked by back-translation: the Chinese text is cut back into lexicon
chunks and template words, and the English chunks recovered must equal those used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from engine.reports.lexicon_zh.data import Lexicon

# Words skipped inside noun phrases: articles, and nouns that only count or frame the finding
# ("focal areas of consolidation" reads as "focal consolidation").
_ARTICLES = frozenset(
    {
        "the",
        "a",
        "an",
        "some",
        "any",
        "areas",
        "area",
        "foci",
        "evidence",
        "signs",
        "sign",
        "amount",
        "degree",
    }
)
_PREPOSITIONS = frozenset(
    {
        "in",
        "of",
        "at",
        "within",
        "involving",
        "along",
        "over",
        "overlying",
        "on",
        "to",
        "from",
        "into",
        "projecting",
    }
)

_NEG_PREFIX = re.compile(
    r"^(?:there (?:is|are) )?(?:no|without|negative for|free of|clear of)"
    r"(?: (?:evidence|radiographic evidence|findings) (?:of|to suggest|for))?\s+(?P<np>.+)$"
)
_SEEN_SUFFIX = re.compile(
    r"\s+(?:(?:is|are)(?: not)?(?: again)? )?(?:seen|identified|present|noted|demonstrated|visualized|evident|"
    r"appreciated|visible|detected|shown)$"
)
_STATE = re.compile(
    r"^(?P<subj>.+?) (?:is|are|appears?|appear to be|appears to be|is again|are again|remains?|again|looks?)"
    r" (?P<state>.+)$"
)
_SUBJ_NEG = re.compile(
    r"^(?P<subj>.+?) (?:is|are|appears?|appear|remains?)? ?(?:free of|without|negative for|clear of|show no|shows no|"
    r"demonstrate no|demonstrates no|reveal no|reveals no|with no) (?P<np>.+)$"
)
_THERE_IS = re.compile(r"^there (?:is|are) ")
_LOCATION_AFTER_VERB = re.compile(
    r"^(?P<np>.+?) (?:is|are) (?:present|seen|noted|identified|again seen|again noted) (?P<loc>(?:in|of|at|within|"
    r"along|over|overlying|involving) .+)$"
)

# Size words that become amounts before a fluid finding, with the lexicon entry they become.
QUANTITY_FINDINGS = frozenset({"pleural effusion", "pleural fluid", "edema", "free air", "air"})
QUANTITIES = {"small": ("small amount", "少量"), "large": ("large amount", "大量"), "tiny": ("trace", "微量")}

# Adverbs allowed before a state ("grossly clear", "otherwise clear", "mildly hyperexpanded").
STATE_ADVERBS = {
    "grossly": "大致",
    "otherwise": "其余",
    "mildly": "轻度",
    "overall": "总体",
    "again": "仍",
    "slightly": "稍",
    "moderately": "中度",
    "markedly": "明显",
    "still": "仍",
}
# Sentence adverbs before a whole clause.
CLAUSE_ADVERBS = {"otherwise": "此外", "specifically": "具体而言", "again": "再次", "however": "然而"}

INTERPRETATIONS = {
    "consistent with": "符合",
    "compatible with": "符合",
    "suggestive of": "提示",
    "suspicious for": "可疑",
    "concerning for": "可疑",
    "may represent": "可能为",
    "which may represent": "可能为",
    "could represent": "可能为",
    "likely representing": "可能为",
    "likely represents": "可能为",
    "likely": "可能为",
    "possibly": "可能为",
    "probably": "可能为",
    "representing": "代表",
    "may reflect": "可能反映",
    "reflecting": "反映",
    "due to": "由于",
    "related to": "与之相关",
    "secondary to": "继发于",
    "versus": "或",
    "cannot exclude": "不除外",
    "may be": "可能为",
    "could be": "可能为",
    "suggest": "提示",
    "suggests": "提示",
    "suggesting": "提示",
}
_INTERPRETATION = re.compile(
    r"^(?P<a>.+?),? (?P<cue>"
    + "|".join(sorted(map(re.escape, INTERPRETATIONS), key=len, reverse=True))
    + r") (?P<b>.+)$"
)

# Clause separators with the Chinese joiner of each.
CONJUNCTIONS = (
    (", and ", "，"),
    (", but ", "，但"),
    (" but ", "，但"),
    ("; ", "；"),
    (", with ", "，伴"),
    (" with ", "，伴"),
    (", ", "，"),
    (" and ", "，"),
    (" without ", "，"),
)

# Items of a noun-phrase list.
_LIST_SEPARATOR = re.compile(r"(, or |, and |, | or | and |/)")
LIST_ZH = {", or ": "或", ", and ": "及", ", ": "、", " or ": "或", " and ": "及", "/": "或"}


@dataclass
class Translation:
    """A Chinese rendering and the English lexicon chunks it is built from."""

    text: str
    chunks: list[str]


class Composer:
    """Translate canonical English sentences with a `Lexicon`."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._translate_clause = lru_cache(maxsize=65536)(self._translate_clause_uncached)

    # Noun phrases -------------------------------------------------------------------------

    def _chunks(self, words: list[str]) -> list[tuple[str, str, str]] | None:
        """Cut words into (kind, english, chinese) chunks, longest match first, or None."""
        result: list[tuple[str, str, str]] = []
        index = 0
        while index < len(words):
            if words[index] in _ARTICLES or words[index] in _PREPOSITIONS:
                index += 1
                continue
            for length in range(min(self.lexicon.longest, len(words) - index), 0, -1):
                phrase = " ".join(words[index : index + length])
                entry = self.lexicon.phrase(phrase)
                if entry is not None:
                    result.append((entry.kind, phrase, entry.zh))
                    index += length
                    break
            else:
                return None
        return result

    def noun_phrase(self, text: str) -> Translation | None:
        chunks = self._chunks(text.split())
        if not chunks:
            return None
        kinds = {kind for kind, _, _ in chunks}
        # A phrase needs a finding, or a location with a modifier ("elevated right hemidiaphragm").
        if "finding" not in kinds and not {"location", "modifier"} <= kinds:
            return None
        findings = {
            self.lexicon.phrase(english).canonical for kind, english, _ in chunks if kind == "finding"
        }
        if findings & QUANTITY_FINDINGS:
            # Chinese counts fluid by amount: "small effusion" is 少量胸腔积液, not 小胸腔积液.
            chunks = [
                (kind, QUANTITIES[english][0], QUANTITIES[english][1])
                if english in QUANTITIES
                else (kind, english, zh)
                for kind, english, zh in chunks
            ]
        order = {"location": 0, "modifier": 1, "finding": 2}
        ordered = sorted(chunks, key=lambda chunk: order[chunk[0]])
        return Translation("".join(zh for _, _, zh in ordered), [english for _, english, _ in chunks])

    def noun_phrase_list(self, text: str) -> Translation | None:
        parts = _LIST_SEPARATOR.split(text)
        pieces: list[str] = []
        chunks: list[str] = []
        for index, part in enumerate(parts):
            if index % 2:
                pieces.append(LIST_ZH[part])
                continue
            translated = self.noun_phrase(part.strip())
            if translated is None:
                return None
            pieces.append(translated.text)
            chunks.extend(translated.chunks)
        return Translation("".join(pieces), chunks)

    def subject_list(self, text: str) -> Translation | None:
        whole = self.lexicon.subject(" ".join(word for word in text.split() if word not in _ARTICLES))
        if whole is not None:
            return Translation(whole.zh, [whole.canonical])
        parts = _LIST_SEPARATOR.split(text)
        pieces: list[str] = []
        chunks: list[str] = []
        for index, part in enumerate(parts):
            if index % 2:
                pieces.append("及" if part.strip(", ") in {"and", ""} else LIST_ZH[part])
                continue
            words = [word for word in part.split() if word not in _ARTICLES]
            entry = self.lexicon.subject(" ".join(words))
            if entry is None:
                return None
            pieces.append(entry.zh)
            chunks.append(" ".join(words))
        return Translation("".join(pieces), chunks)

    def state_phrase(self, text: str) -> Translation | None:
        """Translate a state ("normal in size"), optionally after an adverb ("grossly clear")."""
        entry = self.lexicon.state(text)
        if entry is not None:
            return Translation(entry.zh, [entry.canonical])
        adverb, _, rest = text.partition(" ")
        inner = self.state_phrase(rest) if adverb in STATE_ADVERBS and rest else None
        if inner is not None:
            return Translation(STATE_ADVERBS[adverb] + inner.text, inner.chunks)
        return None

    # Clauses ------------------------------------------------------------------------------

    def _translate_clause_uncached(self, clause: str) -> Translation | None:
        clause = clause.strip()
        if not clause:
            return None
        entry = self.lexicon.sentence(clause)
        if entry is not None:
            return Translation(entry, [clause])

        without_seen = _SEEN_SUFFIX.sub("", clause)
        negation = _NEG_PREFIX.match(without_seen)
        if negation:
            items = self.noun_phrase_list(negation.group("np"))
            if items is not None:
                return Translation("未见" + items.text, items.chunks)

        state = _STATE.match(clause)
        if state:
            value = self.state_phrase(state.group("state"))
            subjects = self.subject_list(state.group("subj")) or self.noun_phrase_list(state.group("subj"))
            if subjects is not None and value is not None:
                return Translation(subjects.text + value.text, [*subjects.chunks, *value.chunks])

        moved = _LOCATION_AFTER_VERB.match(clause)
        if moved:
            items = self.noun_phrase_list(f"{moved.group('np')} {moved.group('loc')}")
            if items is not None:
                return items

        first_word, _, rest = clause.partition(" ")
        adverb = CLAUSE_ADVERBS.get(first_word.rstrip(","))
        if adverb and rest:
            inner = self.translate_clauses(rest)
            if inner is not None:
                return Translation(f"{adverb}，{inner.text}", inner.chunks)

        subject_negation = _SUBJ_NEG.match(clause)
        if subject_negation:
            subjects = self.subject_list(subject_negation.group("subj"))
            items = self.noun_phrase_list(subject_negation.group("np"))
            if subjects is not None and items is not None:
                return Translation(subjects.text + "未见" + items.text, [*subjects.chunks, *items.chunks])

        # "<state> <subjects>" ("normal heart size", "clear lungs") and "<subjects> <state>".
        words = clause.split()
        for cut in range(1, len(words)):
            head, tail = " ".join(words[:cut]), " ".join(words[cut:])
            for state_text, subject_text in ((head, tail), (tail, head)):
                value = self.state_phrase(state_text)
                if value is None:
                    continue
                subjects = self.subject_list(subject_text)
                if subjects is not None:
                    return Translation(subjects.text + value.text, [*subjects.chunks, *value.chunks])

        interpretation = _INTERPRETATION.match(clause)
        if interpretation:
            first = self.translate_clauses(interpretation.group("a"))
            second = self.translate_clauses(interpretation.group("b"))
            if first is not None and second is not None:
                cue = INTERPRETATIONS[interpretation.group("cue")]
                return Translation(f"{first.text}，{cue}{second.text}", [*first.chunks, *second.chunks])

        finding = _THERE_IS.sub("", without_seen)
        items = self.noun_phrase_list(finding)
        if items is not None:
            return items
        return None

    def translate_clauses(self, text: str) -> Translation | None:
        """Translate a clause, or a sequence of clauses joined by conjunctions."""
        whole = self._translate_clause(text)
        if whole is not None:
            return whole
        # Try split points from left to right, so "clear without a, b, or c" splits before
        # "without" and keeps the list whole. At one position the longer separator comes first.
        splits = sorted(
            (match.start(), -len(english), english, chinese)
            for english, chinese in CONJUNCTIONS
            for match in re.finditer(re.escape(english), text)
            if match.start() > 0
        )
        for start, _, english, chinese in splits:
            first = self._translate_clause(text[:start])
            if first is None:
                continue
            rest_text = text[start + len(english) :]
            if english == " without ":
                rest_text = "without " + rest_text
            rest = self.translate_clauses(rest_text)
            if rest is not None:
                return Translation(first.text + chinese + rest.text, first.chunks + rest.chunks)
        return None
