"""Scoring one mode end to end, including empty, unpunctuated and identical Chinese drafts."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics.errors import EvaluationInputError
from engine.metrics.protocols import ECHO, LITERATURE, Protocol
from engine.metrics.runner import EvaluationOptions, Pair, evaluate_mode

REFERENCE_EN = "Findings: The heart size is normal. The lungs are clear. Impression: No acute abnormality."
REFERENCE_ZH = "所见：心影增大。左侧胸腔积液。 结论：心影增大，左侧胸腔积液。"


class CharacterEmbedder:
    """Bag of characters: identical texts have cosine 1."""

    name = "characters"

    def encode(self, texts):
        vectors = np.zeros((len(texts), 4096))
        for row, text in enumerate(texts):
            for character in text:
                vectors[row, ord(character) % 4096] += 1
        return vectors


def _options():
    embedder = CharacterEmbedder()
    return EvaluationOptions(embedder_for=lambda draft, reference: embedder)


def _pairs():
    return [
        Pair("empty", "one-step", "en", REFERENCE_EN, "", report={"stop_reason": "eos"}),
        Pair("dot", "one-step", "en", REFERENCE_EN, ".", report={"stop_reason": "eos"}),
        Pair("zh-same", "one-step", "zh", REFERENCE_ZH, REFERENCE_ZH),
        Pair("no-stop", "one-step", "en", REFERENCE_EN, "Findings: The heart size is normal Impression: Normal"),
        Pair("same", "one-step", "en", REFERENCE_EN, REFERENCE_EN, report={"stop_reason": "eos"}),
    ]


def test_robustness_batch():
    result, samples = evaluate_mode(_pairs(), Protocol(ECHO), _options())
    assert [sample["id"] for sample in samples] == ["empty", "dot", "zh-same", "no-stop", "same"]
    by_id = {sample["id"]: sample for sample in samples}

    for identifier in ("empty", "dot"):
        scores = by_id[identifier]["scores"]
        assert scores["rouge_l"] == 0.0
        assert scores["bleu_4"] == pytest.approx(0.0, abs=1e-9)
        assert scores["cider_d"] == 0.0
        assert scores["semscore"] == 0.0
        assert scores["finding_match_positive"] == 0.0
        assert by_id[identifier]["flags"]["empty"] is True
        assert by_id[identifier]["labels"]["draft"] == {}

    same = by_id["zh-same"]["scores"]
    assert same["rouge_l"] == 1.0
    assert same["semscore"] == pytest.approx(1.0)
    assert same["finding_match_positive"] == 1.0

    # Draft words: findings the heart size is normal impression normal (8). Reference words:
    # findings the heart size is normal the lungs are clear impression no acute abnormality (14).
    # LCS = 7 (the final "normal" has no match after "impression"), P = 7/8, R = 7/14,
    # F = 2.44 * 0.875 * 0.5 / (0.5 + 1.44 * 0.875) = 1.0675 / 1.76 = 0.60653...
    assert by_id["no-stop"]["scored_draft"] == "Findings: The heart size is normal Impression: Normal."
    assert by_id["no-stop"]["scores"]["rouge_l"] == pytest.approx(1.0675 / 1.76)
    assert by_id["same"]["scores"]["rouge_l"] == 1.0

    english = result["languages"]["en"]
    assert english["pairs"] == 4
    assert english["stability"]["empty_rate"] == 0.5
    assert english["rouge_l"]["tokenizer"].startswith("en-words")
    assert result["languages"]["zh"]["rouge_l"]["tokenizer"].startswith(("zh-jieba", "zh-characters"))
    assert result["languages"]["zh"]["cider_d"]["note"] == \
        "CIDEr-D is 0 for a single pair (document frequencies need a corpus)"
    assert result["mean_over_languages"]["rouge_l"] == pytest.approx(
        (english["rouge_l"]["value"] + 1.0) / 2)
    assert english["semscore"]["models"] == ["characters"]


def test_literature_protocol_skips_model_metrics():
    pairs = [Pair("a", "ar", "en", "The heart is normal.", "Findings: The heart is normal. Impression: Normal."),
             Pair("b", "ar", "en", "Small left effusion.", "")]
    result, samples = evaluate_mode(pairs, Protocol(LITERATURE), _options())
    assert samples[0]["scores"]["rouge_l"] == 1.0
    assert samples[1]["scores"]["rouge_l"] == 0.0
    assert "semscore" not in result["languages"]["en"]
    assert "mean_over_languages" not in result


def test_duplicate_id_raises():
    pairs = [Pair("a", "ar", "en", REFERENCE_EN, "x"), Pair("a", "ar", "en", REFERENCE_EN, "y")]
    with pytest.raises(EvaluationInputError, match="study id 'a' has 2 drafts in mode 'ar'"):
        evaluate_mode(pairs, Protocol(ECHO), _options())


def test_empty_reference_raises():
    with pytest.raises(EvaluationInputError, match="study 'a' has an empty reference"):
        evaluate_mode([Pair("a", "ar", "en", ".", "x")], Protocol(ECHO), _options())


def test_no_pairs_raises():
    with pytest.raises(EvaluationInputError, match="no pairs to score"):
        evaluate_mode([], Protocol(ECHO), _options())
