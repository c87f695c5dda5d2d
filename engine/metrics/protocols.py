"""The two evaluation protocols: which text is scored and how it is tokenised.

Literature protocol (IU X-ray, as in R2Gen and the papers that compare with it):
  the R2Gen test split, the Findings section only, both sides cleaned with R2Gen's IU X-ray
  cleaning (`clean_report_r2gen`) and split on spaces; BLEU-1..4, ROUGE-L and CIDEr-D.
  METEOR is not computed: pycocoevalcap's METEOR runs a Java jar.
  NOTE: R2Gen scores references decoded from its token ids, capped at 60 tokens and with rare
  words as <unk>; here the references are the full cleaned text, so numbers differ slightly.

ECHO protocol (the ECHO paper's Table 1):
  references are normalised reports rendered as "Findings: {f} Impression: {i}" in English or
  "所见：{f} 结论：{i}" in Chinese; a draft with those headers is re-rendered the same way and a
  draft without them is scored as written. English is scored on lower-cased words, Chinese on
  jieba words (or characters). Each metric is computed per language and Table 1 reports the
  mean of the English and Chinese values.
  NOTE: references are scored as given. The ECHO test sets are already normalised, and raw
  reports would need engine.reports.normalize first, which this module does not run.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from engine.metrics.errors import EvaluationInputError
from engine.metrics.lexical import (
    bleu,
    cider_d,
    lcs_length_with_masks,
    rouge_l,
    rouge_l_from_lcs,
    token_masks,
)
from engine.metrics.records import Study
from engine.metrics.text import R2GEN_WORDS, Tokenizer, is_empty_text, tokenizer_for

logger = logging.getLogger(__name__)

LITERATURE = "literature"
ECHO = "echo"

SECTION_HEADERS = {"en": ("Findings: ", " Impression: "), "zh": ("所见：", " 结论：")}

# Published IU X-ray results on the R2Gen test split (Findings section), as fractions.
PUBLISHED_IU_XRAY = (
    {
        "method": "R2Gen",
        "source": "Chen et al., Generating Radiology Reports via Memory-driven Transformer, EMNLP 2020",
        "bleu_1": 0.470, "bleu_2": 0.304, "bleu_3": 0.219, "bleu_4": 0.165, "meteor": 0.187, "rouge_l": 0.371,
    },
    {
        "method": "R2GenCMN",
        "source": "Chen et al., Cross-modal Memory Networks for Radiology Report Generation, ACL 2021",
        "bleu_1": 0.475, "bleu_2": 0.309, "bleu_3": 0.222, "bleu_4": 0.170, "meteor": 0.191, "rouge_l": 0.375,
    },
)


def missing_reference_error(study: Study, sections: str) -> EvaluationInputError:
    return EvaluationInputError(
        f"study {study.id!r} ({study.source}) has no reference text: {sections}; "
        "fill in the reference or remove the study from the data file"
    )


# Output parsing as in the ECHO evaluation: "Findings: ... Impression: ..." or "所见：... 结论：...".
_DRAFT_SECTIONS = (
    re.compile(r"findings?\s*[:：]\s*(?P<findings>.*?)\s*,?\s*impressions?\s*[:：]\s*(?P<impression>.*)",
               re.IGNORECASE | re.DOTALL),
    re.compile(r"所见\s*[:：]\s*(?P<findings>.*?)\s*结论\s*[:：]\s*(?P<impression>.*)", re.DOTALL),
)


def split_draft(draft: str) -> tuple[str, str] | None:
    """Return (findings, impression) of a draft with both headers, or None when it lacks them."""
    for pattern in _DRAFT_SECTIONS:
        match = pattern.search(draft)
        if match:
            return match.group("findings").strip(), match.group("impression").strip()
    return None


def render_sections(findings: str, impression: str, language: str) -> str:
    """Render "Findings: f Impression: i" ("所见：f 结论：i"), leaving out an empty section.

    A final full stop is added to the English impression when it has no final punctuation.
    """
    findings_header, impression_header = SECTION_HEADERS[language]
    parts = []
    if findings.strip():
        parts.append(findings_header + findings.strip())
    if impression.strip():
        impression = impression.strip()
        if language == "en" and impression[-1] not in ".!?":
            impression += "."
        parts.append((impression_header if parts else impression_header.lstrip()) + impression)
    return "".join(parts)


@dataclass(frozen=True)
class Protocol:
    """How references and drafts become scored text and tokens."""

    name: str
    chinese_tokenizer: str = "jieba"

    def reference_text(self, study: Study) -> str:
        if self.name == LITERATURE:
            if is_empty_text(study.findings):
                raise missing_reference_error(study, "the Findings section is empty")
            return study.findings.strip()
        if is_empty_text(study.findings) and is_empty_text(study.impression):
            raise missing_reference_error(study, "'findings' and 'impression' are both empty")
        return render_sections(study.findings, study.impression, study.language)

    def draft_text(self, draft: str, language: str) -> str:
        """Return the part of a draft that is scored, in the reference's layout."""
        sections = split_draft(draft)
        if self.name == LITERATURE:
            return sections[0] if sections else draft.strip()
        if sections is None:
            return draft.strip()
        return render_sections(sections[0], sections[1], language)

    def tokenizer(self, language: str) -> Tokenizer:
        if self.name == LITERATURE:
            return R2GEN_WORDS
        return tokenizer_for(language, self.chinese_tokenizer)

    def tokens(self, text: str, language: str) -> list[str]:
        """Tokenise scored text; an empty text has no tokens (R2Gen cleaning would leave a ".")."""
        if is_empty_text(text):
            return []
        return self.tokenizer(language)(text)


