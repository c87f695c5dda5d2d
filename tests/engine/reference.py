"""Full-recompute reference decoders built on the stock transformers forward.

Each pass rebuilds the whole sequence (prompt, committed tokens, current block) and runs
Qwen2_5_VLForConditionalGeneration.forward with no cache and an explicit 4-D mask. The
engine's cached decoders must give exactly these tokens.
"""

from __future__ import annotations

import torch

from engine.decoding.stopping import find_loop, first_stop


def _full_logits(hf_model, ids: list[int], pixel_values, grid_thw, image_token_id: int, block_size: int | None):
    input_ids = torch.tensor([ids])
    length = len(ids)
    columns = torch.arange(length)
    if block_size is None:
        allowed = columns[None, :] <= columns[:, None]
    else:
        allowed = (columns[None, :] // block_size) <= (columns[:, None] // block_size)
    mask = torch.zeros(1, 1, length, length, dtype=hf_model.dtype)
    mask.masked_fill_(~allowed, torch.finfo(hf_model.dtype).min)
    token_type = (input_ids == image_token_id).int()
    positions, _ = hf_model.model.get_rope_index(input_ids, mm_token_type_ids=token_type, image_grid_thw=grid_thw)
    with torch.no_grad():
        output = hf_model(input_ids=input_ids, pixel_values=pixel_values, image_grid_thw=grid_thw,
                          attention_mask=mask, position_ids=positions, use_cache=False)
    logits = output.logits[0].float()
    return logits


def _stop(tokens, previous, settings, config):
    stop_ids = frozenset({settings.eos_token_id, settings.pad_token_id})
    stop = first_stop(tokens, stop_ids, previous)
    loop = find_loop(tokens, min_repeats=config.loop_min_repeats, max_period=config.loop_max_period,
                     search_from=previous + 1)
    if stop is not None and (loop is None or stop < loop):
        return tokens[:stop], "eos"
    if loop is not None:
        return tokens[:loop], "loop"
    if len(tokens) >= config.max_new_tokens:
        return tokens[:config.max_new_tokens], "length"
    return tokens, None


def _banned(settings):
    return [settings.mask_token_id, settings.image_token_id, settings.vision_start_token_id,
            settings.vision_end_token_id]


def reference_block_decode(model, prompt, config) -> tuple[list[int], str]:
    """Decode one prompt block by block, recomputing the whole sequence at every pass."""
    settings = model.settings
    size = config.block_size
    ids = list(prompt.input_ids)
    prompt_length = len(ids)
    block = prompt_length // size
    generated: list[int] = []
    while True:
        start, end = block * size, (block + 1) * size
        ids = ids + [settings.mask_token_id] * (end - len(ids))
        while True:
            masked = [i for i in range(start, end) if ids[i] == settings.mask_token_id]
            if not masked:
                break
            logits = _full_logits(model.hf, ids, prompt.pixel_values, prompt.grid_thw,
                                  settings.image_token_id, size)[start:end]
            logits[:, _banned(settings)] = float("-inf")
            probs = torch.softmax(logits, dim=-1)
            confidences, tokens = probs.max(dim=-1)
            if config.mode.value == "one-step":
                chosen = masked
            else:
                chosen = [i for i in masked if confidences[i - start] > config.confidence_threshold]
                if not chosen:
                    chosen = [max(masked, key=lambda i: float(confidences[i - start]))]
            for i in chosen:
                ids[i] = int(tokens[i - start])
        previous = len(generated)
        generated = ids[prompt_length:end]
        cut, reason = _stop(generated, previous, settings, config)
        if reason is not None:
            return cut, reason
        block += 1


def reference_ar_decode(model, prompt, config) -> tuple[list[int], str]:
    """Decode one prompt token by token with a full causal forward at every step."""
    settings = model.settings
    ids = list(prompt.input_ids)
    generated: list[int] = []
    while True:
        logits = _full_logits(model.hf, ids, prompt.pixel_values, prompt.grid_thw, settings.image_token_id, None)
        last = logits[-1]
        last[_banned(settings)] = float("-inf")
        token = int(last.argmax())
        ids.append(token)
        previous = len(generated)
        generated = generated + [token]
        cut, reason = _stop(generated, previous, settings, config)
        if reason is not None:
            return cut, reason
