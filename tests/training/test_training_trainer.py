"""The training loop: resumption, data order, learning-rate schedule and config loading."""

from __future__ import annotations

import json

import pytest

from training.config import RADConfig, load_config
from training.stages import run_stage
from training.trainer import DataOrder, learning_rate_at


class Interrupted(Exception):
    pass


def rad_config(output_dir, toy_data, tokenizer_folder, **overrides) -> RADConfig:
    values = {
        "output_dir": str(output_dir), "train_data": str(toy_data), "init_size": "tiny",
        "tokenizer": str(tokenizer_folder), "max_steps": 6, "batch_size": 4, "micro_batch_size": 2,
        "learning_rate": 3e-3, "save_every": 3, "progress": False, "cache_examples": True,
    }
    values.update(overrides)
    return RADConfig(**values)


def test_resume_matches_uninterrupted(tmp_path, toy_data, tokenizer_folder):
    straight = run_stage("rad", rad_config(tmp_path / "straight", toy_data, tokenizer_folder))

    def interrupt(step: int) -> None:
        if step == 4:
            raise Interrupted

    config = rad_config(tmp_path / "resumed", toy_data, tokenizer_folder)
    with pytest.raises(Interrupted):
        run_stage("rad", config, on_step=interrupt)
    resumed = run_stage("rad", config)

    assert resumed["resumed_from"] == 3
    assert resumed["parameter_sha256"] == straight["parameter_sha256"]
    steps = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert (tmp_path / "resumed" / "checkpoint" / "config.json").is_file()


def test_checkpoint_kind_per_stage(tmp_path, toy_data, tokenizer_folder):
    from engine.checkpoint import load_checkpoint

    config = rad_config(tmp_path / "rad", toy_data, tokenizer_folder, max_steps=1, block_size=8)
    run_stage("rad", config)
    model, _ = load_checkpoint(tmp_path / "rad" / "checkpoint")
    assert model.settings.kind.value == "block_diffusion"
    assert model.settings.block_size == 8
    assert model.settings.name == "rad"


def test_data_order_covers_each_epoch():
    order = DataOrder(5, seed=1)
    stream = [index for step in range(5) for index in order.global_batch(step, 3)]
    assert sorted(stream[:5]) == list(range(5))
    assert sorted(stream[5:10]) == list(range(5))
    assert DataOrder(5, seed=1).global_batch(3, 3) == order.global_batch(3, 3)


def test_learning_rate_warmup_then_cosine(tmp_path):
    config = RADConfig(output_dir=str(tmp_path), init_from="x", max_steps=100, warmup_ratio=0.1,
                       learning_rate=1.0, lr_schedule="cosine")
    assert learning_rate_at(0, config) == pytest.approx(0.1)
    assert learning_rate_at(9, config) == pytest.approx(1.0)
    assert learning_rate_at(10, config) == pytest.approx(1.0)
    assert learning_rate_at(55, config) == pytest.approx(0.5)
    assert learning_rate_at(99, config) < 0.001


def test_config_yaml_and_overrides(tmp_path):
    path = tmp_path / "rad.yaml"
    path.write_text("output_dir: runs/rad\ninit_from: ckpt\nlearning_rate: 1e-5\nblock_size: 8\n")
    config = load_config("rad", path, ["max_steps=50", "full_duplication=true"])
    assert config.learning_rate == 1e-5
    assert config.block_size == 8
    assert config.max_steps == 50
    assert config.full_duplication is True
    with pytest.raises(ValueError, match="unknown RADConfig field.*blocksize"):
        load_config("rad", path, ["blocksize=4"])
    with pytest.raises(ValueError, match="batch_size"):
        load_config("rad", path, ["batch_size=6", "micro_batch_size=4"])
    with pytest.raises(ValueError, match="exactly one of init_from"):
        load_config("cpt", None, ["output_dir=x"])
