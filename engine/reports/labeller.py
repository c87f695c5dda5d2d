"""Rule-based finding labeller for chest X-ray reports, in English and Chinese.

`label_report` finds mentions of the 14 CheXpert observations and gives each one a status
(positive, negative or uncertain), a side where the observation has one, and character offsets
into the input so a viewer can link a sentence to its findings. Negation and uncertainty are
NegEx/ConText-style: a cue governs the mentions after it (or, for post-cues such as "is not
seen", before it) up to a scope terminator such as "but" or the end of the sentence. When
several cues precede a mention, the nearest one decides.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from engine.reports.label_rules import LATERAL_OBSERVATIONS, NO_FINDING, SUPPORT_DEVICES, RuleSet, rules_for
from engine.reports.sentences import Sentence, split_sentences

POSITIVE = "positive"
NEGATIVE = "negative"
UNCERTAIN = "uncertain"

_BARE_SIDE = re.compile(r"left|right|左|右")

# Order used to collapse several findings of one observation into one status.
_STATUS_RANK = {NEGATIVE: 0, UNCERTAIN: 1, POSITIVE: 2}


@dataclass(frozen=True)
class Finding:
    """One mention of an observation.

    `span` and `sentence_span` are (start, end) character offsets into the labelled text, end
    exclusive. `cue` is the negation or uncertainty cue that set the status, or the normal
    statement ("heart size is normal") for negatives found that way, and None for plain
    positive mentions. `laterality` is "left", "right", "bilateral" or None.
    """

    observation: str
    status: str
    laterality: str | None
    span: tuple[int, int]
    sentence_span: tuple[int, int]
    text: str
    cue: str | None = None


@dataclass
class LabelResult:
    """Findings of one report, in text order."""

    text: str
    lang: str
    findings: list[Finding] = field(default_factory=list)

    def observations(self) -> dict[str, str]:
        """Collapse the findings to one status per observation, CheXpert-style.

        Positive beats uncertain, which beats negative. "No Finding" is positive when no
        observation other than Support Devices is positive or uncertain, as in the CheXpert
        labeller, so an empty report also yields {"No Finding": "positive"}.
        """
        collapsed: dict[str, str] = {}
        for finding in self.findings:
            previous = collapsed.get(finding.observation)
            if previous is None or _STATUS_RANK[finding.status] > _STATUS_RANK[previous]:
                collapsed[finding.observation] = finding.status
        abnormal = any(
            status != NEGATIVE for observation, status in collapsed.items() if observation != SUPPORT_DEVICES
        )
        if not abnormal:
            collapsed[NO_FINDING] = POSITIVE
        return collapsed

    def positives(self) -> list[Finding]:
        """Return the positive and uncertain findings."""
        return [finding for finding in self.findings if finding.status != NEGATIVE]

    def to_dict(self) -> dict:
        return {
            "lang": self.lang,
            "findings": [asdict(finding) for finding in self.findings],
            "observations": self.observations(),
        }


def label_report(text: str, lang: str = "en") -> LabelResult:
    """Label every sentence of `text` ("en" or "zh") and return the findings in text order."""
    rules = rules_for(lang)
    result = LabelResult(text=text, lang=lang)
    for sentence in split_sentences(text):
        result.findings.extend(_label_sentence(sentence, rules))
    return result


def _clause_bounds(sentence: str, rules: RuleSet) -> list[tuple[int, int]]:
    cuts = sorted({match.start() for match in rules.terminators.finditer(sentence)} - {0})
    starts = [0, *cuts]
    ends = [*cuts, len(sentence)]
    return list(zip(starts, ends, strict=True))


def _enclosing(bounds: list[tuple[int, int]], position: int) -> tuple[int, int]:
    for start, end in bounds:
        if start <= position < end:
            return start, end
    return bounds[-1]


def _nearest_pre_cue(lowered: str, rules: RuleSet, clause_start: int, mention: re.Match[str]):
    """Return (status, cue text) of the nearest cue before or inside the mention, or None."""
    candidates: list[tuple[int, int, str, str]] = []
    window = lowered[: mention.end()]
    for status, pattern in ((NEGATIVE, rules.pre_negation), (UNCERTAIN, rules.pre_uncertainty)):
        for cue in pattern.finditer(window, clause_start):
            candidates.append((cue.start(), cue.end() - cue.start(), status, cue.group(0)))
    if not candidates:
        return None
    # The nearest cue wins. At one position the longer cue wins, so "not excluded" (uncertain)
    # beats its prefix "not" (negative).
    _, _, status, text = max(candidates)
    return status, text


def _post_cue(lowered: str, rules: RuleSet, start: int, end: int):
    for status, pattern in ((NEGATIVE, rules.post_negation), (UNCERTAIN, rules.post_uncertainty)):
        cue = pattern.search(lowered, start, end)
        if cue:
            return status, cue.group(0)
    return None


def _laterality(lowered: str, rules: RuleSet, clause: tuple[int, int], mention: re.Match[str]) -> str | None:
    clause_start, clause_end = clause
    item_start, item_end = clause_start, clause_end
    for separator in rules.item_separators.finditer(lowered, clause_start, clause_end):
        if separator.end() <= mention.start():
            # "left and right effusions": a bare side word before "and" belongs to the next item.
            if not _BARE_SIDE.fullmatch(lowered[item_start : separator.start()].strip()):
                item_start = separator.end()
        elif separator.start() >= mention.end():
            item_end = separator.start()
            break
    for start, end in ((item_start, item_end), clause):
        piece = lowered[start:end]
        if rules.bilateral.search(piece):
            return "bilateral"
        left = rules.left.search(piece) is not None
        right = rules.right.search(piece) is not None
        if left and right:
            return "bilateral"
        if left:
            return "left"
        if right:
            return "right"
    return None


def _label_sentence(sentence: Sentence, rules: RuleSet) -> list[Finding]:
    lowered = sentence.text.lower()
    bounds = _clause_bounds(lowered, rules)
    sentence_span = (sentence.start, sentence.end)
    found: list[tuple[int, Finding]] = []

    normal_spans: dict[str, list[tuple[int, int]]] = {}
    for observation, pattern in rules.normal_statements.items():
        for match in pattern.finditer(lowered):
            normal_spans.setdefault(observation, []).append(match.span())
            finding = Finding(
                observation=observation,
                status=NEGATIVE,
                laterality=None,
                span=(sentence.start + match.start(), sentence.start + match.end()),
                sentence_span=sentence_span,
                text=sentence.text[match.start() : match.end()],
                cue=sentence.text[match.start() : match.end()],
            )
            found.append((match.start(), finding))

    for observation, pattern in rules.mentions.items():
        for mention in pattern.finditer(lowered):
            overlaps_normal = any(
                start < mention.end() and mention.start() < end
                for start, end in normal_spans.get(observation, [])
            )
            if overlaps_normal:
                continue
            clause = _enclosing(bounds, mention.start())
            status, cue = POSITIVE, None
            pre = _nearest_pre_cue(lowered, rules, clause[0], mention)
            if pre is not None:
                status, cue = pre
            else:
                post = _post_cue(lowered, rules, mention.end(), clause[1])
                if post is not None:
                    status, cue = post
            laterality = (
                _laterality(lowered, rules, clause, mention) if observation in LATERAL_OBSERVATIONS else None
            )
            finding = Finding(
                observation=observation,
                status=status,
                laterality=laterality,
                span=(sentence.start + mention.start(), sentence.start + mention.end()),
                sentence_span=sentence_span,
                text=sentence.text[mention.start() : mention.end()],
                cue=cue,
            )
            found.append((mention.start(), finding))

    found.sort(key=lambda item: (item[0], item[1].observation))
    return [finding for _, finding in found]
