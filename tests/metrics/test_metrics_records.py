"""Reading data files and predictions, and the errors for malformed ones."""

from __future__ import annotations

import json

import pytest

from engine.metrics.errors import EvaluationInputError
from engine.metrics.records import load_dataset, load_predictions


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_records(tmp_path):
    path = _write_jsonl(tmp_path / "data.jsonl", [
        {"study_id": 7, "images": ["a.png"], "findings": "Clear lungs.", "impression": "Normal.", "language": "en",
         "indication": "Cough."},
        {"study_id": "z", "images": [], "findings": "双肺清晰。", "impression": "", "language": "zh"},
    ])
    dataset = load_dataset(path)
    assert dataset.format == "jsonl"
    assert [study.id for study in dataset.studies] == ["7", "z"]
    assert dataset.studies[0].images == [tmp_path / "a.png"]
    assert dataset.studies[0].clinical_context == "Cough."
    assert dataset.studies[1].language == "zh"
    assert dataset.studies[0].source == "data.jsonl line 1"


def test_echo_json_uses_given_language(tmp_path):
    path = tmp_path / "eval.json"
    path.write_text(json.dumps([{"sample_id": "m1", "images": ["img/1.png"],
                                 "ground_truth": {"findings": "所见", "impression": "结论"}}]), encoding="utf-8")
    dataset = load_dataset(path, language="zh", image_root=tmp_path / "root")
    assert dataset.format == "echo-json"
    assert dataset.studies[0].language == "zh"
    assert dataset.studies[0].images == [tmp_path / "root" / "img" / "1.png"]
    assert dataset.studies[0].impression == "结论"


def test_r2gen_annotation(tmp_path):
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps({"train": [{"id": "t1", "report": "A.", "image_path": ["t1/0.png"]}],
                                "test": [{"id": "x1", "report": "B.", "image_path": ["x1/0.png"]},
                                         {"id": "x2", "report": "C.", "image_path": ["x2/0.png"],
                                          "indication": "Chest pain."}]}))
    dataset = load_dataset(path)
    assert dataset.format == "r2gen"
    assert [study.id for study in dataset.studies] == ["x1", "x2"]
    assert [study.clinical_context for study in dataset.studies] == [None, "Chest pain."]
    assert dataset.studies[0].images == [tmp_path / "images" / "x1" / "0.png"]
    assert [study.id for study in dataset.splits["train"]] == ["t1"]
    with pytest.raises(EvaluationInputError, match="English only"):
        load_dataset(path, language="zh")


@pytest.mark.parametrize(("content", "message"), [
    ('{"study_id": "a", "findings": "x"}\n{"study_id": "a", "findings": "y"}\n', "study id 'a' occurs 2 times"),
    ('{"findings": "x"}\n', "data.jsonl line 1: missing or invalid 'study_id' None"),
    ('{"study_id": "a"\n', "data.jsonl line 1: invalid JSON"),
    ('{"study_id": "a", "language": "fr"}\n', "unsupported language 'fr'"),
    ('{"study_id": "a", "findings": 3}\n', "'findings' must be a string"),
])
def test_jsonl_errors(tmp_path, content, message):
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    with pytest.raises(EvaluationInputError, match=message):
        load_dataset(path)


def test_missing_data_file(tmp_path):
    with pytest.raises(EvaluationInputError, match="data file .* not found"):
        load_dataset(tmp_path / "absent.jsonl")


def test_unrecognised_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"items": []}')
    with pytest.raises(EvaluationInputError, match="unrecognised format"):
        load_dataset(path)


def test_predictions_plain_and_batch_rows(tmp_path):
    path = _write_jsonl(tmp_path / "pred.jsonl", [
        {"id": "a", "draft": "Clear.", "mode": "ar", "stop_reason": "eos", "generated_tokens": 3},
        {"study_id": "b", "report": {"text": "Normal.", "mode": "one-step", "language": "zh", "forward_passes": 2}},
        {"study_id": "c", "error": "image not found"},
        {"id": "d", "draft": ""},
    ])
    predictions, failures = load_predictions(path)
    assert [(p.id, p.mode, p.draft) for p in predictions] == [("a", "ar", "Clear."), ("b", "one-step", "Normal."),
                                                              ("d", "predictions", "")]
    assert predictions[0].report == {"stop_reason": "eos", "generated_tokens": 3, "mode": "ar"}
    assert predictions[1].report == {"forward_passes": 2, "mode": "one-step"}
    assert predictions[1].language == "zh"
    assert failures == [("c", "image not found")]


@pytest.mark.parametrize(("rows", "message"), [
    ([{"id": "a", "draft": "x"}, {"id": "a", "draft": "y"}], "prediction 'a' for mode 'predictions' occurs twice"),
    ([{"id": "a"}], "prediction 'a' has no 'draft' text"),
])
def test_prediction_errors(tmp_path, rows, message):
    with pytest.raises(EvaluationInputError, match=message):
        load_predictions(_write_jsonl(tmp_path / "pred.jsonl", rows))
