"""RAD then DCD on the toy corpus: the engine's decoders write the memorised reports back."""

from __future__ import annotations

import json

import pytest
from training_toy import TOY_BLOCK, TOY_SHARED

from engine.checkpoint import load_checkpoint
from engine.config import DecodeConfig, DecodeMode
from engine.decoding.block_diffusion import decode_blocks
from training.config import DCDConfig
from training.data import ExampleBuilder, read_records
from training.stages import run_stage

BLOCK = TOY_BLOCK
MIN_ONE_STEP_AGREEMENT = 0.95


def decode(folder, data, mode: DecodeMode) -> tuple[list[list[int]], list[list[int]], list[str]]:
    """Return (decoded tokens, expected report tokens, stop reasons) of every toy study."""
    model, tokenizer = load_checkpoint(folder)
    builder = ExampleBuilder(tokenizer, model.settings, data.parent, 64)
    examples = [builder.build(record) for record in read_records(data)]
    config = DecodeConfig(mode=mode, block_size=BLOCK, max_new_tokens=64)
    outputs: dict[int, tuple[list[int], str]] = {}
    for updates in decode_blocks(model, [example.prompt for example in examples], config):
        for update in updates:
            if update.finished:
                outputs[update.row] = (list(update.output.tokens), update.output.stop_reason)
    decoded = [outputs[row][0] for row in range(len(examples))]
    expected = [example.response_ids[:-1] for example in examples]
    return decoded, expected, [outputs[row][1] for row in range(len(examples))]


def agreement(first: list[int], second: list[int]) -> float:
    """Fraction of positions, over the longer sequence, where both hold the same token."""
    length = max(len(first), len(second))
    return sum(a == b for a, b in zip(first, second, strict=False)) / length if length else 1.0


@pytest.mark.slow
def test_rad_then_dcd_decode_toy_corpus(tmp_path, toy_data, trained_rad):
    teacher, rad = trained_rad
    assert rad["final_loss"] < 0.2 * rad["first_loss"]

    multi, expected, reasons = decode(teacher, toy_data, DecodeMode.MULTI_STEP)
    assert reasons == ["eos"] * len(expected)
    assert multi == expected

    dcd = run_stage("dcd", DCDConfig(output_dir=str(tmp_path / "dcd"), teacher=str(teacher), train_data=str(toy_data),
                                     max_steps=60, top_k=32, **TOY_SHARED))
    assert dcd["stage"] == "one_step"
    manifest = json.loads((tmp_path / "dcd" / "trajectories" / "manifest.json").read_text())
    assert manifest["kept"] == len(expected)

    one_step, _, _ = decode(tmp_path / "dcd" / "checkpoint", toy_data, DecodeMode.ONE_STEP)
    matched = sum(agreement(a, b) * max(len(a), len(b)) for a, b in zip(one_step, multi, strict=True))
    total = sum(max(len(a), len(b)) for a, b in zip(one_step, multi, strict=True))
    assert matched / total >= MIN_ONE_STEP_AGREEMENT
