"""Stability of drafts: repetition, premature end-of-sequence, length-limit hits and empty drafts.

Each draft gets flags; the rates are the share of drafts with each flag.

- empty: the draft has no letter or digit ("" or "." count as empty).
- repetition: a sentence of at least MIN_REPEATED_SENTENCE_TOKENS tokens occurs twice, an
  n-gram of 1 to MAX_LOOP_NGRAM tokens repeats LOOP_REPEATS times in a row, or the engine
  reported one (stop_reason "loop", or a warning that repeated sentences were removed).
- premature EOS: a non-empty draft that stopped at end-of-sequence (or whose stop reason is
  unknown) with fewer tokens than the minimum (MIN_TOKENS: English words, Chinese characters).
- length limit: the stop reason is "length". Its rate is over the drafts whose stop reason is
  known, and None when no draft has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.metrics.text import CHINESE_CHARACTERS, ENGLISH_WORDS, is_empty_text

MIN_TOKENS = {"en": 8, "zh": 16}
MIN_REPEATED_SENTENCE_TOKENS = {"en": 3, "zh": 4}
MAX_LOOP_NGRAM = 8
LOOP_REPEATS = 3

_SENTENCE_END = re.compile(r"[.。!?！？;；\n]+")


@dataclass
class StabilityFlags:
    """Stability flags of one draft; `repetition` names what repeated, or is None."""

    empty: bool
    repetition: str | None
    premature_eos: bool
    hit_length_limit: bool | None
    """None when the stop reason is unknown."""
    tokens: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _tokens(text: str, language: str) -> list[str]:
    return (CHINESE_CHARACTERS if language == "zh" else ENGLISH_WORDS)(text)


def find_repetition(text: str, language: str) -> str | None:
    """Describe the first repeated sentence or n-gram loop in `text`, or return None."""
    seen: set[tuple[str, ...]] = set()
    for sentence in _SENTENCE_END.split(text):
        tokens = tuple(_tokens(sentence, language))
        if len(tokens) < MIN_REPEATED_SENTENCE_TOKENS.get(language, 3):
            continue
        if tokens in seen:
            return f"repeated sentence: {sentence.strip()!r}"
        seen.add(tokens)

    tokens = _tokens(text, language)
    for size in range(1, MAX_LOOP_NGRAM + 1):
        for start in range(len(tokens) - size * LOOP_REPEATS + 1):
            unit = tokens[start:start + size]
            if all(tokens[start + size * copy: start + size * (copy + 1)] == unit for copy in range(1, LOOP_REPEATS)):
                joiner = "" if language == "zh" else " "
                return f"{size}-gram loop: {joiner.join(unit)!r} x{LOOP_REPEATS}"
    return None


def stability_flags(text: str, language: str, stop_reason: str | None = None,
                    repeated_sentences_removed: int = 0, min_tokens: int | None = None) -> StabilityFlags:
    """Return the stability flags of one draft.

    `repeated_sentences_removed` is the engine Report field of that name: a draft whose
    repeats were already removed by the engine still counts as repetitive.
    """
    empty = is_empty_text(text)
    tokens = 0 if empty else len(_tokens(text, language))
    repetition = None
    if not empty:
        repetition = find_repetition(text, language)
    if repetition is None and stop_reason == "loop":
        repetition = "engine stopped at a repetition loop"
    if repetition is None and repeated_sentences_removed > 0:
        repetition = "engine removed repeated sentences"
    minimum = MIN_TOKENS.get(language, 8) if min_tokens is None else min_tokens
    premature = not empty and stop_reason in (None, "eos") and tokens < minimum
    hit_limit = None if stop_reason is None else stop_reason == "length"
    return StabilityFlags(empty, repetition, premature, hit_limit, tokens)


def _rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def stability_rates(flags: list[StabilityFlags]) -> dict:
    """Return the share of drafts with each flag and the counts behind it."""
    known = [flag.hit_length_limit for flag in flags if flag.hit_length_limit is not None]
    return {
        "drafts": len(flags),
        "empty_rate": _rate([flag.empty for flag in flags]),
        "repetition_rate": _rate([flag.repetition is not None for flag in flags]),
        "premature_eos_rate": _rate([flag.premature_eos for flag in flags]),
        "length_limit_rate": _rate(known),
        "stop_reason_known": len(known),
        "empty": sum(flag.empty for flag in flags),
        "repetition": sum(flag.repetition is not None for flag in flags),
        "premature_eos": sum(flag.premature_eos for flag in flags),
        "length_limit": sum(bool(value) for value in known),
    }
