"""ReportGenerator: studies in, draft reports or a stream of events out.

This is the engine's public entry point for the CLI, the workstation and batch jobs.
A study is given as its rendered 8-bit views, the images shown to the radiologist, frontal
first. `engine.imaging.load_study` produces them from files.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.config import DecodeConfig, DecodeMode
from engine.decoding.autoregressive import decode_autoregressive
from engine.decoding.block_diffusion import CommitObserver, decode_blocks
from engine.decoding.canvas import BlockUpdate
from engine.inputs import PromptInput, build_prompt_input
from engine.model import EchoModel
from engine.prompts import check_language
from engine.results import DRAFT_NOTICE, Report, StreamEvent, Timings, TokenSpan, split_sections
from engine.tokenizer import ReportTokenizer

logger = logging.getLogger(__name__)

MIN_REPORT_TOKENS = 128
"""Positions a prompt must leave free for the report."""
LOW_CONFIDENCE = 0.5
"""Token confidence (probability of the chosen token when it was committed) below which a token is uncertain."""
LOW_CONFIDENCE_SHARE = 0.02
LOW_CONFIDENCE_MIN_TOKENS = 5
"""A draft with more than LOW_CONFIDENCE_SHARE of its tokens uncertain, and at least this many,
gets a warning. On 150 held-out NIH images this flagged 14 of the bundled one-step model's 18
incoherent English drafts and no coherent one. NOTE: coherent Chinese drafts also carry up to 5
uncertain tokens, so this rule misses the defective Chinese drafts, which find_stutter catches.
A larger model may need other values."""
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "echo-cxr-small-block8"


@dataclass
class DraftRequest:
    """One study to draft."""

    images: Sequence[np.ndarray]
    """Rendered 8-bit views (H, W) or (H, W, 3), frontal first."""
    language: str = "en"
    clinical_context: str | None = None
    """Indication or history, added to the prompt as a radiologist would read it."""
    warnings: list[str] = field(default_factory=list)
    """Warnings from reading the images; they are copied into the report."""
    text_only: bool = False
    """Draft from the clinical context alone, with no images: the language prior the model learnt from
    text-only reports. For evaluation where a dataset's images are missing; never for a patient."""

    @classmethod
    def from_study(cls, study, language: str = "en", clinical_context: str | None = None) -> DraftRequest:
        """Build a request from an `engine.imaging.Study`."""
        return cls([image.display for image in study.images], language, clinical_context, list(study.warnings))


class _TextTracker:
    """Incremental detokenisation of one row: stable text plus each token's character span.

    Byte-level BPE decodes by concatenating token bytes, so the text of a token sequence
    is the text up to the last complete character plus the decode of the tokens after
    it. Only that short tail is decoded per new token, which keeps streaming linear in
    the report length.
    """

    def __init__(self, tokenizer: ReportTokenizer) -> None:
        self.tokenizer = tokenizer
        self.spans: list[TokenSpan] = []
        self.text = ""
        self._settled_text = ""
        self._settled_tokens = 0

    def update(self, tokens: list[int], confidences: list[float], steps: list[int]) -> str:
        if len(tokens) < len(self.spans):
            self._restart(tokens, confidences, steps)
        for index in range(len(self.spans), len(tokens)):
            tail = self.tokenizer.decode(tokens[self._settled_tokens:index + 1])
            stable_tail = tail.rstrip("\ufffd")
            text = self._settled_text + stable_tail
            start = len(self.text)
            self.spans.append(TokenSpan(start, max(start, len(text)), float(confidences[index]), int(steps[index])))
            self.text = text
            if stable_tail == tail:
                self._settled_text, self._settled_tokens = text, index + 1
        return self.text

    def _restart(self, tokens: list[int], confidences: list[float], steps: list[int]) -> None:
        self.spans, self.text, self._settled_text, self._settled_tokens = [], "", "", 0
        self.update(tokens, confidences, steps)


