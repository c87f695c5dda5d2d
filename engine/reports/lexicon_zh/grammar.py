"""Phrase-level English-to-Chinese composition for normalised report sentences.

A sentence is split into clauses at the conjunctions in `cues.CONJUNCTIONS` (", ", "; ", " and ",
" with ", " but ", " without " and a few more). Each clause must match one clause pattern in
full, tried in this order:

- a reviewed clause pair from `sentences.txt`;
- a comparison with an earlier study at either end ("…, compared to prior"), rendered as
  "与前片比较，<clause>" unless the clause states a change of its own;
- a side that predominates ("…, left greater than right" as "…，左侧为著") or the view a finding
  is seen on ("… on the lateral view" as "…（侧位片可见）") at the end;
- a status over time before or after a noun phrase ("stable cardiomegaly", "… is again seen"),
  rendered as in `cues.STATUSES`;
- negation: "[there is] no <noun phrases> [is seen]" and "<noun phrases> is not seen" render as
  "未见<noun phrases>", and "no <noun phrase> to suggest <noun phrase>" as "未见提示…的…";
- state: "<subjects> is|are <state>" ("the heart is normal in size") renders as
  "<subjects><state>", and several states join with "且" or "，";
- a finding with a verb ("<noun phrase> is [again|also] seen [in <location>]");
- a sentence adverb before a clause ("otherwise, …" as "余…");
- subject with negation: "<subjects> are free of <noun phrases>" renders as
  "<subjects>未见<noun phrases>";
- "<state> [of] <subjects>" ("normal heart size") and "<subjects> <state>";
- a view or subject that shows something ("lateral view shows …" as "侧位片示…");
- a hedge before the clause ("possible pneumonia" as "可能为肺炎");
- interpretation: "<clause> consistent with <clause>" renders as "<clause>，符合<clause>";
- "status post <noun phrase>", "history of <noun phrase>" and recommendations;
- finding: "[there is] <noun phrase>".

A noun phrase is cut into lexicon chunks (modifier, location, finding, procedure), longest
match first, after skipping articles and prepositions. Chinese puts locations first, then
modifiers, then the finding: "small left pleural effusion" renders as "左侧少量胸腔积液". A
clause with any word outside the lexicon does not translate, so a sentence is either translated
whole or not at all.

Every translation is checked by back-translation: the Chinese text is cut back into lexicon
chunks and grammar words, and the English chunks recovered must equal those used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from engine.reports.lexicon_zh.cues import (
    AFTER,
    CLAUSE_ADVERBS,
    COMPARISON_CT_ZH,
    COMPARISON_ZH,
    CONJUNCTIONS,
    HISTORY,
    INTERPRETATIONS,
    LEADING_HEDGES,
    LIST_ZH,
    PREDOMINANCE,
    PURPOSES,
    RECOMMENDATION_ZH,
    STATE_ADVERBS,
    STATUS_POST,
    STATUS_PREFIXES,
    STATUS_SUFFIXES,
    STATUSES,
    VIEWS,
)
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
        "associated",
        "region",
        "regions",
        "aspect",
        "portion",
        "portions",
        "appearance",
        "appearing",
        "visualized",
    }
)
# Prepositions skipped inside noun phrases. Each one reads as "in" or "of" before a location
# ("nodule projecting over the right 6th rib" is a nodule at the rib), so dropping it keeps the
# meaning. Prepositions that change the place ("behind", "above") are not here.
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
        "overlies",
        "overlie",
        "on",
        "to",
        "from",
        "into",
        "projecting",
        "projected",
        "projects",
        "throughout",
    }
)

_NEG_PREFIX = re.compile(
    r"^(?:there (?:is|are|has been|have been) )?(?:no|without|negative for|free of|clear of|no new|no other)"
    r"(?: (?:evidence|radiographic evidence|findings|signs?) (?:of|to suggest|for))?\s+(?P<np>.+)$"
)
# Prepositions that name a larger place around what precedes them ("in", "of"), unlike those
# that only place a finding over a structure ("overlying", "projecting over").
_CONTAINING = frozenset({"in", "of", "at", "within", "involving", "along", "throughout"})

_NEG_SUGGESTING = re.compile(
    r"^(?:there (?:is|are) )?no (?P<np>.+?) (?:to suggest|suggestive of|suggesting|to indicate|indicative of|"
    r"typical of|diagnostic of|characteristic of) (?P<meaning>.+)$"
)
_SEEN_WORDS = (
    r"(?:seen|identified|present|noted|demonstrated|visualized|evident|appreciated|visible|detected|shown|"
    r"observed|apparent|definitely seen|clearly seen|clearly identified)"
)
_SEEN_SUFFIX = re.compile(rf"\s+(?:(?:is|are)(?: again)? )?{_SEEN_WORDS}$")
_NOT_SEEN = re.compile(rf"^(?P<np>.+?) (?:(?:is|are|was|were) )?not {_SEEN_WORDS}$")
_NO_LONGER_SEEN = re.compile(rf"^(?P<np>.+?) (?:(?:is|are) )?no longer {_SEEN_WORDS}$")
_STATE = re.compile(
    r"^(?P<subj>.+?) (?:is|are|appears?|appear to be|appears to be|is again|are again|remains?|again|looks?|"
    r"is now|are now|has become|have become|is still|are still|is also|are also)"
    r" (?P<state>.+)$"
)
_SUBJ_NEG = re.compile(
    r"^(?P<subj>.+?) (?:is|are|appears?|appear|remains?)? ?(?:(?P<adverb>grossly|otherwise|essentially) )?"
    r"(?:free of|without|negative for|clear of|show no|shows no|"
    r"demonstrate no|demonstrates no|reveal no|reveals no|with no|have no|has no) (?P<np>.+)$"
)
_THERE_IS = re.compile(r"^there (?:is|are|has been|have been) ")
_VERB = re.compile(
    rf"^(?:there (?:is|are) )?(?P<np>.+?)(?: (?:is|are|was|were|has been|have been))?"
    rf"(?: (?P<adverb>again|also|still|newly|now))? {_SEEN_WORDS}"
    r"(?P<location>(?: (?:in|of|at|within|along|over|overlying|involving|throughout|on|projecting over|"
    r"projected over|near) .+)?)$"
)
_SHOWS = re.compile(
    r"^(?P<subj>.+?) (?:shows?|reveals?|demonstrates?|demonstrated|revealed|showed|depicts?) (?P<rest>.+)$"
)
_STATE_SEPARATOR = re.compile(r"(, and |, but | but |, | and )")
_STATE_ZH = {", and ": "且", " and ": "且", ", but ": "，但", " but ": "，但", ", ": "，"}
_VERSUS = frozenset({"versus", "vs"})
# Statuses that may follow a whole clause, not only a noun phrase.
_CLAUSE_STATUSES = frozenset({"stable", "unchanged", "similar"})


def _alternation(words) -> str:
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_INTERPRETATION = re.compile(rf"^(?P<a>.+?),? (?P<cue>{_alternation(INTERPRETATIONS)}) (?P<b>.+)$")
_LEADING_HEDGE = re.compile(
    rf"^(?:there (?:is|are) )?(?P<cue>{_alternation(LEADING_HEDGES)}),? (?P<rest>.+)$"
)
_STATUS_PREFIX = re.compile(rf"^(?P<cue>{_alternation(STATUS_PREFIXES)}),? (?P<rest>.+)$")
_STATUS_SUFFIX = re.compile(rf"^(?P<rest>.+?),? (?P<cue>{_alternation(STATUS_SUFFIXES)})$")
_PREDOMINANCE = re.compile(rf"^(?P<rest>.+?),? \(?(?P<cue>{_alternation(PREDOMINANCE)})\)?$")
_VIEW = re.compile(
    r"^(?P<rest>.+?),? (?:(?:best |better |only |well |partially |also |most |clearly )?"
    r"(?:seen|visualized|demonstrated|identified|noted|visible|appreciated|evident) )?"
    rf"(?:on|in) (?:the )?(?P<view>{_alternation(VIEWS)})(?: views?)?$"
)
_VIEW_FIRST = re.compile(rf"^(?:on|in) (?:the )?(?P<view>{_alternation(VIEWS)}),? (?P<rest>.+)$")
_STATUS_POST = re.compile(rf"^(?P<cue>{_alternation(STATUS_POST)}) (?P<np>.+)$")
_HISTORY = re.compile(rf"^(?P<cue>{_alternation(HISTORY)}) (?P<np>.+)$")
_RECOMMEND = re.compile(
    r"^(?:(?:we |i )?(?:recommend|recommended|suggest|consider|would recommend|could consider)(?: a| an)? (?P<np1>.+?)"
    r"|(?:a |an )?(?P<np2>.+?) (?:is|are|would be|may be|could be|can be) (?:recommended|suggested|advised|"
    r"helpful|useful|recommended if clinically indicated))"
    rf"(?:,? (?P<purpose>{_alternation(PURPOSES)}))?$"
)

# A comparison with an earlier study, at the end or the start of a clause.
_PRIOR_STUDY = (
    r"(?:(?:the |a |an )?(?:(?:most recent|recent|previous|prior|earlier|last|comparison|outside|old|older|"
    r"preceding|remote) )+(?:chest )?(?:pa and lateral )?(?:x-rays?|xrays?|radiographs?|films?|exams?|examinations?|"
    r"study|studies|imaging|images?|ones?|ct|chest ct|ct scan|ct chest|chest radiographs?)?"
    r"(?: (?:from|dated|of|on) \(redacted\))?|\(redacted\)|the (?:prior|previous) (?:exam|study)?)"
)
_COMPARISON_WORDS = (
    r"(?:(?:when |as |and )?(?:compared (?:to|with)|in comparison (?:to|with)|from|since|relative to|"
    r"than (?:on )?|on|to|versus|vs|with)) "
)
_COMPARISON_END = re.compile(
    rf"^(?P<rest>.+?),? (?:{_COMPARISON_WORDS}(?P<prior>{_PRIOR_STUDY})|(?P<interval>in the interval))$"
)
_COMPARISON_START = re.compile(
    rf"^(?:{_COMPARISON_WORDS}(?P<prior>{_PRIOR_STUDY})|(?P<interval>in the interval)),? (?P<rest>.+)$"
)

# Location chunks that Chinese orders specially: the side comes first ("posterior right lower
# lobe" renders as "右下叶后部") and the part of an organ after the organ.
LATERALITY = frozenset({"left", "right", "bilateral"})
POSITIONS = frozenset(
    {"posterior", "anterior", "medial", "lateral aspect", "superior", "inferior", "mid", "distal", "proximal"}
)
# Views come before any place ("lateral view densities over the heart" renders as "侧位片心脏…").
VIEW_LOCATIONS = frozenset(
    {"lateral view", "frontal view", "ap view", "frontal and lateral views of the chest"}
)
# Modifiers that can head a phrase with a location and no finding ("elevated right hemidiaphragm").
STATE_MODIFIERS = frozenset(
    {
        "elevated",
        "flattened",
        "calcified",
        "prominent",
        "atherosclerotic",
        "enlarged",
        "widened",
        "dilated",
        "ectatic",
        "tortuous",
        "blunted",
        "sclerotic",
        "thickened",
        "narrowed",
        "opacified",
        "hyperinflated",
        "hyperexpanded",
        "unfolded",
        "deformed",
        "dense",
        "hazy",
        "lucent",
    }
)
# Separators of alternatives: a location at the end of the last item belongs to all of them
# ("scarring or atelectasis in the lingula" renders as "舌段瘢痕或肺不张").
_ALTERNATIVES = frozenset({", or ", " or ", "/", " and/or ", ", and/or ", " versus ", " vs ", ", "})

# Head nouns that follow the phrase they describe ("sternotomy changes").
_TRAILING_HEADS = frozenset({"changes", "deformity"})
# Head nouns that may take a noun phrase with its own head after "of" ("changes of emphysema").
_OF_HEADS = frozenset(
    {
        "changes",
        "postsurgical changes",
        "chronic changes",
        "interstitial changes",
        "findings",
        "prominence",
        "enlargement",
        "deformity",
        "calcification",
        "thickening",
        "elevation",
        "tortuosity",
        "sequela",
    }
)

# Size words that become amounts before a fluid finding, with the lexicon entry they become.
QUANTITY_FINDINGS = frozenset(
    {
        "pleural effusion",
        "edema",
        "free air",
        "air",
        "pneumothorax",
        "pericardial effusion",
        "fluid",
        "loculated effusion",
        "subpulmonic effusion",
        "hydropneumothorax",
        "subcutaneous air",
        "pneumoperitoneum",
    }
)
QUANTITIES = {
    "small": ("small amount", "少量"),
    "small-sized": ("small amount", "少量"),
    "large": ("large amount", "大量"),
    "large-sized": ("large amount", "大量"),
    "tiny": ("trace", "微量"),
    "moderate": ("moderate amount", "中等量"),
    "moderate-sized": ("moderate amount", "中等量"),
    "moderate sized": ("moderate amount", "中等量"),
    "medium-sized": ("moderate amount", "中等量"),
    "small to moderate": ("small to moderate amount", "少至中等量"),
    "small-to-moderate": ("small to moderate amount", "少至中等量"),
    "small to moderate sized": ("small to moderate amount", "少至中等量"),
}

_ORDINAL_TOKEN = re.compile(
    r"^(?:\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
    r"eleventh|twelfth|[tlc]\d{1,2})$"
)
_LIST_SEPARATOR = re.compile(rf"({_alternation(LIST_ZH)})")


def split_list(text: str) -> list[str]:
    """Split a list at its separators, returning items and separators alternately.

    A separator between two ordinals or vertebral levels stays inside its item, so
    "5th and 6th ribs" is one item.
    """
    parts = _LIST_SEPARATOR.split(text)
    merged = [parts[0]]
    for separator, item in zip(parts[1::2], parts[2::2], strict=True):
        before, after = merged[-1].split(), item.split()
        if before and after and _ORDINAL_TOKEN.match(before[-1]) and _ORDINAL_TOKEN.match(after[0]):
            merged[-1] += separator + item
        else:
            merged.extend((separator, item))
    return merged


class Chunk(NamedTuple):
    """A lexicon entry found in a noun phrase.

    `depth` counts the prepositions before it ("nodule in the base of the left lung": the
    base is at depth 1, the left lung at depth 2).
    """

    kind: str
    english: str
    zh: str
    depth: int = 0


_HEAD_KINDS = frozenset({"finding", "procedure"})


@dataclass
class Translation:
    """A Chinese rendering and the canonical English of the lexicon entries it is built from.

    `bare` is True when the rendering opens with a noun phrase that has no verb or negation of
    its own ("small effusion"), which a preceding negation could have been meant to cover.
    """

    text: str
    chunks: list[str]
    bare: bool = False


def _ends_negated(text: str) -> bool:
    """Tell whether the last clause of a Chinese rendering is a negation ("…，未见气胸")."""
    return "未" in re.split("[，；]", text)[-1]


class Composer:
    """Translate canonical English sentences with a `Lexicon`."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._translate_clause = lru_cache(maxsize=65536)(self._translate_clause_uncached)
        self.translate_clauses = lru_cache(maxsize=65536)(self._translate_clauses_uncached)

    # Noun phrases -------------------------------------------------------------------------

    def _chunks(self, words: list[str]) -> list[Chunk] | None:
        """Cut words into lexicon chunks, longest match first, or return None."""
        result: list[Chunk] = []
        index = 0
        depth = 0
        while index < len(words):
            if words[index] in _PREPOSITIONS:
                depth += words[index] in _CONTAINING
                index += 1
                continue
            if words[index] in _ARTICLES:
                index += 1
                continue
            for length in range(min(self.lexicon.longest, len(words) - index), 0, -1):
                phrase = " ".join(words[index : index + length])
                entry = self.lexicon.phrase(phrase)
                if entry is not None:
                    result.append(Chunk(entry.kind, phrase, entry.zh, depth))
                    index += length
                    break
            else:
                return None
        return result

    def noun_phrase(self, text: str, partial: bool = False) -> Translation | None:
        """Translate one noun phrase. With `partial`, a phrase of locations alone is accepted too."""
        chunks = self._chunks(text.split())
        if not chunks:
            return None
        heads = [chunk for chunk in chunks if chunk.kind in _HEAD_KINDS]
        if len(heads) > 1:
            return self._two_heads(text, chunks)
        kinds = {chunk.kind for chunk in chunks}
        # A phrase needs a finding, or a location with a state modifier ("elevated right
        # hemidiaphragm").
        state_modifier = any(
            chunk.kind == "modifier" and self._canonical_of(chunk) in STATE_MODIFIERS for chunk in chunks
        )
        complete = kinds & _HEAD_KINDS or ("location" in kinds and state_modifier)
        if not complete and not (partial and kinds == {"location"}):
            return None
        findings = {self._canonical_of(chunk) for chunk in chunks if chunk.kind == "finding"}
        if findings & QUANTITY_FINDINGS:
            # Chinese counts fluid by amount: "small effusion" is 少量胸腔积液, not 小胸腔积液.
            chunks = [
                chunk._replace(english=QUANTITIES[chunk.english][0], zh=QUANTITIES[chunk.english][1])
                if chunk.english in QUANTITIES
                else chunk
                for chunk in chunks
            ]
        if not heads:
            # Without a head noun the modifiers read as predicates: "右侧膈肌抬高", "肺动脉突出".
            chunks = [chunk._replace(zh=chunk.zh.removesuffix("的")) for chunk in chunks]
        ordered = sorted(chunks, key=self._chunk_order)
        return Translation("".join(chunk.zh for chunk in ordered), self._canonical(chunks))

    def _two_heads(self, text: str, chunks: list[tuple[str, str, str]]) -> Translation | None:
        """Translate a phrase with two head nouns, or return None.

        "<noun phrase> of <noun phrase>" puts the second first ("prominence of the interstitial
        markings" renders as "间质纹理突出", "changes of emphysema" as "肺气肿改变"), and so does a
        trailing "changes" or "deformity" ("sternotomy changes" as "胸骨正中切开术后改变"). Any
        other pair ("change pneumothorax") means a missing word, so nothing is guessed.
        """
        of = re.fullmatch(r"(?P<head>.+?) (?:of|from) (?:the )?(?P<rest>.+)", text)
        if of:
            head_chunks = self._chunks(of.group("head").split()) or []
            head_nouns = {self._canonical_of(chunk) for chunk in head_chunks if chunk.kind in _HEAD_KINDS}
            if not head_nouns <= _OF_HEADS or any(chunk.kind == "location" for chunk in head_chunks):
                return None
            head = self.noun_phrase(of.group("head"))
            rest = self.noun_phrase_list(of.group("rest"))
        else:
            last = self._canonical_of(chunks[-1])
            words = text.split()
            before = words[: len(words) - len(chunks[-1].english.split())]
            if last not in _TRAILING_HEADS or _PREPOSITIONS.intersection(before):
                return None
            head = self.noun_phrase(chunks[-1].english)
            rest = self.noun_phrase(" ".join(before))
        if head is None or rest is None:
            return None
        if rest.text.endswith("术后") and head.text.startswith("术后"):
            # "postoperative changes of lobectomy": the Chinese of the operation already ends in "术后".
            head = Translation(head.text.removeprefix("术后"), ["changes"])
        return Translation(rest.text + head.text, [*rest.chunks, *head.chunks])

    def _canonical(self, chunks: list[tuple[str, str, str]]) -> list[str]:
        return [self._canonical_of(chunk) for chunk in chunks]

    def _canonical_of(self, chunk: Chunk) -> str:
        return self.lexicon.phrase(chunk.english).canonical

    def _chunk_order(self, chunk: Chunk) -> tuple[int, int]:
        """Order chunks for Chinese: locations, deepest container first, then modifiers and the head.

        A location after more prepositions names the larger place ("soft tissues of the right
        chest wall" renders as "右侧胸壁软组织"). Within one depth the side comes first and the
        part of an organ last ("posterior right lower lobe" renders as "右下叶后部").
        """
        if chunk.kind != "location":
            return ({"modifier": 1, "finding": 2, "procedure": 2}[chunk.kind], 0)
        canonical = self._canonical_of(chunk)
        if canonical in VIEW_LOCATIONS:
            return (0, -100)
        if canonical in LATERALITY:
            return (0, -chunk.depth * 3)
        return (0, -chunk.depth * 3 + (2 if canonical in POSITIONS else 1))

    def locations(self, text: str) -> Translation | None:
        """Translate a phrase made of locations only ("the right lower lobe")."""
        chunks = self._chunks(text.split())
        if not chunks or any(chunk.kind != "location" for chunk in chunks):
            return None
        ordered = sorted(chunks, key=self._chunk_order)
        return Translation("".join(chunk.zh for chunk in ordered), self._canonical(chunks))

    def noun_phrase_list(self, text: str) -> Translation | None:
        """Translate a list of noun phrases.

        An item of locations alone is accepted when a later item completes it ("t9 and t12
        fractures" renders as "T9及T12骨折").
        """
        parts = split_list(text)
        if len(parts) > 1 and set(parts[1::2]) <= _ALTERNATIVES and set(parts[1::2]) != {", "}:
            shared = self._shared_location(parts)
            if shared is not None:
                return shared
        return self._noun_items(parts)

    def _shared_location(self, parts: list[str]) -> Translation | None:
        """Put a place at the end of the last alternative before all of them, or return None."""
        words = parts[-1].split()
        for start in range(1, len(words)):
            if words[start - 1] in _PREPOSITIONS:
                continue
            location = self.locations(" ".join(words[start:]))
            head = " ".join(words[:start])
            items = self._noun_items([*parts[:-1], head]) if location else None
            if location is not None and items is not None:
                return Translation(location.text + items.text, [*items.chunks, *location.chunks])
        return None

    def _noun_items(self, parts: list[str]) -> Translation | None:
        pieces: list[str] = []
        chunks: list[str] = []
        complete_seen = False
        for index, part in enumerate(parts):
            if index % 2:
                pieces.append(LIST_ZH[part])
                continue
            partial = not complete_seen and index < len(parts) - 1
            translated = self.noun_phrase(part.strip(), partial=partial)
            if translated is None:
                return None
            complete_seen = complete_seen or self.noun_phrase(part.strip()) is not None
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
                pieces.append("及" if part.strip(", ") == "and" else LIST_ZH[part])
                continue
            words = [word for word in part.split() if word not in _ARTICLES]
            entry = self.lexicon.subject(" ".join(words))
            if entry is None:
                return None
            pieces.append(entry.zh)
            chunks.append(entry.canonical)
        return Translation("".join(pieces), chunks)

    def state_phrase(self, text: str) -> Translation | None:
        """Translate a state ("normal in size"), optionally after an adverb ("grossly clear").

        Several states ("hyperinflated and clear") join with "且", "，但" or "，".
        """
        single = self._single_state(text)
        if single is not None:
            return single
        parts = _STATE_SEPARATOR.split(text)
        if len(parts) < 3:
            return None
        pieces: list[str] = []
        chunks: list[str] = []
        for index, part in enumerate(parts):
            if index % 2:
                pieces.append(_STATE_ZH[part])
                continue
            state = self._single_state(part)
            if state is None:
                return None
            pieces.append(state.text)
            chunks.extend(state.chunks)
        return Translation("".join(pieces), chunks)

    def _single_state(self, text: str) -> Translation | None:
        entry = self.lexicon.state(text)
        if entry is not None:
            return Translation(entry.zh, [entry.canonical])
        adverb, _, rest = text.partition(" ")
        inner = self._single_state(rest) if adverb in STATE_ADVERBS and rest else None
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
        for handler in (
            self._comparison,
            self._predominance,
            self._view,
            self._status,
            self._negation,
            self._state,
            self._verb,
            self._clause_adverb,
            self._subject_negation,
            self._juxtaposed_state,
            self._shows,
            self._leading_hedge,
            self._interpretation,
            self._operation_or_history,
            self._recommendation,
        ):
            translation = handler(clause)
            if translation is not None:
                return translation
        finding = self.noun_phrase_list(_THERE_IS.sub("", _SEEN_SUFFIX.sub("", clause)))
        if finding is None:
            return None
        return Translation(finding.text, finding.chunks, bare=not _THERE_IS.match(clause))

    def _comparison(self, clause: str) -> Translation | None:
        match = _COMPARISON_END.match(clause) or _COMPARISON_START.match(clause)
        if not match:
            return None
        rest = self.translate_clauses(match.group("rest"))
        if rest is None:
            return None
        if "较前" in rest.text or "与前片相仿" in rest.text:
            return rest
        prior = match.group("prior") or ""
        prefix = COMPARISON_CT_ZH if re.search(r"\bct\b", prior) else COMPARISON_ZH
        return Translation(prefix + rest.text, rest.chunks)

    def _predominance(self, clause: str) -> Translation | None:
        match = _PREDOMINANCE.match(clause)
        if not match:
            return None
        rest = self.translate_clauses(match.group("rest"))
        if rest is None:
            return None
        return Translation(rest.text + PREDOMINANCE[match.group("cue")], rest.chunks)

    def _view(self, clause: str) -> Translation | None:
        match = _VIEW.match(clause) or _VIEW_FIRST.match(clause)
        if not match:
            return None
        rest = self.translate_clauses(match.group("rest"))
        if rest is None:
            return None
        return Translation(rest.text + VIEWS[match.group("view")], rest.chunks)

    def _negation(self, clause: str) -> Translation | None:
        suggesting = _NEG_SUGGESTING.match(_SEEN_SUFFIX.sub("", clause))
        if suggesting:
            sign = self.noun_phrase_list(suggesting.group("np"))
            meaning = self.noun_phrase_list(suggesting.group("meaning"))
            if sign is not None and meaning is not None:
                # "no pleural line to suggest pneumothorax" renders as "未见提示气胸的胸膜线".
                text = f"未见提示{meaning.text}的{sign.text}"
                return Translation(text, [*meaning.chunks, *sign.chunks])
        negation = _NEG_PREFIX.match(_SEEN_SUFFIX.sub("", clause)) or _NOT_SEEN.match(clause)
        if negation:
            items = self.noun_phrase_list(negation.group("np"))
            if items is not None:
                return Translation("未见" + items.text, items.chunks)
        no_longer = _NO_LONGER_SEEN.match(clause)
        if no_longer:
            items = self.noun_phrase_list(no_longer.group("np"))
            if items is not None:
                return Translation("未再见" + items.text, items.chunks)
        return None

    def _status(self, clause: str) -> Translation | None:
        prefix = _STATUS_PREFIX.match(clause) or _STATUS_PREFIX.match(_THERE_IS.sub("", clause))
        if prefix:
            translation = self._with_status(STATUS_PREFIXES[prefix.group("cue")], prefix.group("rest"))
            if translation is not None:
                return translation
        suffix = _STATUS_SUFFIX.match(clause)
        if suffix:
            translation = self._with_status(STATUS_SUFFIXES[suffix.group("cue")], suffix.group("rest"))
            if translation is not None:
                return translation
        # "stable" inside a noun phrase: "mild stable cardiomegaly".
        inner = re.fullmatch(r"(?P<before>.+?) stable (?P<after>.+)", clause)
        if inner:
            return self._with_status("stable", f"{inner.group('before')} {inner.group('after')}")
        return None

    def _with_status(self, status: str, text: str) -> Translation | None:
        zh, place = STATUSES[status]
        items = self.noun_phrase_list(_THERE_IS.sub("", _SEEN_SUFFIX.sub("", text)))
        if items is None and status in _CLAUSE_STATUSES:
            # "stable normal cardiomediastinal silhouette" keeps a state clause.
            items = self._state(text) or self._juxtaposed_state(text)
        if items is None or "较前" in items.text:
            return None
        if place == AFTER:
            return Translation(items.text + zh, items.chunks)
        return Translation(zh + items.text, items.chunks)

    def _state(self, clause: str) -> Translation | None:
        state = _STATE.match(clause)
        if not state:
            return None
        value = self.state_phrase(state.group("state"))
        if value is None:
            return None
        subject_text = state.group("subj")
        subjects = (
            self.subject_list(subject_text)
            or self.noun_phrase_list(subject_text)
            or self.locations(subject_text)
        )
        if subjects is None:
            return None
        return Translation(subjects.text + value.text, [*subjects.chunks, *value.chunks])

    def _verb(self, clause: str) -> Translation | None:
        match = _VERB.match(clause)
        if not match:
            return None
        items = None
        if match.group("location"):
            # A place after the verb belongs to every item: "consolidation and atelectasis are
            # present in the right lung base" renders as "右肺底实变及肺不张".
            location = self.locations(match.group("location"))
            found = self.noun_phrase_list(match.group("np"))
            if location is not None and found is not None:
                items = Translation(location.text + found.text, [*found.chunks, *location.chunks])
        items = items or self.noun_phrase_list(match.group("np") + match.group("location"))
        if items is None:
            return None
        adverb = match.group("adverb")
        status = {"again": "again seen", "still": "again seen", "also": "also", "newly": "new", "now": "new"}
        if adverb is None:
            return items
        zh, place = STATUSES[status[adverb]]
        return Translation(zh + items.text if place != AFTER else items.text + zh, items.chunks)

    def _clause_adverb(self, clause: str) -> Translation | None:
        for english, zh in sorted(CLAUSE_ADVERBS.items(), key=lambda item: -len(item[0])):
            if clause.startswith(english + " ") or clause.startswith(english + ", "):
                rest = clause[len(english) :].lstrip(", ")
                inner = self.translate_clauses(rest) if rest else None
                if inner is not None:
                    return Translation(zh + inner.text, inner.chunks)
        return None

    def _subject_negation(self, clause: str) -> Translation | None:
        match = _SUBJ_NEG.match(clause)
        if not match:
            return None
        subjects = self.subject_list(match.group("subj"))
        items = self.noun_phrase_list(match.group("np"))
        if subjects is None or items is None:
            return None
        adverb = STATE_ADVERBS.get(match.group("adverb") or "", "")
        return Translation(subjects.text + adverb + "未见" + items.text, [*subjects.chunks, *items.chunks])

    def _juxtaposed_state(self, clause: str) -> Translation | None:
        """Translate "<state> [of] <subjects>" ("normal heart size") and "<subjects> <state>"."""
        words = clause.split()
        for cut in range(1, len(words)):
            head, tail = " ".join(words[:cut]), " ".join(words[cut:])
            for state_text, subject_text in ((head, tail), (tail, head)):
                value = self.state_phrase(state_text)
                if value is None:
                    continue
                subject_text = re.sub(r"^of (?:the )?", "", subject_text)
                subjects = self.subject_list(subject_text)
                if subjects is not None:
                    return Translation(subjects.text + value.text, [*subjects.chunks, *value.chunks])
        return None

    def _shows(self, clause: str) -> Translation | None:
        match = _SHOWS.match(clause)
        if not match:
            return None
        subject_text = match.group("subj")
        subject = self.subject_list(subject_text) or self.locations(subject_text)
        rest = self.translate_clauses(match.group("rest"))
        if subject is None or rest is None:
            return None
        return Translation(f"{subject.text}示{rest.text}", [*subject.chunks, *rest.chunks])

    def _leading_hedge(self, clause: str) -> Translation | None:
        match = _LEADING_HEDGE.match(clause)
        if not match:
            return None
        rest = self.translate_clauses(match.group("rest"))
        if rest is None:
            return None
        return Translation(LEADING_HEDGES[match.group("cue")] + rest.text, rest.chunks)

    def _interpretation(self, clause: str) -> Translation | None:
        match = _INTERPRETATION.match(clause)
        if not match:
            return None
        first = self.translate_clauses(match.group("a"))
        second = self.translate_clauses(match.group("b"))
        if first is None or second is None or _ends_negated(first.text):
            # "no opacity consistent with pneumonia" is not "未见阴影，符合肺炎".
            return None
        cue = match.group("cue")
        if cue in _VERSUS:
            return Translation(f"{first.text}或{second.text}", [*first.chunks, *second.chunks])
        before, after = INTERPRETATIONS[cue]
        return Translation(f"{first.text}，{before}{second.text}{after}", [*first.chunks, *second.chunks])

    def _operation_or_history(self, clause: str) -> Translation | None:
        operation = _STATUS_POST.match(clause)
        history = _HISTORY.match(clause)
        match, table = (operation, STATUS_POST) if operation else (history, HISTORY)
        if not match:
            return None
        items = self.noun_phrase_list(match.group("np"))
        if items is None:
            return None
        before, after = table[match.group("cue")]
        text = items.text if items.text.endswith(after) else items.text + after
        return Translation(before + text, items.chunks)

    def _recommendation(self, clause: str) -> Translation | None:
        match = _RECOMMEND.match(clause)
        if not match:
            return None
        items = self.noun_phrase_list(match.group("np1") or match.group("np2"))
        if items is None:
            return None
        purpose = PURPOSES.get(match.group("purpose") or "", "")
        return Translation(RECOMMENDATION_ZH + items.text + purpose, items.chunks)

    def _translate_clauses_uncached(self, text: str) -> Translation | None:
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
            if english.strip(", ") in {"without", "with no"}:
                # The negation belongs to the second clause: "clear with no effusion".
                rest_text = english.strip(", ").replace("with no", "no") + " " + rest_text
            rest = self.translate_clauses(rest_text)
            if rest is None:
                continue
            if chinese == "，" and rest.bare and _ends_negated(first.text):
                # "no a, b or c" must not become "未见a，b或c": there b and c would read as present.
                continue
            return Translation(first.text + chinese + rest.text, first.chunks + rest.chunks, first.bare)
        return None