def protocol_for(dataset_format: str, chinese_tokenizer: str = "jieba") -> Protocol:
    return Protocol(LITERATURE if dataset_format == "r2gen" else ECHO, chinese_tokenizer)


def medoid_report(reports: Sequence[list[str]]) -> tuple[int, float]:
    """Return (index, mean ROUGE-L) of the report with the highest mean ROUGE-L to the others.

    The report is the candidate and each other report a reference. Identical reports are
    scored once and weighted by their count, so the result equals the all-pairs mean.
    Ties go to the report that comes first.
    """
    if len(reports) < 2:
        raise ValueError("the medoid needs at least two reports")
    counts = Counter(tuple(report) for report in reports)
    unique = list(counts)
    masks = [token_masks(report) for report in unique]
    # Sum of ROUGE-L of each distinct report against every other report, duplicates included.
    totals = [float(counts[report] - 1) if report else 0.0 for report in unique]
    for i, first in enumerate(unique):
        for j in range(i + 1, len(unique)):
            second = unique[j]
            if not first or not second:
                continue
            common = lcs_length_with_masks(first, masks[j], len(second))
            totals[i] += rouge_l_from_lcs(common, len(first), len(second)) * counts[second]
            totals[j] += rouge_l_from_lcs(common, len(second), len(first)) * counts[first]
    best = max(range(len(unique)), key=lambda index: (totals[index], -index))
    index = next(position for position, report in enumerate(reports) if tuple(report) == unique[best])
    return index, totals[best] / (len(reports) - 1)


def constant_report_floor(train: Sequence[Study], test: Sequence[Study]) -> dict:
    """Score the medoid train report as the draft for every test study (literature protocol)."""
    protocol = Protocol(LITERATURE)
    train_reports = [protocol.tokens(study.findings, "en") for study in train if not is_empty_text(study.findings)]
    index, mean_rouge = medoid_report(train_reports)
    medoid_tokens = train_reports[index]
    references = [protocol.tokens(protocol.reference_text(study), "en") for study in test]
    candidates = [list(medoid_tokens)] * len(references)
    bleu_scores, _ = bleu(candidates, references)
    rouge, _ = rouge_l(candidates, references)
    cider, _ = cider_d(candidates, references)
    return {
        "medoid_report": " ".join(medoid_tokens),
        "medoid_mean_rouge_l_to_train": mean_rouge,
        "train_reports": len(train_reports),
        "test_reports": len(references),
        "bleu_1": bleu_scores[0], "bleu_2": bleu_scores[1], "bleu_3": bleu_scores[2], "bleu_4": bleu_scores[3],
        "rouge_l": rouge,
        "cider_d": cider,
    }


