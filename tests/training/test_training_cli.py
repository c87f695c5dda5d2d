"""`echo-cxr train` and `echo-cxr registry` through the CLI entry point."""

from __future__ import annotations

import json

from app.cli import main
from training.registry import ModelRegistry


def test_train_command_runs_stage(tmp_path, toy_data, tokenizer_folder, capsys):
    config = tmp_path / "cpt.yaml"
    config.write_text(f"output_dir: {tmp_path / 'cpt'}\ntrain_data: {toy_data}\ninit_size: tiny\n"
                      f"tokenizer: {tokenizer_folder}\nbatch_size: 2\nprogress: false\n")
    status = main(["train", "cpt", "--config", str(config), "max_steps=2", "learning_rate=1e-3"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stage"] == "autoregressive"
    assert summary["steps"] == 2
    assert (tmp_path / "cpt" / "checkpoint" / "tokenizer.json").is_file()
    lines = (tmp_path / "cpt" / "metrics.jsonl").read_text().splitlines()
    assert set(json.loads(lines[0])) >= {"step", "loss", "tokens_per_s", "lr"}


def test_train_command_rejects_unknown_field(tmp_path, capsys):
    status = main(["train", "rad", f"output_dir={tmp_path}", "init_from=x", "blocks=4"])
    assert status == 2
    assert "unknown RADConfig field(s) blocks" in capsys.readouterr().err


def test_registry_commands(tmp_path, capsys):
    registry = ModelRegistry(tmp_path / "registry")
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    registry.register("site-a", checkpoint, {"metrics": {"base": {"rouge_l": 0.5}, "candidate": {"rouge_l": 0.4}}})

    assert main(["registry", "list", str(tmp_path / "registry")]) == 0
    assert "site-a: candidate; base rouge_l 0.5000, candidate rouge_l 0.4000 (below its base model)" in (
        capsys.readouterr().out)
    assert main(["registry", "promote", str(tmp_path / "registry"), "site-a"]) == 2
    assert "--accept-regression" in capsys.readouterr().err
    assert main(["registry", "promote", str(tmp_path / "registry"), "site-a", "--accept-regression"]) == 0
    assert registry.production == "site-a"
