"""Engine results: streamed events while drafting and the finished draft report.

Both are plain dataclasses with `to_dict()`, carrying everything a UI or a database
needs: the text, per-token confidences with character spans (to shade uncertain words),
the decoding settings, pass counters, timings and the model identity. Every draft is
labelled as needing a radiologist's review; nothing in the engine can sign it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

DRAFT_STATUS = "draft"
DRAFT_NOTICE = {
    "en": "AI-generated draft. Not reviewed. A radiologist must review and sign this report before clinical use.",
    "zh": "人工智能生成的草稿，尚未审核。临床使用前须由放射科医师审核并签署。",
}


@dataclass
class TokenSpan:
    """One generated token: where its text sits in the report and how confident the model was."""

    start: int
    """Character offset of the token's text in the report text."""
    end: int
    confidence: float
    """Probability of the committed token, in [0, 1]."""
    step: int
    """Denoising step within its block at which it was committed (1 for one-step and autoregressive)."""


@dataclass
class StreamEvent:
    """One committed block of one study, streamed while the draft is being written."""

    study_index: int
    """Index of the study in the request (0 for a single study)."""
    block_index: int
    """Index of the committed block among generated blocks (token index in autoregressive mode)."""
    text: str
    """Cumulative report text so far; never ends inside a UTF-8 character."""
    tokens: list[TokenSpan]
    """Spans and confidences of all tokens so far."""
    finished: bool
    stop_reason: str | None
    forward_passes: int
    """Denoising and K/V-write passes spent on this study so far."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Timings:
    """Wall time of each stage of one draft, in milliseconds."""

    image: float = 0.0
    """Image preprocessing and the vision tower."""
    prefill: float = 0.0
    decode: float = 0.0
    total: float = 0.0


@dataclass
class Report:
    """A finished draft report and how it was made."""

    text: str
    findings: str
    impression: str
    language: str
    mode: str
    block_size: int
    fused_cache: bool
    generated_tokens: int
    """Tokens generated up to and including the stop token (prompt and padding never count)."""
    forward_passes: int
    """Denoising and K/V-write passes, excluding prefill and image encoding."""
    tokens_per_forward: float
    stop_reason: str
    """"eos", "length" (cut at the length cap) or "loop" (a repetition loop was cut)."""
    timings_ms: Timings
    model: dict
    """{"name": ..., "hash": ...} of the checkpoint."""
    tokens: list[TokenSpan] = field(default_factory=list)
    repeated_sentences_removed: int = 0
    """Sentences dropped because they repeated an earlier sentence word for word."""
    low_confidence_tokens: int = 0
    """Generated tokens whose confidence is below engine.pipeline.LOW_CONFIDENCE."""
    warnings: list[str] = field(default_factory=list)
    status: str = DRAFT_STATUS
    notice: str = ""

    @property
    def truncated(self) -> bool:
        return self.stop_reason != "eos"

    def to_dict(self, *, include_tokens: bool = False) -> dict:
        data = asdict(self)
        if not include_tokens:
            data.pop("tokens")
        return data


_SECTION_PATTERNS = {
    "en": re.compile(r"findings?\s*[:：]\s*(?P<findings>.*?)\s*(?:,\s*)?impressions?\s*[:：]\s*(?P<impression>.*)",
                     re.IGNORECASE | re.DOTALL),
    "zh": re.compile(r"所见\s*[:：]\s*(?P<findings>.*?)\s*结论\s*[:：]\s*(?P<impression>.*)", re.DOTALL),
}


def split_sections(text: str) -> tuple[str, str]:
    """Split a report into (findings, impression); without headers the whole text is the findings."""
    for pattern in _SECTION_PATTERNS.values():
        match = pattern.search(text)
        if match:
            return match.group("findings").strip(), match.group("impression").strip()
    stripped = re.sub(r"^\s*(findings?\s*[:：]|所见\s*[:：])\s*", "", text, flags=re.IGNORECASE)
    return stripped.strip(), ""
