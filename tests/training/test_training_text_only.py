"""Text-only study records (no images): read, built into prompts without a vision span, trained on."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from training_toy import TOY_SHARED, write_toy_corpus

from engine.tokenizer import IMAGE_PAD, VISION_START, ReportTokenizer
from training.config import CPTConfig, RADConfig
from training.data import ExampleBuilder, ReportRecord, proportional_sample, read_records
from training.model import build_random_model
from training.stages import CPTStage, run_stage

TEXT_ONLY = {"study_id": "text-1", "images": [], "findings": "The lungs are clear.",
             "impression": "No acute cardiopulmonary abnormality.", "language": "en", "source": "text"}


@pytest.fixture
def mixed_corpus(tmp_path):
    """A toy corpus of image studies plus one text-only study."""
    path = write_toy_corpus(tmp_path / "data")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(TEXT_ONLY) + "\n")
    return path


def test_read_records_accepts_empty_images(mixed_corpus):
    records = read_records(mixed_corpus)
    assert records[-1].study_id == "text-1"
    assert records[-1].images == []


def test_read_records_rejects_non_list_images(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**TEXT_ONLY, "images": "a.png"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be a list"):
        read_records(path)


def test_text_only_prompt_has_no_vision(mixed_corpus, tokenizer_folder):
    _, tokenizer, settings = build_random_model("tiny", str(tokenizer_folder), seed=0)
    builder = ExampleBuilder(tokenizer, settings, mixed_corpus.parent, 64)
    example = builder.build(read_records(mixed_corpus)[-1])
    assert example.prompt.pixel_values is None
    assert example.prompt.grid_thw is None
    tokenizer = ReportTokenizer.from_folder(tokenizer_folder)
    assert tokenizer.token_id(IMAGE_PAD) not in example.prompt.input_ids
    assert tokenizer.token_id(VISION_START) not in example.prompt.input_ids


@pytest.mark.parametrize("stage", ["cpt", "rad"])
def test_stage_trains_on_mixed_corpus(tmp_path, mixed_corpus, tokenizer_folder, stage):
    shared = {**TOY_SHARED, "batch_size": 5, "micro_batch_size": 5}
    common = {"output_dir": str(tmp_path / stage), "train_data": str(mixed_corpus), "init_size": "tiny",
              "tokenizer": str(tokenizer_folder), "max_steps": 2, **shared}
    config = CPTConfig(**common) if stage == "cpt" else RADConfig(block_size=4, **common)
    summary = run_stage(stage, config)
    assert summary["steps"] == 2
    assert summary["final_loss"] > 0


def test_image_repeats_oversample_image_studies(tmp_path, mixed_corpus, tokenizer_folder):
    hf_model, tokenizer, settings = build_random_model("tiny", str(tokenizer_folder), seed=0)
    records = read_records(mixed_corpus)
    with_images = [i for i, record in enumerate(records) if record.images]
    config = CPTConfig(output_dir=str(tmp_path / "cpt"), train_data=str(mixed_corpus), init_size="tiny",
                       tokenizer=str(tokenizer_folder), image_repeats=3)
    stage = CPTStage(config)

    count = stage.prepare(hf_model, tokenizer, settings, accelerator=None)

    assert count == len(records) + 2 * len(with_images)
    samples_per_study = Counter(stage.example(i).study_id for i in range(count))
    assert samples_per_study["text-1"] == 1
    assert {samples_per_study[records[i].study_id] for i in with_images} == {3}
    assert len(samples_per_study) == len(records)


def test_image_repeats_must_be_positive(tmp_path, tokenizer_folder):
    with pytest.raises(ValueError, match="image_repeats must be at least 1, got 0"):
        CPTConfig(output_dir=str(tmp_path), init_size="tiny", tokenizer=str(tokenizer_folder), image_repeats=0)


def _records(source: str, count: int, *, images: bool) -> list[ReportRecord]:
    return [ReportRecord.from_dict({"study_id": f"{source}-{i}", "images": ["a.png"] if images else [],
                                    "findings": "Clear.", "impression": "", "source": source})
            for i in range(count)]


def test_proportional_sample_weights_image_sources():
    records = _records("text", 60, images=False) + _records("image", 20, images=True)
    is_image = [bool(record.images) for record in records]

    plain = proportional_sample(records, 40, seed=0)
    weighted = proportional_sample(records, 40, seed=0, image_repeats=4)

    # Unweighted: 20 of 80 records have images, so a quarter of the draw. Weighted: 80 of 140.
    assert len(plain) == 40
    assert sum(is_image[i] for i in plain) == 10
    assert len(weighted) == 40
    assert sum(is_image[i] for i in weighted) == 20  # round(40 * 80 / 140) = 23, capped at the 20 records
    assert len(set(weighted)) == 40
