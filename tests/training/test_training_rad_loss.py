"""The RAD loss on one packed sequence against block-by-block forward passes with explicit contexts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from training_toy import toy_image

from engine.inputs import build_prompt_input
from training.model import TrainingModel
from training.sequences import collate, make_position_fn, pad_to_block, rad_segment, sample_block_noise

BLOCK = 4


def study(tiny_model, context: str):
    hf_model, tokenizer, settings = tiny_model
    prompt = build_prompt_input([toy_image(1), toy_image(2)], "en", tokenizer, settings, clinical_context=context)
    response = tokenizer.encode("Findings: The lungs are clear.\nImpression: Normal.") + [settings.eos_token_id]
    response = pad_to_block(len(prompt.input_ids), response, BLOCK, settings.eos_token_id)
    return prompt, response


def packed_loss(tiny_model, prompt, response, noisy, *, full_duplication=False) -> torch.Tensor:
    hf_model, _, settings = tiny_model
    segment = rad_segment(prompt.input_ids, response, noisy, block_size=BLOCK, mask_id=settings.mask_token_id,
                          pixel_values=prompt.pixel_values, grid_thw=prompt.grid_thw,
                          position_fn=make_position_fn(hf_model, settings.image_token_id),
                          image_token_id=settings.image_token_id, full_duplication=full_duplication)
    batch = collate([segment], pad_id=settings.pad_token_id)
    with torch.no_grad():
        logits = TrainingModel(hf_model, freeze_vision=True).forward_batch(batch)
    return F.cross_entropy(logits, batch.labels)


def block_by_block_loss(tiny_model, prompt, response, noisy) -> torch.Tensor:
    """Run one stock transformers forward per response block: clean history, then that block noisy."""
    hf_model, _, settings = tiny_model
    prompt_length = len(prompt.input_ids)
    clean = prompt.input_ids + response
    total_loss, total_masked = 0.0, 0
    for block in range(prompt_length // BLOCK, len(clean) // BLOCK):
        start = block * BLOCK
        block_tokens = clean[start:prompt_length] + noisy[max(0, start - prompt_length):start + BLOCK - prompt_length]
        ids = torch.tensor([clean[:start] + block_tokens])  # (1, T)
        columns = torch.arange(ids.shape[1])
        allowed = (columns[None, :] // BLOCK) <= (columns[:, None] // BLOCK)
        mask = torch.zeros(1, 1, ids.shape[1], ids.shape[1]).masked_fill(~allowed, torch.finfo(torch.float32).min)
        positions, _ = hf_model.model.get_rope_index(ids, mm_token_type_ids=(ids == settings.image_token_id).int(),
                                                     image_grid_thw=prompt.grid_thw)
        with torch.no_grad():
            logits = hf_model(input_ids=ids, pixel_values=prompt.pixel_values, image_grid_thw=prompt.grid_thw,
                              attention_mask=mask, position_ids=positions, use_cache=False).logits[0]
        for column in range(max(start, prompt_length), start + BLOCK):
            if ids[0, column] == settings.mask_token_id:
                target = torch.tensor([clean[column]])
                total_loss += float(F.cross_entropy(logits[column][None].float(), target, reduction="sum"))
                total_masked += 1
    return torch.tensor(total_loss / total_masked)


def test_packed_loss_equals_block_by_block(tiny_model):
    _, _, settings = tiny_model
    prompt, response = study(tiny_model, "cough")
    assert len(prompt.input_ids) % BLOCK != 0, "the context must end inside a block"
    generator = torch.Generator().manual_seed(4)
    for _ in range(3):
        noisy, _ = sample_block_noise(len(prompt.input_ids), response, block_size=BLOCK,
                                      mask_id=settings.mask_token_id, generator=generator)
        packed = packed_loss(tiny_model, prompt, response, noisy)
        reference = block_by_block_loss(tiny_model, prompt, response, noisy)
        assert torch.allclose(packed, reference, rtol=1e-5, atol=1e-5), (packed, reference)


def test_full_duplication_gives_same_loss(tiny_model):
    _, _, settings = tiny_model
    prompt, response = study(tiny_model, "fever and cough")
    generator = torch.Generator().manual_seed(5)
    noisy, _ = sample_block_noise(len(prompt.input_ids), response, block_size=BLOCK,
                                  mask_id=settings.mask_token_id, generator=generator)
    asymmetric = packed_loss(tiny_model, prompt, response, noisy)
    duplicated = packed_loss(tiny_model, prompt, response, noisy, full_duplication=True)
    assert torch.allclose(asymmetric, duplicated, rtol=1e-5, atol=1e-6)
