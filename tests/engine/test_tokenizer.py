"""The bilingual tokenizer: lossless round trips and the build command."""

from __future__ import annotations

import json

from conftest import build_tiny_tokenizer

from app.cli import main
from engine.tokenizer import ReportTokenizer


def test_round_trip_keeps_chinese_punctuation_units_and_abbreviations():
    tokenizer = build_tiny_tokenizer()
    text = "所见：右肺上叶见 3.5 cm 结节（CT 随访）；左侧肋膈角变钝。结论：建议复查 CT。Impression: 2 cm nodule."
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_special_tokens_are_single_ids():
    tokenizer = build_tiny_tokenizer()
    ids = tokenizer.encode("<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|><|im_end|>")
    assert ids.count(tokenizer.token_id("<|image_pad|>")) == 2
    assert ids[0] == tokenizer.token_id("<|im_start|>")
    assert tokenizer.decode(ids) == "user\n"


def test_build_command_trains_from_corpus(tmp_path, capsys):
    records = [
        {"findings": "The lungs are clear. No pleural effusion.", "impression": "Normal chest.", "language": "en"},
        {"findings": "双肺清晰。未见胸腔积液。", "impression": "胸部未见异常。", "language": "zh"},
    ] * 20
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    status = main(["tokenizer", "build", str(corpus), "--out", str(tmp_path / "tok"), "--vocab-size", "320"])
    output = capsys.readouterr().out
    tokenizer = ReportTokenizer.from_folder(tmp_path / "tok")
    assert status == 0
    assert "English: 20 reports" in output
    assert "Chinese: 20 reports" in output
    assert tokenizer.vocab_size == 320
    assert tokenizer.decode(tokenizer.encode("所见：双肺清晰。")) == "所见：双肺清晰。"
    assert tokenizer.mask_token_id() == tokenizer.token_id("<|MASK|>")


def test_build_command_missing_corpus_exits_2(tmp_path, capsys):
    status = main(["tokenizer", "build", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "tok")])
    assert status == 2
    assert "corpus file not found" in capsys.readouterr().err
