"""Decoders against a full-recompute reference, fused against unfused, batching, stopping and round trips."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from conftest import build_tiny_checkpoint, radiograph
from reference import reference_ar_decode, reference_block_decode

from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.config import DecodeConfig, DecodeMode
from engine.decoding.autoregressive import decode_autoregressive
from engine.decoding.block_diffusion import decode_blocks
from engine.pipeline import DraftRequest, ReportGenerator


def run_decoder(model, prompts, config):
    """Drain a decoder and return each row's final output, in input order."""
    decode = decode_autoregressive if config.mode is DecodeMode.AR else decode_blocks
    outputs = {}
    for updates in decode(model, prompts, config):
        for update in updates:
            outputs[update.row] = update.output
    return [outputs[row] for row in range(len(prompts))]


@pytest.fixture(scope="module")
def double_generator(tiny_folder):
    """The tiny checkpoint in float64, so exact-token comparisons never hinge on rounding."""
    generator = ReportGenerator.from_folder(tiny_folder)
    generator.model.hf.double()
    return generator


@pytest.mark.parametrize("block_size", [1, 4, 8])
@pytest.mark.parametrize("mode,fused", [("one-step", True), ("one-step", False), ("multi-step", False)])
def test_block_decoder_matches_reference(double_generator, mode, fused, block_size):
    generator = double_generator
    prompt = generator.prepare(DraftRequest([radiograph(1)], "en"))
    config = generator.decode_config(mode=mode, block_size=block_size, fused_cache=fused, max_new_tokens=24)
    output = run_decoder(generator.model, [prompt], config)[0]
    expected_tokens, expected_reason = reference_block_decode(generator.model, prompt, config)
    assert output.tokens == expected_tokens
    assert output.stop_reason == expected_reason


def test_ar_decoder_matches_reference(double_generator):
    generator = double_generator
    prompt = generator.prepare(DraftRequest([radiograph(2)], "zh"))
    config = generator.decode_config(mode="ar", max_new_tokens=24)
    output = run_decoder(generator.model, [prompt], config)[0]
    expected_tokens, expected_reason = reference_ar_decode(generator.model, prompt, config)
    assert output.tokens == expected_tokens
    assert output.stop_reason == expected_reason


@pytest.mark.parametrize("context", [None, "cough", "fever and cough for three days"])
def test_prompt_alignment_cases_match_reference(double_generator, context):
    """Prompts that end on a block boundary and mid-block both match the reference."""
    generator = double_generator
    prompt = generator.prepare(DraftRequest([radiograph(3)], "en", clinical_context=context))
    config = generator.decode_config(mode="one-step", block_size=4, max_new_tokens=16)
    output = run_decoder(generator.model, [prompt], config)[0]
    assert output.tokens == reference_block_decode(generator.model, prompt, config)[0]


def test_prompt_lengths_cover_boundary_and_partial_block(double_generator):
    generator = double_generator
    remainders = {
        len(generator.prepare(DraftRequest([radiograph(3)], "en", clinical_context=c)).input_ids) % 4
        for c in (None, "cough", "fever and cough for three days")
    }
    assert 0 in remainders
    assert remainders - {0}


def test_fused_equals_unfused_with_half_the_passes(tiny_generator):
    generator = tiny_generator
    prompt = generator.prepare(DraftRequest([radiograph(4)], "en"))
    base = generator.decode_config(mode="one-step", block_size=4, max_new_tokens=32, stop_at_eos=False)
    fused = run_decoder(generator.model, [prompt], base)[0]
    unfused = run_decoder(generator.model, [prompt], replace(base, fused_cache=False))[0]
    assert fused.tokens == unfused.tokens
    assert len(fused.tokens) == 32
    assert fused.decode_passes + fused.kv_write_passes == 8
    assert unfused.decode_passes + unfused.kv_write_passes == 16


