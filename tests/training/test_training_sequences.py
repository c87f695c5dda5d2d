"""RAD layout: the attention mask, shared position ids, noise and packing."""

from __future__ import annotations

import torch

from training.sequences import (
    CLEAN,
    IGNORE,
    NOISY,
    collate,
    pad_to_block,
    rad_segment,
    sample_block_noise,
)

MASK = 99


def text_positions(input_ids: torch.Tensor, grid_thw) -> torch.Tensor:
    return torch.arange(input_ids.shape[0])[None].expand(3, -1)


def layout(prompt, response, noisy, block_size, full_duplication=False):
    return rad_segment(prompt, response, noisy, block_size=block_size, mask_id=MASK, pixel_values=None,
                       grid_thw=None, position_fn=text_positions, image_token_id=-1,
                       full_duplication=full_duplication)


def parse_grid(rows: list[str]) -> torch.Tensor:
    return torch.tensor([[char == "1" for char in row] for row in rows])


def test_rad_mask_matches_hand_written_grid():
    # P = 3 context tokens, L = 2, response of 3 tokens: blocks {c0 c1} {c2 r0} {r1 e}.
    # The noisy copy starts at column 2 with its own copy of the context tail c2.
    segment = layout([10, 11, 12], [20, 21, 2], [MASK, MASK, 2], block_size=2)
    expected = parse_grid([
        # c0 c1 c2 r0 r1 e | c2' n0 n1 n2
        "1100000000",  # c0
        "1100000000",  # c1
        "1111000000",  # c2 attends to its block, including the clean first response token
        "1111000000",  # r0
        "1111110000",  # r1
        "1111110000",  # e
        "1100001100",  # c2' (noisy copy): earlier clean blocks and its own noisy block
        "1100001100",  # n0
        "1111000011",  # n1: clean blocks 0-1 and its own noisy block
        "1111000011",  # n2
    ])
    assert torch.equal(segment.attention_mask(), expected)
    assert segment.columns.tolist() == [0, 1, 2, 3, 4, 5, 2, 3, 4, 5]
    assert segment.streams.tolist() == [CLEAN] * 6 + [NOISY] * 4
    assert segment.labels.tolist() == [IGNORE] * 7 + [20, 21, IGNORE]


def rule(query: tuple[str, int], key: tuple[str, int], block_size: int) -> bool:
    """The RAD attention rule written per entry: (copy, column) of query and key."""
    query_copy, query_column = query
    key_copy, key_column = key
    query_block, key_block = query_column // block_size, key_column // block_size
    if query_copy == "clean":
        return key_copy == "clean" and key_block <= query_block
    if key_copy == "clean":
        return key_block < query_block
    return key_block == query_block


def test_rad_mask_matches_rule_unaligned_context():
    block_size, prompt_length = 4, 7
    prompt = list(range(100, 100 + prompt_length))
    response = pad_to_block(prompt_length, list(range(200, 208)), block_size, fill_id=2)
    assert (prompt_length + len(response)) % block_size == 0
    noisy = [MASK if i % 3 else token for i, token in enumerate(response)]
    for full in (False, True):
        segment = layout(prompt, response, noisy, block_size, full_duplication=full)
        total = prompt_length + len(response)
        start = 0 if full else (prompt_length // block_size) * block_size
        tokens = [("clean", c) for c in range(total)] + [("noisy", c) for c in range(start, total)]
        expected = torch.tensor([[rule(q, k, block_size) for k in tokens] for q in tokens])
        assert segment.length == len(tokens)
        assert torch.equal(segment.attention_mask(), expected)


def test_noisy_copy_reuses_clean_positions():
    prompt_length, block_size = 5, 4
    response = pad_to_block(prompt_length, [30, 31, 32, 33, 34], block_size, fill_id=2)
    segment = layout(list(range(prompt_length)), response, [MASK] * len(response), block_size)
    clean_count = prompt_length + len(response)
    for index in range(clean_count, segment.length):
        column = int(segment.columns[index])
        assert torch.equal(segment.positions[:, index], segment.positions[:, column])
        assert int(segment.input_ids[index]) == (MASK if column >= prompt_length else column)


def test_block_noise_masks_every_block():
    generator = torch.Generator().manual_seed(0)
    prompt_length, block_size = 6, 4
    response = pad_to_block(prompt_length, list(range(50, 63)), block_size, fill_id=2)
    for _ in range(50):
        noisy, ratios = sample_block_noise(prompt_length, response, block_size=block_size, mask_id=MASK,
                                           generator=generator)
        columns = range(prompt_length, prompt_length + len(response))
        blocks = {}
        for column, token in zip(columns, noisy, strict=True):
            blocks.setdefault(column // block_size, []).append(token == MASK)
        assert all(any(masked) for masked in blocks.values())
        assert len(ratios) == sum(token == MASK for token in noisy)
        assert all(0 < ratio <= 1 for ratio in ratios)
    full, ratios = sample_block_noise(prompt_length, response, block_size=block_size, mask_id=MASK,
                                      generator=generator, mask_ratio=1.0)
    assert full == [MASK] * len(response)
    assert ratios == [1.0] * len(response)


def test_collate_packs_block_diagonal():
    first = layout([1, 2, 3], [20, 21, 2], [MASK, 21, MASK], block_size=2)
    second = layout([4, 5], [30, 2], [MASK, MASK], block_size=2)
    packed = collate([first, second], pad_id=0, pack_tokens=first.length + second.length)
    assert packed.input_ids.shape == (1, first.length + second.length)
    mask = packed.attention_mask[0, 0]
    split = first.length
    assert torch.equal(mask[:split, :split], first.attention_mask())
    assert torch.equal(mask[split:, split:], second.attention_mask())
    assert not mask[:split, split:].any()
    assert not mask[split:, :split].any()
    assert packed.labels.tolist() == [20, 2, 30, 2]

    padded = collate([first, second], pad_id=0)
    assert padded.input_ids.shape == (2, first.length)
    pad_rows = padded.attention_mask[1, 0, second.length:]
    assert torch.equal(pad_rows[:, second.length:], torch.eye(first.length - second.length, dtype=torch.bool))