class ReportGenerator:
    """Draft reports with a loaded checkpoint."""

    def __init__(self, model: EchoModel, tokenizer: ReportTokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def from_folder(cls, folder: str | Path | None = None, *, device: str = "cpu") -> ReportGenerator:
        """Load a checkpoint folder, or the bundled model when folder is None."""
        from engine.checkpoint import load_checkpoint

        path = Path(folder) if folder is not None else BUNDLED_MODEL
        if folder is None and not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"the bundled model is missing from {path}; pass --model with a checkpoint folder, "
                "or restore assets/ from a clean clone of the repository"
            )
        model, tokenizer = load_checkpoint(path, device=device)
        return cls(model, tokenizer)

    def decode_config(self, *, mode: str | DecodeMode | None = None, block_size: int | None = None,
                      max_new_tokens: int | None = None, fused_cache: bool = True,
                      confidence_threshold: float | None = None, stop_at_eos: bool = True) -> DecodeConfig:
        """Return a DecodeConfig that defaults to what the checkpoint was trained for."""
        settings = self.model.settings
        mode = DecodeMode.parse(mode) if mode is not None else settings.default_mode
        if mode is not DecodeMode.AR and settings.kind.value == "autoregressive":
            raise ValueError(
                f"{settings.name} is an autoregressive checkpoint and cannot be decoded with mode {mode.value!r}; "
                "use --mode ar or a block-diffusion checkpoint"
            )
        size = block_size or settings.block_size
        if mode is DecodeMode.AR and settings.kind.value != "autoregressive":
            logger.warning("%s was trained for %s decoding; autoregressive decoding of it gives unreliable drafts",
                           settings.name, settings.kind.value)
        if mode is not DecodeMode.AR and size != settings.block_size:
            logger.warning("decoding with block size %d, but %s was trained with block size %d",
                           size, settings.name, settings.block_size)
        return DecodeConfig(
            mode=mode,
            block_size=size,
            max_new_tokens=max_new_tokens or settings.max_new_tokens,
            confidence_threshold=confidence_threshold or settings.confidence_threshold,
            fused_cache=fused_cache,
            stop_at_eos=stop_at_eos,
        )

    def prepare(self, request: DraftRequest) -> PromptInput:
        check_language(request.language)
        if request.text_only and request.images:
            raise ValueError(f"a text_only request takes no images, got {len(request.images)}; drop the images or "
                             "set text_only=False")
        if not request.images and not request.text_only:
            raise ValueError("a study needs at least one image; pass the frontal view (and the lateral if there is one)")
        prompt = build_prompt_input(list(request.images), request.language, self.tokenizer, self.model.settings,
                                    clinical_context=request.clinical_context)
        limit = self.model.hf.config.text_config.max_position_embeddings
        if len(prompt.input_ids) + MIN_REPORT_TOKENS > limit:
            raise ValueError(
                f"the prompt has {len(prompt.input_ids)} tokens, which leaves fewer than {MIN_REPORT_TOKENS} of the "
                f"model's {limit} positions for the report; shorten the clinical context or send fewer views"
            )
        return prompt

    def stream(self, requests: Sequence[DraftRequest], config: DecodeConfig, *,
               observer: CommitObserver | None = None) -> Iterator[StreamEvent | Report]:
        """Draft a batch, yielding a StreamEvent per committed block per study, then each study's Report.

        Reports are yielded as soon as their study finishes, so they can arrive out of order.
        A Report follows the final StreamEvent of its study, whose study_index identifies it.
        """
        started = time.perf_counter()
        prompts = [self.prepare(request) for request in requests]
        preprocessing_ms = sum(prompt.image_ms for prompt in prompts)
        timings: dict[str, float] = {}
        trackers = [_TextTracker(self.tokenizer) for _ in requests]
        if config.mode is DecodeMode.AR:
            updates = decode_autoregressive(self.model, prompts, config, timings=timings)
        else:
            updates = decode_blocks(self.model, prompts, config, observer=observer, timings=timings)

        for batch_updates in updates:
            for update in batch_updates:
                event = self._event(update, trackers[update.row])
                yield event
                if update.finished:
                    elapsed = (time.perf_counter() - started) * 1000
                    yield self._report(update, trackers[update.row], requests[update.row], config,
                                       timings, preprocessing_ms, elapsed)

    def generate(self, requests: Sequence[DraftRequest], config: DecodeConfig) -> list[Report]:
        """Draft a batch and return the reports in request order."""
        reports: list[Report | None] = [None] * len(requests)
        last_index = 0
        for item in self.stream(requests, config):
            if isinstance(item, StreamEvent):
                last_index = item.study_index
            else:
                reports[last_index] = item
        return [report for report in reports if report is not None]

    def _event(self, update: BlockUpdate, tracker: _TextTracker) -> StreamEvent:
        output = update.output
        text = tracker.update(output.tokens, output.confidences, output.steps)
        return StreamEvent(
            study_index=update.row,
            block_index=update.block,
            text=text,
            tokens=list(tracker.spans),
            finished=update.finished,
            stop_reason=output.stop_reason,
            forward_passes=output.decode_passes + output.kv_write_passes,
        )

    def _report(self, update: BlockUpdate, tracker: _TextTracker, request: DraftRequest, config: DecodeConfig,
                timings: dict[str, float], preprocessing_ms: float, elapsed_ms: float) -> Report:
        output = update.output
        generated = len(output.tokens) + (1 if output.stop_reason == "eos" else 0)
        passes = output.decode_passes + output.kv_write_passes
        text, spans, removed = remove_repeated_sentences(tracker.text, tracker.spans)
        uncertain = sum(1 for span in tracker.spans if span.confidence < LOW_CONFIDENCE)
        warnings = list(request.warnings)
        if request.text_only:
            warnings.append("drafted without images, from the clinical context alone (evaluation only)")
        if uncertain >= LOW_CONFIDENCE_MIN_TOKENS and uncertain > LOW_CONFIDENCE_SHARE * len(tracker.spans):
            warnings.append(f"{uncertain} of {len(tracker.spans)} tokens have a confidence below {LOW_CONFIDENCE}; "
                            "the draft may be incoherent, so read it against the image")
        stutter = find_stutter(text)
        if stutter is not None:
            warnings.append(f"the draft repeats {stutter!r} back to back; it may be incoherent, so read it "
                            "against the image")
        findings, impression = split_sections(text)
        if text.strip() and not impression.strip():
            warnings.append("the draft has no Impression section; write the impression before signing")
        if removed:
            warnings.append(f"{removed} repeated sentence(s) removed from the draft")
        if output.stop_reason == "length":
            warnings.append(f"draft cut at the length limit of {config.max_new_tokens} tokens")
        elif output.stop_reason == "loop":
            warnings.append("draft cut at a repetition loop")
        if not text.strip():
            warnings.append("the model produced an empty draft")
        if config.mode is DecodeMode.AR and self.model.settings.kind.value != "autoregressive":
            warnings.append(f"{self.model.name} was trained for {self.model.settings.kind.value.replace('_', ' ')} "
                            "decoding; autoregressive decoding of it gives unreliable drafts")
        image_ms = preprocessing_ms + timings.get("image", 0.0)
        prefill_ms = timings.get("prefill", 0.0)
        return Report(
            text=text,
            findings=findings,
            impression=impression,
            language=request.language,
            mode=config.mode.value,
            block_size=config.block_size if config.mode is not DecodeMode.AR else 1,
            fused_cache=config.fused_cache and config.mode is DecodeMode.ONE_STEP,
            generated_tokens=generated,
            forward_passes=passes,
            tokens_per_forward=round(generated / passes, 4) if passes else float(generated),
            stop_reason=output.stop_reason or "length",
            timings_ms=Timings(
                image=round(image_ms, 3),
                prefill=round(prefill_ms, 3),
                decode=round(max(0.0, elapsed_ms - image_ms - prefill_ms), 3),
                total=round(elapsed_ms, 3),
            ),
            model={"name": self.model.name, "hash": self.model.checkpoint_hash},
            tokens=spans,
            repeated_sentences_removed=removed,
            low_confidence_tokens=uncertain,
            warnings=warnings,
            notice=DRAFT_NOTICE[request.language],
        )


