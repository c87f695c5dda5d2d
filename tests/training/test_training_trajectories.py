"""Teacher trajectories recorded through the engine's multi-step decoder."""

from __future__ import annotations

import torch
from training_toy import _load_shared_conftest, toy_image

from engine.checkpoint import load_checkpoint
from engine.config import DecodeConfig, DecodeMode
from engine.decoding.block_diffusion import decode_blocks
from engine.inputs import build_prompt_input
from engine.layout import BatchLayout
from training.data import StudyExample
from training.trajectories import TrajectoryRecorder, collect_trajectories

BLOCK = 4


def teacher(tmp_path):
    folder = _load_shared_conftest().build_tiny_checkpoint(tmp_path / "teacher", block_size=BLOCK, seed=2)
    return load_checkpoint(folder)


def reference_probs(model, prompt, ids: list[int]) -> torch.Tensor:
    """Return full-recompute probabilities (T, V) with the block-causal mask and banned ids removed."""
    settings = model.settings
    input_ids = torch.tensor([ids])
    columns = torch.arange(len(ids))
    allowed = (columns[None, :] // BLOCK) <= (columns[:, None] // BLOCK)
    mask = torch.zeros(1, 1, len(ids), len(ids)).masked_fill(~allowed, torch.finfo(torch.float32).min)
    positions, _ = model.hf.model.get_rope_index(
        input_ids, mm_token_type_ids=(input_ids == settings.image_token_id).int(), image_grid_thw=prompt.grid_thw)
    with torch.no_grad():
        logits = model.hf(input_ids=input_ids, pixel_values=prompt.pixel_values, image_grid_thw=prompt.grid_thw,
                          attention_mask=mask, position_ids=positions, use_cache=False).logits[0].float()
    banned = [settings.mask_token_id, settings.image_token_id, settings.vision_start_token_id,
              settings.vision_end_token_id]
    logits[:, banned] = float("-inf")
    return torch.softmax(logits, dim=-1)


def test_recorded_distribution_is_commit_time_distribution(tmp_path):
    model, tokenizer = teacher(tmp_path)
    settings = model.settings
    prompt = build_prompt_input([toy_image(3)], "en", tokenizer, settings)
    layout = BatchLayout.for_blocks([len(prompt.input_ids)], BLOCK)
    recorder = TrajectoryRecorder(layout, top_k=None)
    config = DecodeConfig(mode=DecodeMode.MULTI_STEP, block_size=BLOCK, max_new_tokens=12, stop_at_eos=False)
    for _ in decode_blocks(model, [prompt], config, observer=recorder):
        pass
    trajectory = recorder.trajectory(0, record_index=0, study_id="t", stop_reason="length")
    assert torch.equal(trajectory.tokens, trajectory.top_ids[:, 0].long())
    assert int(trajectory.steps.min()) == 1

    prompt_length = len(prompt.input_ids)
    recorded = torch.zeros(trajectory.tokens.shape[0], model.vocab_size)
    recorded.scatter_(1, trajectory.top_ids.long(), trajectory.top_probs)
    checked_later_steps = 0
    for index in range(trajectory.tokens.shape[0]):
        column = prompt_length + index
        block_start = max(prompt_length, (column // BLOCK) * BLOCK)
        block_end = (column // BLOCK + 1) * BLOCK
        step = int(trajectory.steps[index])
        canvas = list(prompt.input_ids) + trajectory.tokens[:block_start - prompt_length].tolist()
        for other in range(block_start, block_end):
            earlier = int(trajectory.steps[other - prompt_length]) < step
            canvas.append(int(trajectory.tokens[other - prompt_length]) if earlier else settings.mask_token_id)
        expected = reference_probs(model, prompt, canvas)[column]
        assert torch.allclose(recorded[index], expected, atol=1e-5), f"position {index}, step {step}"
        checked_later_steps += step > 1
    assert checked_later_steps > 0, "the example needs positions committed after step 1"


def test_collection_keeps_or_drops_every_study(tmp_path):
    model, tokenizer = teacher(tmp_path)
    examples = []
    for index in range(3):
        prompt = build_prompt_input([toy_image(index)], "en", tokenizer, model.settings)
        examples.append((index, StudyExample(f"s{index}", prompt, [model.settings.eos_token_id])))
    kept, report = collect_trajectories(model, examples, block_size=BLOCK, confidence_threshold=0.85,
                                        max_new_tokens=16, top_k=8, batch_size=2, drop_unfinished=False)
    assert report.kept + report.dropped_loop + report.dropped_length == 3
    assert len(kept) == report.kept
    for trajectory in kept:
        assert trajectory.top_ids.shape == (trajectory.tokens.shape[0], 8)
        assert (trajectory.prompt_length + trajectory.tokens.shape[0]) % BLOCK == 0
        assert trajectory.stop_reason in ("eos", "length")
    summary = report.summary()
    assert 0.0 <= summary["mean_remainder_mass"] <= summary["max_remainder_mass"] <= 1.0
