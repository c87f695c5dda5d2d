"""Site fine-tuning: the de-identified dataset, the registered candidate and explicit promotion."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from training_toy import _load_shared_conftest, toy_image

from training.config import FinetuneConfig
from training.finetune import run_finetune
from training.registry import ModelRegistry, RegressionError
from training.site_data import build_site_dataset, scrub_report_text


def write_site_folder(root, count: int = 5):
    for number in range(count):
        study = root / f"ACC{number:06d}"
        study.mkdir(parents=True)
        Image.fromarray(toy_image(number)).save(study / "frontal.png")
        report = {"findings": f"Compared with 03/04/2024, the lungs are clear. Dr. Smith reviewed study {number}.",
                  "impression": "No acute abnormality.", "indication": "MRN 12345678 cough"}
        (study / "report.json").write_text(json.dumps(report))
    return root


def test_scrub_removes_identifiers():
    text = scrub_report_text("Seen 2024-03-04 at 10:30 am by Dr. Jane Doe, MRN 1234567, mail a.b@x.org.")
    assert text == "Seen [date] at [time] by Dr. [name], MRN [number], mail [email]."


def test_site_dataset_from_folder_and_echo_json(tmp_path):
    site = write_site_folder(tmp_path / "site")
    train, heldout, report = build_site_dataset(site, tmp_path / "out", language="en", heldout_fraction=0.4, seed=0)
    rows = [json.loads(line) for path in (train, heldout) for line in path.read_text().splitlines()]
    assert (report["train"], report["heldout"]) == (3, 2)
    assert sorted(row["study_id"] for row in rows) == [f"site-{n:04d}" for n in range(1, 6)]
    assert all("Smith" not in row["findings"] and "03/04/2024" not in row["findings"] for row in rows)
    assert all("12345678" not in row["indication"] for row in rows)
    assert all(not row["images"][0].startswith("/") and "ACC" not in row["images"][0] for row in rows)

    samples = [{"sample_id": f"s{n}", "images": [f"site/ACC{n:06d}/frontal.png"],
                "ground_truth": {"findings": "Clear lungs.", "impression": "Normal."}} for n in range(3)]
    echo_file = tmp_path / "echo.json"
    echo_file.write_text(json.dumps(samples))
    _, _, echo_report = build_site_dataset(echo_file, tmp_path / "echo_out", language="en",
                                           heldout_fraction=0.3, seed=0)
    assert (echo_report["train"], echo_report["heldout"]) == (2, 1)


def test_finetune_registers_candidate_without_promotion(tmp_path):
    base = _load_shared_conftest().build_tiny_checkpoint(tmp_path / "base", block_size=4, seed=1)
    config = FinetuneConfig(output_dir=str(tmp_path / "run"), init_from=str(base), site_data=str(
        write_site_folder(tmp_path / "site")), registry=str(tmp_path / "registry"), max_steps=2, batch_size=2,
        learning_rate=1e-3, max_response_tokens=32, progress=False, candidate="site-a")
    info = run_finetune(config)

    registry = ModelRegistry(tmp_path / "registry")
    candidate = registry.get("site-a")
    assert candidate.info["status"] == "candidate"
    assert registry.production is None
    assert set(info["metrics"]) == {"base", "candidate"}
    assert info["metrics"]["candidate"]["studies"] == 1
    assert (candidate.checkpoint / "config.json").is_file()
    settings = json.loads((candidate.checkpoint / "config.json").read_text())["echo"]
    assert settings["kind"] == "block_diffusion"


def register(registry: ModelRegistry, tmp_path, name: str, base: float, candidate: float):
    checkpoint = tmp_path / f"{name}-checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    metrics = {"base": {"rouge_l": base}, "candidate": {"rouge_l": candidate}}
    return registry.register(name, checkpoint, {"metrics": metrics})


def test_promotion_refuses_regression_unless_accepted(tmp_path):
    registry = ModelRegistry(tmp_path / "registry")
    register(registry, tmp_path, "better", base=0.40, candidate=0.45)
    register(registry, tmp_path, "worse", base=0.40, candidate=0.30)

    registry.promote("better")
    assert registry.production == "better"
    with pytest.raises(RegressionError, match="accept-regression"):
        registry.promote("worse")
    assert registry.production == "better"

    registry.promote("worse", accept_regression=True)
    assert registry.production == "worse"
    assert registry.get("better").info["status"] == "retired"
    with pytest.raises(KeyError, match="registered: better, worse"):
        registry.get("missing")