def test_fused_cache_equals_clean_prefill(tiny_generator):
    """The K/V the fused passes keep equal a block-causal prefill of the committed sequence."""
    from engine.decoding.canvas import Canvas
    from engine.layout import BatchLayout

    generator = tiny_generator
    model = generator.model
    prompt = generator.prepare(DraftRequest([radiograph(5)], "en"))
    config = generator.decode_config(mode="one-step", block_size=4, max_new_tokens=20, stop_at_eos=False)

    captured = {}
    original = Canvas.finish_block

    def spy(self, end, block, **kwargs):
        captured["cache"] = [tuple(t.clone() for t in self.cache.layer_kv(i)) for i in range(model.num_layers)]
        captured["tokens"] = self.tokens.clone()
        captured["length"] = self.cache.length
        return original(self, end, block, **kwargs)

    Canvas.finish_block = spy
    try:
        run_decoder(model, [prompt], config)
    finally:
        Canvas.finish_block = original

    length = captured["length"]
    full = replace(prompt, input_ids=captured["tokens"][0, :length].tolist())
    layout = BatchLayout.for_blocks([length], 4)
    canvas = Canvas(model, [full], layout, max_new_tokens=4, block_size=4)
    canvas.prefill(length, mask="block", logits_start=None)
    assert length > len(prompt.input_ids) + 8
    for layer in range(model.num_layers):
        keys, values = canvas.cache.layer_kv(layer)
        torch.testing.assert_close(captured["cache"][layer][0], keys, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(captured["cache"][layer][1], values, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["one-step", "multi-step", "ar"])
def test_batch_matches_single_rows(double_generator, mode):
    generator = double_generator
    requests = [
        DraftRequest([radiograph(6)], "en"),
        DraftRequest([radiograph(7), radiograph(8, (72, 90))], "zh", clinical_context="fever"),
        DraftRequest([radiograph(9)], "en", clinical_context="shortness of breath for two weeks"),
    ]
    prompts = [generator.prepare(r) for r in requests]
    assert len({len(p.input_ids) % 4 for p in prompts}) > 1
    config = generator.decode_config(mode=mode, block_size=4, max_new_tokens=20)
    batched = run_decoder(generator.model, prompts, config)
    for prompt, output in zip(prompts, batched, strict=True):
        single = run_decoder(generator.model, [prompt], config)[0]
        assert output.tokens == single.tokens
        assert output.stop_reason == single.stop_reason


def test_eos_inside_block_stops_and_cuts(tmp_path):
    """Swap the end token's output row with a token the model emits mid-block; decoding stops there."""
    folder = build_tiny_checkpoint(tmp_path / "ckpt", block_size=4, seed=3)
    model, tokenizer = load_checkpoint(folder)
    generator = ReportGenerator(model, tokenizer)
    prompt = generator.prepare(DraftRequest([radiograph(10)], "en"))
    config = generator.decode_config(mode="one-step", block_size=4, max_new_tokens=32, stop_at_eos=False)
    free_run = run_decoder(model, [prompt], config)[0].tokens

    prompt_tail = len(prompt.input_ids) % 4
    cut = next(j for j, token in enumerate(free_run)
               if (j + prompt_tail) % 4 in (1, 2) and token not in free_run[:j])
    target = free_run[cut]
    eos = model.settings.eos_token_id
    with torch.no_grad():
        rows = model.lm_head.weight
        rows[[target, eos]] = rows[[eos, target]]

    output = run_decoder(model, [prompt], replace(config, stop_at_eos=True))[0]
    assert output.stop_reason == "eos"
    assert output.tokens == free_run[:cut]
    blocks_used = (cut + prompt_tail) // 4 + 1
    assert output.decode_passes == blocks_used


def test_length_cap_marks_report(tiny_generator):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=10, stop_at_eos=False)
    report = generator.generate([DraftRequest([radiograph(11)], "en")], config)[0]
    assert report.stop_reason == "length"
    assert report.generated_tokens == 10
    assert report.truncated
    assert "cut at the length limit of 10 tokens" in report.warnings[-1]


