"""Every stage under `accelerate launch` with two CPU processes: the loss falls and the ranks agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def write_config(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.slow
def test_two_process_launch_trains_each_stage(tmp_path, toy_data, tokenizer_folder, trained_rad):
    shared = {"train_data": str(toy_data), "batch_size": 4, "micro_batch_size": 1, "learning_rate": 3e-3,
              "warmup_ratio": 0.0, "lr_schedule": "constant", "cache_examples": True, "progress": False}
    configs = [
        ("cpt", write_config(tmp_path / "cpt.yaml", {**shared, "output_dir": str(tmp_path / "cpt"),
                                                      "init_size": "tiny", "tokenizer": str(tokenizer_folder),
                                                      "max_steps": 12})),
        ("rad", write_config(tmp_path / "rad.yaml", {**shared, "output_dir": str(tmp_path / "rad"),
                                                      "init_from": str(tmp_path / "cpt" / "checkpoint"),
                                                      "max_steps": 12})),
        # A teacher trained for 12 steps loops on every study, and looping trajectories are
        # dropped, so DCD distils the toy teacher trained by the fixture.
        ("dcd", write_config(tmp_path / "dcd.yaml", {**shared, "output_dir": str(tmp_path / "dcd"),
                                                      "teacher": str(trained_rad[0]), "max_steps": 12})),
    ]
    # One launch runs the three stages in order, so the two processes start only once.
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import sys\nfrom training.cli import run_training\n"
        "for stage, path in zip(sys.argv[1::2], sys.argv[2::2]):\n    run_training(stage, path, [])\n"
    )
    arguments = [item for stage, path in configs for item in (stage, str(path))]
    # NOTE: `--cpu --num_processes 2` starts a single process in accelerate 1.16.0 (its CPU
    # launcher needs mpirun for more). `--multi_gpu` runs torchrun, and ACCELERATE_USE_CPU=true
    # (what --cpu sets) makes the two processes one gloo group (DistributedType.MULTI_CPU).
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", "29517", str(driver), *arguments]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "ACCELERATE_USE_CPU": "true"}
    result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]

    for stage, _ in configs:
        summary = json.loads((tmp_path / stage / "summary.json").read_text())
        assert summary["num_processes"] == 2, stage
        assert len(set(summary["parameter_sha256"])) == 1, f"{stage}: ranks hold different weights"
        losses = [json.loads(line)["loss"] for line in (tmp_path / stage / "metrics.jsonl").read_text().splitlines()]
        assert len(losses) == 12
        assert sum(losses[-3:]) < sum(losses[:3]), f"{stage}: loss did not fall: {losses}"
