"""`echo-cxr eval` end to end on a tiny random checkpoint, and its exit status for bad input."""

from __future__ import annotations

import json

import pytest
from conftest import radiograph
from PIL import Image

from app.cli import main

EN_FINDINGS = "The heart size is normal. The lungs are clear."


@pytest.fixture
def study_files(tmp_path):
    for index, name in enumerate(("en.png", "zh.png")):
        Image.fromarray(radiograph(50 + index, (96, 96))).save(tmp_path / name)
    rows = [
        {"study_id": "s-en", "images": ["en.png"], "findings": EN_FINDINGS, "impression": "Normal chest.",
         "language": "en"},
        {"study_id": "s-zh", "images": ["zh.png"], "findings": "心影大小正常。双肺清晰。", "impression": "心肺未见异常。",
         "language": "zh"},
        {"study_id": "s-missing", "images": ["absent.png"], "findings": "Clear lungs.", "impression": "",
         "language": "en"},
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return data


def test_eval_drafts_and_scores(tiny_folder, study_files, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["eval", "--data", str(study_files), "--model", str(tiny_folder), "--modes", "multi-step,one-step",
                   "--out", str(out), "--json"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["protocol"] == "echo"
    assert summary["model"]["name"] == "tiny-block_diffusion"
    assert list(summary["modes"]) == ["multi-step", "one-step"]

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(sample["mode"], sample["id"]) for sample in samples] == [
        ("multi-step", "s-en"), ("multi-step", "s-zh"), ("one-step", "s-en"), ("one-step", "s-zh")]
    assert samples[0]["reference"] == f"Findings: {EN_FINDINGS} Impression: Normal chest."
    assert samples[1]["reference"] == "所见：心影大小正常。双肺清晰。 结论：心肺未见异常。"

    for mode, result in summary["modes"].items():
        assert result["pairs"] == 2
        assert sorted(result["languages"]) == ["en", "zh"]
        assert result["skipped"]["count"] == 1
        assert result["skipped"]["first"][0][0] == "s-missing"
        mode_samples = [sample for sample in samples if sample["mode"] == mode]
        speed = result["speed"]
        assert speed["reports"] == 2
        assert speed["generated_tokens"] == sum(sample["report"]["generated_tokens"] for sample in mode_samples)
        assert speed["forward_passes"] == sum(sample["report"]["forward_passes"] for sample in mode_samples)
        assert speed["block_sizes"] == [4]
        for sample in mode_samples:
            assert 0.0 <= sample["scores"]["rouge_l"] <= 1.0
            assert "semscore_model" in sample["scores"]
    assert (out / "metrics.json").is_file()


def test_eval_scores_predictions_table(study_files, tmp_path, capsys):
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text(json.dumps({"id": "s-en", "mode": "one-step",
                                       "draft": f"Findings: {EN_FINDINGS} Impression: Normal chest."}) + "\n"
                           + json.dumps({"id": "s-zh", "mode": "one-step", "draft": ""}, ensure_ascii=False) + "\n")
    status = main(["eval", "--data", str(study_files), "--predictions", str(predictions), "--no-semscore",
                   "--chinese-tokens", "characters"])
    assert status == 0
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[1].startswith("ECHO protocol")
    assert lines[2].split() == ["mode", "lang", "n", "ROUGE-L", "CIDEr-D", "FindMatch+", "RaTE+", "SemScore",
                                "TPF", "TPS"]
    # The English draft equals its reference; the Chinese draft is empty.
    assert lines[4].split()[:5] == ["one-step", "en", "1", "100.00", "0.00"]
    assert lines[5].split()[:5] == ["one-step", "zh", "1", "0.00", "0.00"]
    assert lines[6].split()[:4] == ["one-step", "mean", "2", "50.00"]
    assert "zh-characters" in output
    assert "mode one-step: 1 studies skipped (first: s-missing: no prediction for this study)" in output


def test_eval_text_only_drafts_every_study_without_images(tiny_folder, study_files, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["eval", "--data", str(study_files), "--model", str(tiny_folder), "--modes", "one-step",
                   "--text-only", "--no-semscore", "--out", str(out), "--json"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    # The study whose image is missing is drafted too: no image is read.
    assert summary["modes"]["one-step"]["pairs"] == 3
    assert summary["modes"]["one-step"]["skipped"]["count"] == 0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [sample["id"] for sample in samples] == ["s-en", "s-zh", "s-missing"]
    for sample in samples:
        assert "drafted without images, from the clinical context alone (evaluation only)" in sample["report"]["warnings"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--text-only", "--floor-only"], "--text-only drafts with a model"),
    (["--modes", "fast"], "invalid --modes 'fast'"),
    (["--limit", "0"], "--limit must be a positive integer"),
    (["--ratescore-ner", "x"], "needs both --ratescore-ner and --ratescore-encoder"),
])
def test_eval_rejects_bad_options(study_files, capsys, extra, message):
    assert main(["eval", "--data", str(study_files), *extra]) == 2
    assert message in capsys.readouterr().err


def test_eval_rejects_missing_reference(tmp_path, capsys):
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"study_id": "s1", "findings": "", "impression": " "}) + "\n")
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text(json.dumps({"id": "s1", "draft": "Clear."}) + "\n")
    assert main(["eval", "--data", str(data), "--predictions", str(predictions)]) == 2
    assert "study 's1' (data.jsonl line 1) has no reference text" in capsys.readouterr().err


def test_eval_rejects_unknown_prediction_id(study_files, tmp_path, capsys):
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text(json.dumps({"id": "other", "draft": "Clear."}) + "\n")
    assert main(["eval", "--data", str(study_files), "--predictions", str(predictions)]) == 2
    assert "prediction id 'other' (1 in all) is not a study in" in capsys.readouterr().err


def test_eval_floor_only(tmp_path, capsys):
    annotation = tmp_path / "annotation_r2gen.json"
    train = ["The heart is normal. The lungs are clear.", "The heart is normal. The lungs are clear.",
             "Right pleural effusion."]
    annotation.write_text(json.dumps({
        "train": [{"id": f"t{index}", "report": text, "image_path": []} for index, text in enumerate(train)],
        "test": [{"id": "x1", "report": "The heart is normal. The lungs are clear.", "image_path": []}],
    }))
    assert main(["eval", "--data", str(annotation), "--floor-only", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    floor = summary["constant_report_floor"]
    assert floor["medoid_report"] == "the heart is normal . the lungs are clear ."
    assert floor["rouge_l"] == 1.0
    assert floor["bleu_4"] == pytest.approx(1.0)
    assert summary["modes"] == {}
    assert [row["method"] for row in summary["published"]] == ["R2Gen", "R2GenCMN"]
