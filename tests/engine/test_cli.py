"""The generate, batch and bench subcommands, run through app.cli.main on a tiny checkpoint."""

from __future__ import annotations

import io
import json

import pytest
from conftest import radiograph
from PIL import Image

from app.cli import main


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "frontal.png"
    Image.fromarray(radiograph(21, (96, 96))).save(path)
    return path


def test_generate_json_fields(tiny_folder, png, capsys):
    status = main(["generate", str(png), "--model", str(tiny_folder), "--mode", "one-step", "--json",
                   "--max-new-tokens", "12"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["mode"] == "one-step"
    assert report["block_size"] == 4
    assert report["fused_cache"] is True
    assert report["generated_tokens"] == 12
    assert report["stop_reason"] == "length"
    assert report["forward_passes"] == pytest.approx(12 / report["tokens_per_forward"], rel=1e-3)
    assert report["status"] == "draft"
    assert report["language"] == "en"
    assert set(report["timings_ms"]) == {"image", "prefill", "decode", "total"}
    assert report["timings_ms"]["total"] >= report["timings_ms"]["decode"]
    assert report["model"]["name"] == "tiny-block_diffusion"
    assert len(report["model"]["hash"]) == 16
    assert report["images"] == [{"source": "frontal.png", "view": "UNKNOWN"}]


def test_generate_unfused_uses_more_passes(tiny_folder, png, capsys):
    arguments = ["generate", str(png), "--model", str(tiny_folder), "--mode", "one-step", "--json",
                 "--max-new-tokens", "16"]
    main(arguments)
    fused = json.loads(capsys.readouterr().out)
    main(arguments + ["--no-fused-cache"])
    unfused = json.loads(capsys.readouterr().out)
    assert unfused["text"] == fused["text"]
    assert unfused["forward_passes"] == 2 * fused["forward_passes"]
    assert unfused["fused_cache"] is False


def test_generate_missing_file_exits_2(tiny_folder, tmp_path, capsys):
    status = main(["generate", str(tmp_path / "absent.png"), "--model", str(tiny_folder)])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("echo-cxr generate: error: absent.png:")
    assert error.count("\n") == 1


def test_generate_bad_model_folder_exits_2(png, tmp_path, capsys):
    status = main(["generate", str(png), "--model", str(tmp_path)])
    assert status == 2
    assert "no config.json in" in capsys.readouterr().err


def test_generate_zero_block_size_exits_2(tiny_folder, png, capsys):
    status = main(["generate", str(png), "--model", str(tiny_folder), "--block-size", "0"])
    assert status == 2
    assert "--block-size must be between 1 and 64, got 0" in capsys.readouterr().err


def test_batch_writes_and_resumes(tiny_folder, tmp_path, capsys):
    studies = tmp_path / "studies"
    studies.mkdir()
    for index in range(3):
        Image.fromarray(radiograph(30 + index, (96, 96))).save(studies / f"study{index}.png")
    (studies / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "drafts.jsonl"
    arguments = ["batch", str(studies), "--out", str(out), "--model", str(tiny_folder), "--batch-size", "2",
                 "--max-new-tokens", "8", "--mode", "one-step"]

    assert main(arguments) == 1
    assert "3 drafted, 1 failed" in capsys.readouterr().err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["study_id"] for r in records) == ["broken", "study0", "study1", "study2"]
    errors = [r for r in records if "error" in r]
    assert [r["study_id"] for r in errors] == ["broken"]
    assert all(r["report"]["generated_tokens"] == 8 for r in records if "report" in r)

    assert main(arguments) == 1
    rerun = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rerun) == 5
    assert [r["study_id"] for r in rerun[4:]] == ["broken"]


def test_batch_echo_json_input(tiny_folder, tmp_path):
    Image.fromarray(radiograph(40, (96, 96))).save(tmp_path / "a.png")
    Image.fromarray(radiograph(41, (96, 96))).save(tmp_path / "b.png")
    samples = [{"sample_id": "s1", "images": ["a.png", "b.png"],
                "ground_truth": {"findings": "Normal.", "impression": "Normal."}}]
    (tmp_path / "eval.json").write_text(json.dumps(samples))
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(tmp_path / "eval.json"), "--out", str(out), "--model", str(tiny_folder),
                 "--max-new-tokens", "8"]) == 0
    record = json.loads(out.read_text())
    assert record["study_id"] == "s1"
    assert record["images"] == ["a.png", "b.png"]


