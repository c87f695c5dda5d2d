"""Rewrite a chest X-ray report into a structured Findings and Impression.

Findings are ordered by seven regions (thorax; mediastinum and trachea; lung fields; cardiac
silhouette; hila; diaphragms and costophrenic angles; bony structures). The rules, applied in
this order, are deterministic:

1. Each source sentence has its "XXXX" masks handled (see `engine.reports.deid`), is cleaned
   (spacing, a capital first letter, a final full stop) and is kept word for word otherwise.
2. Technique sentences ("PA and lateral views of the chest") are dropped. Whole-study summaries
   ("No acute cardiopulmonary disease.") and recommendations move from Findings to Impression.
3. A Findings sentence goes to the region it names first in its text and counts as mentioning
   every region it names, so a region can be empty because a sentence placed elsewhere covers
   it ("The heart and mediastinum are normal." sits under the cardiac silhouette). A sentence
   that names no region (a device, a comparison) goes to the thorax without counting as a
   mention of it.
4. An Impression sentence that names only regions the Findings do not mention is copied into
   Findings the same way. Each region still not mentioned gets its explicit normal sentence
   (`REGION_DEFAULTS`).
5. The Impression keeps the source impression. When there is none, it lists the Findings
   sentences with a positive or uncertain finding (devices aside), or else the default
   "No acute cardiopulmonary abnormality."
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from engine.reports.deid import unmask_sentence
from engine.reports.label_rules import SUPPORT_DEVICES
from engine.reports.labeller import Finding, label_report
from engine.reports.regions import REGION_BY_ID, REGION_IDS, mentioned_regions
from engine.reports.sections import split_sections
from engine.reports.sentences import split_sentences
from engine.reports.templates import DEFAULT_IMPRESSION, RECOMMENDATION, REGION_DEFAULTS, SUMMARY, TECHNIQUE

SECTION_LABELS = {"en": ("Findings: ", "Impression: "), "zh": ("所见：", "结论：")}


class EmptyReportError(ValueError):
    """The report has no sentence with words in it."""


class NotCoveredError(LookupError):
    """The Chinese lexicon cannot translate every sentence of a report.

    `missing` lists the English sentences without a translation. No partial translation is
    returned, so a report is never half translated.
    """

    def __init__(self, missing: list[str]):
        self.missing = missing
        preview = "; ".join(missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        super().__init__(f"Chinese lexicon does not cover {len(missing)} sentence(s): {preview}{more}")


@dataclass
class RegionEntry:
    """The sentences of one Findings region.

    `default` is True when the region holds its explicit normal sentence because the source did
    not mention it. `findings` are the labeller's findings on the region's sentences joined by
    spaces, with spans into that joined text.
    """

    region: str
    sentences: list[str]
    findings: list[Finding] = field(default_factory=list)
    default: bool = False

    @property
    def name(self) -> str:
        return REGION_BY_ID[self.region].name_en


@dataclass
class NormalizedReport:
    """A report normalised to seven Findings regions in fixed order and an Impression."""

    regions: list[RegionEntry]
    impression: list[str]
    impression_default: bool = False

    def findings_sentences(self) -> list[str]:
        return [sentence for entry in self.regions for sentence in entry.sentences]

    def sentences_in(self, lang: str) -> tuple[list[str], list[str]]:
        """Return (findings sentences, impression sentences) in "en" or "zh".

        Raises NotCoveredError when lang is "zh" and any sentence has no translation.
        """
        findings, impression = self.findings_sentences(), list(self.impression)
        if lang == "en":
            return findings, impression
        if lang != "zh":
            raise ValueError(f"unsupported language {lang!r}: expected 'en' or 'zh'")
        from engine.reports.lexicon_zh import translate_sentence

        translated = {sentence: translate_sentence(sentence) for sentence in findings + impression}
        missing = [sentence for sentence, text in translated.items() if text is None]
        if missing:
            raise NotCoveredError(missing)
        return [translated[s] for s in findings], [translated[s] for s in impression]

    def missing_zh(self) -> list[str]:
        """Return the sentences the Chinese lexicon cannot translate (empty when fully covered)."""
        try:
            self.sentences_in("zh")
        except NotCoveredError as error:
            return error.missing
        return []

    def to_text(self, lang: str = "en") -> str:
        """Render "Findings: ...\\nImpression: ..." (English) or "所见：...\\n结论：..." (Chinese)."""
        findings, impression = self.sentences_in(lang)
        findings_label, impression_label = SECTION_LABELS[lang]
        joiner = " " if lang == "en" else ""
        return f"{findings_label}{joiner.join(findings)}\n{impression_label}{joiner.join(impression)}"

    def to_dict(self, lang: str = "en") -> dict:
        """Return the ECHO ground-truth form plus the structured regions, in one language."""
        findings, impression = self.sentences_in(lang)
        joiner = " " if lang == "en" else ""
        regions = []
        position = 0
        for entry in self.regions:
            count = len(entry.sentences)
            regions.append(
                {
                    "region": entry.region,
                    "name": entry.name if lang == "en" else REGION_BY_ID[entry.region].name_zh,
                    "sentences": findings[position : position + count],
                    "default": entry.default,
                    "findings": [
                        {key: value for key, value in asdict(finding).items() if key in _FINDING_KEYS}
                        for finding in entry.findings
                    ],
                }
            )
            position += count
        return {
            "language": lang,
            "findings": joiner.join(findings),
            "impression": joiner.join(impression),
            "regions": regions,
            "impression_sentences": impression,
            "impression_default": self.impression_default,
        }


_FINDING_KEYS = ("observation", "status", "laterality")


def _has_positive_finding(text: str) -> bool:
    return any(finding.observation != SUPPORT_DEVICES for finding in label_report(text).positives())


def _has_any_positive(text: str) -> bool:
    return bool(label_report(text).positives())


def clean_sentence(text: str) -> str:
    """Normalise spacing and punctuation of one sentence and give it a capital and a full stop."""
    text = " ".join(text.split()).strip(" ,;:")
    text = re.sub(r"\s+([,.;:?!])", r"\1", text)
    text = re.sub(r"([.?!])[.?!]+$", r"\1", text)
    if text and text[0].isalpha():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".?!":
        text += "."
    return text


def _prepare(section: str) -> list[str]:
    prepared: list[str] = []
    seen: set[str] = set()
    for sentence in split_sentences(section or ""):
        unmasked = unmask_sentence(sentence.text, _has_any_positive)
        if unmasked is None:
            continue
        cleaned = clean_sentence(unmasked)
        key = cleaned.lower()
        if not cleaned or TECHNIQUE.match(cleaned) or key in seen:
            continue
        seen.add(key)
        prepared.append(cleaned)
    return prepared


def _is_summary(sentence: str) -> bool:
    return bool(SUMMARY.match(sentence) or RECOMMENDATION.match(sentence))


def normalize_report(findings: str, impression: str = "") -> NormalizedReport:
    """Normalise a report given as its Findings and Impression texts.

    Raises EmptyReportError when neither section has a sentence left after cleaning.
    """
    findings_sentences = _prepare(findings)
    impression_sentences = _prepare(impression)
    if not findings_sentences and not impression_sentences:
        raise EmptyReportError("the report has no findings or impression sentences")

    placed: dict[str, list[str]] = {region: [] for region in REGION_IDS}
    unplaced: list[str] = []
    covered: set[str] = set()
    moved: list[str] = []
    for sentence in findings_sentences:
        if _is_summary(sentence):
            moved.append(sentence)
            continue
        regions = mentioned_regions(sentence)
        if not regions:
            unplaced.append(sentence)
            continue
        placed[regions[0]].append(sentence)
        covered.update(regions)

    from_findings = set(covered)
    for sentence in impression_sentences:
        regions = mentioned_regions(sentence)
        if _is_summary(sentence) or not regions or from_findings.intersection(regions):
            continue
        placed[regions[0]].append(sentence)
        covered.update(regions)

    # A pleural effusion blunts the costophrenic angles, so their "sharp" default would
    # contradict the report even though the effusion sentence sits in the lung fields.
    all_text = " ".join(findings_sentences + impression_sentences)
    if label_report(all_text).observations().get("Pleural Effusion") in ("positive", "uncertain"):
        covered.add("diaphragms")

    entries: list[RegionEntry] = []
    for region in REGION_IDS:
        sentences = list(placed[region])
        default = region not in covered
        if default:
            sentences = [REGION_DEFAULTS[region]]
        if region == "thorax":
            sentences.extend(unplaced)
        findings_found = label_report(" ".join(sentences)).findings
        entries.append(RegionEntry(region, sentences, findings_found, default))

    impression_out = list(impression_sentences)
    known = {sentence.lower() for sentence in impression_out}
    impression_out.extend(sentence for sentence in moved if sentence.lower() not in known)
    impression_default = False
    if not impression_out:
        impression_out = [s for s in findings_sentences if _has_positive_finding(s) and not _is_summary(s)]
    if not impression_out:
        impression_out = [DEFAULT_IMPRESSION]
        impression_default = True
    return NormalizedReport(entries, impression_out, impression_default)


def normalize_text(text: str) -> NormalizedReport:
    """Normalise a free-text report, using its FINDINGS:/IMPRESSION: headers when present.

    Text without either header is read as Findings.
    """
    sections = split_sections(text)
    if "findings" not in sections and "impression" not in sections:
        return normalize_report(text, "")
    return normalize_report(sections.get("findings", ""), sections.get("impression", ""))
