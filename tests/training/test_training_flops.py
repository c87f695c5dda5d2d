"""RAD FLOPs: the closed-form pair count against the mask, and the saving's growth with vision tokens."""

from __future__ import annotations

import pytest
import torch

from training.flops import allowed_pairs, flops_row, sequence_length
from training.sequences import pad_to_block, rad_segment


@pytest.mark.parametrize("context,response,block_size", [(7, 9, 4), (8, 8, 4), (13, 5, 8), (3, 3, 2)])
@pytest.mark.parametrize("full", [False, True])
def test_pair_count_equals_mask(context, response, block_size, full):
    padded = pad_to_block(context, list(range(response)), block_size, fill_id=0)
    segment = rad_segment(list(range(context)), padded, padded, block_size=block_size, mask_id=-5,
                          pixel_values=None, grid_thw=None,
                          position_fn=lambda ids, grid: torch.arange(ids.shape[0])[None].expand(3, -1),
                          image_token_id=-1, full_duplication=full)
    assert allowed_pairs(context, response, block_size, full_duplication=full) == int(segment.attention_mask().sum())
    assert sequence_length(context, response, block_size, full_duplication=full) == segment.length


def test_saving_grows_with_vision_tokens():
    savings = [row.saving(row.rad_dense, row.full_dense)
               for row in (flops_row(v, text_tokens=60, response=128, block_size=4) for v in (64, 1024, 2870, 4000))]
    assert savings == sorted(savings)
    assert 0.70 < savings[2] < 0.75