def test_checkpoint_round_trip_decodes_same(tmp_path, tiny_folder):
    model, tokenizer = load_checkpoint(tiny_folder)
    save_checkpoint(model.hf, tokenizer, model.settings, tmp_path / "copy")
    copy, copy_tokenizer = load_checkpoint(tmp_path / "copy")
    assert copy.settings == model.settings
    prompt = ReportGenerator(model, tokenizer).prepare(DraftRequest([radiograph(12)], "en"))
    config = DecodeConfig(mode=DecodeMode.ONE_STEP, block_size=4, max_new_tokens=16, stop_at_eos=False)
    assert run_decoder(copy, [prompt], config)[0].tokens == run_decoder(model, [prompt], config)[0].tokens
    for name, parameter in model.hf.state_dict().items():
        torch.testing.assert_close(copy.hf.state_dict()[name], parameter, atol=0, rtol=0)


def test_counters_per_draft(tiny_generator):
    generator = tiny_generator
    generator.model.counters.reset()
    config = generator.decode_config(mode="one-step", block_size=4, max_new_tokens=16, stop_at_eos=False)
    request = DraftRequest([radiograph(13), radiograph(14)], "en")
    tail = len(generator.prepare(request).input_ids) % 4
    report = generator.generate([request], config)[0]
    counters = generator.model.counters
    blocks = -(-(16 + tail) // 4)  # the first block also holds the prompt's last `tail` tokens
    assert tail > 0
    assert counters.image == 1
    assert counters.prefill == 1
    assert counters.decode == blocks
    assert counters.kv_write == 0
    assert report.forward_passes == blocks
    assert report.tokens_per_forward == round(16 / blocks, 4)


def test_autoregressive_checkpoint_rejects_diffusion_modes(tmp_path):
    folder = build_tiny_checkpoint(tmp_path / "ar", kind="autoregressive", block_size=1)
    generator = ReportGenerator.from_folder(folder)
    assert generator.decode_config().mode is DecodeMode.AR
    with pytest.raises(ValueError, match="autoregressive checkpoint and cannot be decoded with mode 'one-step'"):
        generator.decode_config(mode="one-step")


@pytest.mark.parametrize("mode", ["one-step", "multi-step", "ar"])
def test_batch_matches_single_rows_float32(tiny_generator, mode):
    """The float32 model users run is batch invariant too (padding keys are masked, never summed)."""
    generator = tiny_generator
    requests = [DraftRequest([radiograph(60 + k)], "en", clinical_context="cough " * k) for k in range(4)]
    prompts = [generator.prepare(r) for r in requests]
    config = generator.decode_config(mode=mode, block_size=4, max_new_tokens=24)
    batched = run_decoder(generator.model, prompts, config)
    for prompt, output in zip(prompts, batched, strict=True):
        assert output.tokens == run_decoder(generator.model, [prompt], config)[0].tokens


def test_load_rejects_other_model_type(tmp_path, tiny_folder):
    import json
    import shutil

    folder = tmp_path / "other"
    shutil.copytree(tiny_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "llava"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="other/config.json has model_type 'llava'; ECHO-CXR loads checkpoints"):
        load_checkpoint(folder)


def test_released_folder_name_gives_settings(tmp_path, tiny_folder):
    import json
    import shutil

    folder = tmp_path / "ECHO_Base_block8"
    shutil.copytree(tiny_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    del config["echo"]
    config["mask_token_id"] = 7
    (folder / "config.json").write_text(json.dumps(config))
    model, _ = load_checkpoint(folder)
    assert model.settings.mask_token_id == 7
    assert model.settings.vision.min_pixels == 256 * 28 * 28
    assert model.settings.kind.value == "block_diffusion"
    assert model.settings.block_size == 8
    assert model.settings.default_mode is DecodeMode.MULTI_STEP


def test_save_checkpoint_with_given_state_dict(tmp_path, tiny_folder):
    model, tokenizer = load_checkpoint(tiny_folder)
    state = {name: tensor.clone() for name, tensor in model.hf.state_dict().items()}
    state["model.language_model.norm.weight"] = torch.full_like(state["model.language_model.norm.weight"], 2.0)
    save_checkpoint(model.hf, tokenizer, model.settings, tmp_path / "given", state_dict=state)
    copy, _ = load_checkpoint(tmp_path / "given")
    assert torch.equal(copy.hf.model.language_model.norm.weight, state["model.language_model.norm.weight"])
