"""Training data: study records, report targets and tokenised examples with their image patches.

Records are read from JSONL, one study per line, with the fields that `echo-cxr data build`
writes: study_id, images (paths, frontal first), findings, impression, language ("en" or
"zh") and optionally indication, source and normalized (the normalised report, whose
findings and impression are used when present). `images` may be empty: such a text-only
record gets a prompt without a vision span, which teaches report language and structure
where a corpus has reports but not their images. An example is the engine's prompt for the
study (every view in one user turn, the indication as clinical context) plus the target:
"Findings: ...\\nImpression: ..." or "所见：...\\n结论：..." followed by the end token.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.config import EchoSettings
from engine.inputs import PromptInput, build_prompt_input
from engine.prompts import check_language
from engine.reports.normalize import SECTION_LABELS
from engine.tokenizer import ReportTokenizer

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = ("study_id", "images", "findings", "impression")


@dataclass
class ReportRecord:
    """One study of a training corpus."""

    study_id: str
    images: list[str]
    """Image paths, absolute or relative to the data set's image root, frontal view first; empty for a
    text-only record."""
    findings: str
    impression: str
    language: str = "en"
    indication: str = ""
    source: str = ""
    """Corpus the study comes from (mimic_cxr, iu_xray, ...); used for proportional sampling."""

    @classmethod
    def from_dict(cls, data: dict) -> ReportRecord:
        normalized = data.get("normalized") or {}
        findings = normalized.get("findings") or data.get("findings") or ""
        impression = normalized.get("impression") or data.get("impression") or ""
        return cls(
            study_id=str(data["study_id"]),
            images=[str(path) for path in data["images"]],
            findings=findings,
            impression=impression,
            language=normalized.get("language") or data.get("language") or "en",
            indication=data.get("indication") or "",
            source=data.get("source") or "",
        )

    def to_dict(self) -> dict:
        return {
            "study_id": self.study_id,
            "images": list(self.images),
            "findings": self.findings,
            "impression": self.impression,
            "language": self.language,
            "indication": self.indication,
            "source": self.source,
        }


def read_records(path: str | Path, *, limit: int | None = None) -> list[ReportRecord]:
    """Read study records from a JSONL file; the error names the line of an invalid record."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training data not found: {path}; pass a JSONL file from `echo-cxr data build`")
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            missing = [name for name in REQUIRED_FIELDS if name not in data]
            if missing:
                raise ValueError(f"{path}:{number}: record is missing {', '.join(missing)}")
            if not isinstance(data["images"], list):
                raise ValueError(f"{path}:{number}: images of study {data['study_id']!r} must be a list of paths")
            records.append(ReportRecord.from_dict(data))
            if limit is not None and len(records) >= limit:
                break
    if not records:
        raise ValueError(f"{path} contains no study records; expected one JSON object per line")
    return records


def write_records(records: list[ReportRecord], path: str | Path) -> None:
    with Path(path).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def format_target(findings: str, impression: str, language: str) -> str:
    """Return the report text the model learns to write, in the engine's section format."""
    check_language(language)
    findings_label, impression_label = SECTION_LABELS[language]
    return f"{findings_label}{findings.strip()}\n{impression_label}{impression.strip()}"


def load_view(path: Path) -> np.ndarray:
    """Return one rendered view as uint8 greyscale (H, W).

    DICOM files and 16-bit rasters go through `engine.imaging.load_image` when that reader
    is available; 8-bit PNG and JPEG files are read with Pillow otherwise.
    """
    try:
        from engine.imaging import load_image  # type: ignore[attr-defined]
    except ImportError:
        load_image = None
    if load_image is not None:
        return load_image(path).display
    from PIL import Image

    if path.suffix.lower() in (".dcm", ".dicom"):
        raise ValueError(f"cannot read DICOM {path} without engine.imaging.load_image; render it to PNG first")
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


@dataclass
class StudyExample:
    """A study ready for a training sequence: the engine's prompt and the target token ids."""

    study_id: str
    prompt: PromptInput
    response_ids: list[int]
    """Report tokens followed by the end token."""
    language: str = "en"
    truncated: bool = False
    """True when the report was cut to max_response_tokens."""


@dataclass
class ExampleBuilder:
    """Turn records into examples with the checkpoint's tokenizer and vision settings."""

    tokenizer: ReportTokenizer
    settings: EchoSettings
    image_root: Path
    max_response_tokens: int = 512
    cache: dict[int, StudyExample] | None = field(default=None)
    """Examples kept in memory by record index, or None to rebuild each time."""

    def target_ids(self, record: ReportRecord) -> tuple[list[int], bool]:
        text = format_target(record.findings, record.impression, record.language)
        ids = self.tokenizer.encode(text)
        limit = self.max_response_tokens - 1
        truncated = len(ids) > limit
        return ids[:limit] + [self.settings.eos_token_id], truncated

    def prompt(self, record: ReportRecord) -> PromptInput:
        images = [load_view(self.resolve(path)) for path in record.images]
        return build_prompt_input(images, record.language, self.tokenizer, self.settings,
                                  clinical_context=record.indication or None)

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.image_root / candidate

    def build(self, record: ReportRecord, index: int | None = None) -> StudyExample:
        if self.cache is not None and index is not None and index in self.cache:
            return self.cache[index]
        response, truncated = self.target_ids(record)
        if truncated:
            logger.debug("report of %s cut to %d tokens", record.study_id, self.max_response_tokens)
        example = StudyExample(record.study_id, self.prompt(record), response, record.language, truncated)
        if self.cache is not None and index is not None:
            self.cache[index] = example
        return example


def proportional_sample(records: list[ReportRecord], count: int | None, seed: int, *,
                        image_repeats: int = 1) -> list[int]:
    """Return `count` record indices drawn without replacement, in proportion to each source's share.

    A source's share counts each record with images `image_repeats` times, as the training sample
    stream does. Shares are rounded by largest remainder so the total is exactly `count`; None or
    a count of at least len(records) returns every index.
    """
    if count is None or count >= len(records):
        return list(range(len(records)))
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[int]] = {}
    weight: dict[str, int] = {}
    for index, record in enumerate(records):
        by_source.setdefault(record.source, []).append(index)
        weight[record.source] = weight.get(record.source, 0) + (image_repeats if record.images else 1)
    total = sum(weight.values())
    # A source whose weighted share exceeds its record count gives all its records, and the
    # other sources fill the rest.
    quotas = {source: min(len(items), count * weight[source] / total) for source, items in by_source.items()}
    taken = {source: int(quota) for source, quota in quotas.items()}
    leftover = count - sum(taken.values())
    while leftover > 0:
        open_sources = [source for source in quotas if taken[source] < len(by_source[source])]
        for source in sorted(open_sources, key=lambda name: quotas[name] - taken[name], reverse=True)[:leftover]:
            taken[source] += 1
            leftover -= 1
    chosen = []
    for source, items in by_source.items():
        chosen.extend(rng.choice(items, size=taken[source], replace=False).tolist())
    return sorted(chosen)