_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = re.compile(r"[^.。!?！？]+[.。!?！？]*\s*|[.。!?！？]+\s*")


_STUTTER = (
    re.compile(r"\b([A-Za-z]+)\s+\1\b", re.IGNORECASE),  # "is is"
    # "气腔阴影气腔阴影". Two-character repeats are left out, because 主动脉动脉粥样硬化 is a real term.
    re.compile(r"([\u4e00-\u9fff]{3,6})[：:，,。]?\1"),
    re.compile(r"([.,:;。，：；、])\s*\1"),  # "。。" or ". ."
)


def find_stutter(text: str) -> str | None:
    """Return the first word, Chinese phrase or punctuation mark that repeats back to back, or None.

    A report never needs "is is", "气腔阴影气腔阴影" or "，，", and one-step drafts that mix two
    templates produce them. NOTE: a deliberate repetition ("had had") is flagged too.
    """
    matches = [match for pattern in _STUTTER if (match := pattern.search(text))]
    if not matches:
        return None
    return min(matches, key=lambda match: match.start()).group(0)


def remove_repeated_sentences(text: str, spans: list[TokenSpan]) -> tuple[str, list[TokenSpan], int]:
    """Drop sentences that repeat an earlier sentence word for word; shift token spans to match.

    Returns the new text, the surviving token spans and the number of sentences removed.
    """
    seen: set[str] = set()
    kept_parts: list[str] = []
    removed_ranges: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text):
        key = " ".join(match.group().lower().split()).rstrip(".。!?！？ ")
        # Eight characters make a short English sentence; Chinese packs one into four.
        minimum = 4 if _CJK.search(key) else 8
        if len(key) >= minimum and key in seen:
            removed_ranges.append((match.start(), match.end()))
            continue
        seen.add(key)
        kept_parts.append(match.group())
    if not removed_ranges:
        return text, spans, 0
    new_spans = []
    for span in spans:
        inside = any(start <= span.start and span.end <= end for start, end in removed_ranges)
        if inside and span.end > span.start:
            continue
        shift = sum(end - start for start, end in removed_ranges if end <= span.start)
        new_spans.append(replace(span, start=span.start - shift, end=span.end - shift))
    return "".join(kept_parts), new_spans, len(removed_ranges)