def test_bench_random_init_prints_ratios(capsys):
    status = main(["bench", "--random-init", "--studies", "1", "--repeats", "1", "--max-new-tokens", "16",
                   "--block-size", "8", "--json"])
    result = json.loads(capsys.readouterr().out)
    arms = {arm["name"]: arm for arm in result["arms"]}
    assert status == 0
    assert set(arms) == {"ar", "multi-step", "one-step-unfused", "one-step-fused"}
    assert arms["ar"]["speedup_vs_ar"] == 1.0
    assert arms["one-step-fused"]["forward_passes"] * 2 == arms["one-step-unfused"]["forward_passes"]
    assert arms["one-step-fused"]["generated_tokens"] == 16
    assert result["limit_vs_ar"] == pytest.approx(
        8 * result["cost_curve_ms"]["t1"] / result["cost_curve_ms"]["t2B"], rel=1e-2)
    assert result["machine"]["torch_threads"] == 2


def test_batch_under_accelerate_splits_studies(tiny_folder, tmp_path):
    """Two CPU processes draft disjoint studies and the main process merges their parts."""
    import os
    import subprocess
    import sys

    studies = tmp_path / "studies"
    studies.mkdir()
    for index in range(5):
        Image.fromarray(radiograph(70 + index, (96, 96))).save(studies / f"s{index}.png")
    out = tmp_path / "out.jsonl"
    # NOTE: accelerate 1.16.0 starts one process for `--cpu --num_processes 2`; `--multi_gpu` with
    # ACCELERATE_USE_CPU=true runs torchrun and joins the processes in one gloo group.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", "29541", "-m", "app.cli", "batch", str(studies), "--out", str(out),
               "--model", str(tiny_folder), "--max-new-tokens", "8", "--mode", "one-step"]
    result = subprocess.run(command, env={**os.environ, "ACCELERATE_USE_CPU": "true"}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "to draft over 2 process(es)" in result.stderr
    ids = [json.loads(line)["study_id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == ["s0", "s1", "s2", "s3", "s4"]
    assert not list(tmp_path.glob("out.jsonl.part*"))


def test_module_entry_maps_input_errors(tmp_path):
    """Run as `python -m app.cli` (as accelerate launches it), bad input still exits 2 without a traceback."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "app.cli", "generate", str(tmp_path / "absent.png")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("echo-cxr generate: error: absent.png:")


def test_batch_records_bad_aspect_ratio_and_continues(tiny_folder, tmp_path):
    import numpy as np

    studies = tmp_path / "studies"
    studies.mkdir()
    Image.fromarray(radiograph(80, (96, 96))).save(studies / "good.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 5), dtype=np.uint8)).save(studies / "thin.png")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(studies), "--out", str(out), "--model", str(tiny_folder), "--max-new-tokens", "4"]) == 1
    records = {r["study_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert "report" in records["good"]
    assert records["thin"]["code"] == "invalid_image"
    assert "aspect ratio of 3000x5 exceeds 200" in records["thin"]["error"]


def test_generate_block_size_upper_bound(tiny_folder, png, capsys):
    assert main(["generate", str(png), "--model", str(tiny_folder), "--block-size", "100000"]) == 2
    assert "--block-size must be between 1 and 64, got 100000" in capsys.readouterr().err


def test_batch_empty_folder_exits_2(tiny_folder, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status = main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out.jsonl"), "--model",
                   str(tiny_folder)])
    assert status == 2
    assert "names no study" in capsys.readouterr().err


def test_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "x.png", "--mode", "fast"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert error.count("\n") == 1
    assert error.startswith("echo-cxr generate: error: argument --mode: invalid choice: 'fast'")


def test_generate_overlong_context_exits_2(tiny_folder, png, capsys):
    status = main(["generate", str(png), "--model", str(tiny_folder), "--context", "cough " * 5000])
    error = capsys.readouterr().err
    assert status == 2
    assert "positions for the report; shorten the clinical context" in error


def test_printable_strips_terminal_controls():
    from app.commands.generate import printable

    assert printable("Findings:\x1b[2J clear.\r\nImpression:\tnormal.\x00") == "Findings:[2J clear.\nImpression:\tnormal."


def test_batch_folder_ignores_non_image_files(tmp_path):
    from app.batch import enumerate_studies

    (tmp_path / "labels.txt").write_text("not a study")
    Image.fromarray(radiograph(90, (96, 96))).save(tmp_path / "a.png")
    (tmp_path / "I0000001").write_bytes(b"")
    assert [study.study_id for study in enumerate_studies(tmp_path)] == ["I0000001", "a"]


@pytest.mark.parametrize("command", ["label", "normalize"])
def test_empty_stdin_names_the_command(command, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    assert main([command]) == 2
    assert f"pipe a report, e.g. `echo-cxr {command} < report.txt`" in capsys.readouterr().err
