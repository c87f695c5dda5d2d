"""Repetition, premature end-of-sequence, length-limit and empty-draft flags and rates."""

from __future__ import annotations

import pytest

from engine.metrics.stability import find_repetition, stability_flags, stability_rates

NORMAL = "The heart size is normal. The lungs are clear. No pleural effusion or pneumothorax."


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("The lungs are clear. The lungs are clear.", "en", "repeated sentence: 'The lungs are clear'"),
    ("There is no no no effusion", "en", "1-gram loop: 'no' x3"),
    ("heart is normal heart is normal heart is normal", "en", "3-gram loop: 'heart is normal' x3"),
    ("双肺清晰，双肺清晰，双肺清晰", "zh", "4-gram loop: '双肺清晰' x3"),
    ("心影正常。心影正常。", "zh", "repeated sentence: '心影正常'"),
    (NORMAL, "en", None),
    ("No. No.", "en", None),
])
def test_find_repetition(text, language, expected):
    assert find_repetition(text, language) == expected


def test_flags_empty_and_dot():
    for text in ("", "."):
        flags = stability_flags(text, "en", "eos")
        assert flags.empty is True
        assert flags.premature_eos is False
        assert flags.tokens == 0


def test_flags_premature_eos():
    flags = stability_flags("Normal chest.", "en", "eos")
    assert flags.premature_eos is True
    assert flags.tokens == 2
    assert stability_flags("Normal chest.", "en", "eos", min_tokens=2).premature_eos is False
    assert stability_flags(NORMAL, "en", "eos").premature_eos is False


def test_flags_length_limit_and_engine_loops():
    cut = stability_flags("The heart", "en", "length")
    assert cut.hit_length_limit is True
    assert cut.premature_eos is False
    assert stability_flags(NORMAL, "en", None).hit_length_limit is None
    assert stability_flags(NORMAL, "en", "loop").repetition == "engine stopped at a repetition loop"
    removed = stability_flags(NORMAL, "en", "eos", repeated_sentences_removed=2)
    assert removed.repetition == "engine removed repeated sentences"


def test_rates_known_values():
    flags = [
        stability_flags("", "en", "eos"),
        stability_flags("Normal.", "en", "eos"),
        stability_flags("The lungs are clear. The lungs are clear.", "en", "length"),
        stability_flags(NORMAL, "en", None),
    ]
    rates = stability_rates(flags)
    assert rates["drafts"] == 4
    assert rates["empty_rate"] == 0.25
    assert rates["premature_eos_rate"] == 0.25
    assert rates["repetition_rate"] == 0.25
    # Three drafts have a stop reason and one of them hit the length limit.
    assert rates["stop_reason_known"] == 3
    assert rates["length_limit_rate"] == pytest.approx(1 / 3)
