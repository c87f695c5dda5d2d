"""Tokenisers, empty-draft detection and R2Gen cleaning."""

from __future__ import annotations

import pytest

from engine.metrics.lexical import rouge_l_pair
from engine.metrics.text import (
    CHINESE_CHARACTERS,
    ENGLISH_WORDS,
    chinese_jieba,
    clean_report_r2gen,
    is_empty_text,
    tokenizer_for,
)

CHINESE = "所见：心影大小正常。未见气胸或胸腔积液。"


def test_english_words_drop_punctuation():
    assert ENGLISH_WORDS("The heart, normal. X-ray") == ["the", "heart", "normal", "x", "ray"]


def test_chinese_characters_split():
    assert CHINESE_CHARACTERS("心影正常。CT 3cm") == ["心", "影", "正", "常", "ct", "3cm"]


def test_chinese_jieba_words():
    pytest.importorskip("jieba")
    assert chinese_jieba()(CHINESE) == ["所", "见", "心影", "大小", "正常", "未见", "气胸", "或", "胸腔", "积液"]
    assert "jieba 0.42.1" in chinese_jieba().name


@pytest.mark.parametrize("chinese", ["jieba", "characters"])
def test_identical_chinese_rouge_is_one(chinese):
    if chinese == "jieba":
        pytest.importorskip("jieba")
    tokenizer = tokenizer_for("zh", chinese)
    assert rouge_l_pair(tokenizer(CHINESE), tokenizer(CHINESE)) == 1.0


def test_rouge_score_default_tokenizer_fails_chinese():
    # Why rouge-score is not used: its default tokenizer keeps only ASCII letters and digits.
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    scores = rouge_scorer.RougeScorer(["rougeL"]).score(CHINESE, CHINESE)
    assert scores["rougeL"].fmeasure == 0.0


def test_tokenizer_for_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        tokenizer_for("fr")
    with pytest.raises(ValueError, match="unknown Chinese tokeniser 'words'"):
        tokenizer_for("zh", "words")


@pytest.mark.parametrize(("text", "expected"), [
    ("", True), (None, True), (" ", True), (".", True), ("。", True), ("...\n", True),
    ("a", False), ("心", False), ("3", False),
])
def test_is_empty_text(text, expected):
    assert is_empty_text(text) is expected


@pytest.mark.parametrize(("report", "expected"), [
    ("Heart size normal. No pleural effusion or pneumothorax.",
     "heart size normal . no pleural effusion or pneumothorax ."),
    ("1. Lungs are clear. 2. No effusion.", "lungs are clear . no effusion ."),
    ("The heart/mediastinum (normal).", "the heartmediastinum normal ."),
    ("No acute disease..", "no acute disease ."),
])
def test_clean_report_r2gen(report, expected):
    assert clean_report_r2gen(report) == expected
