"""Qwen2.5-VL vision input built from rendered images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.imaging import VisionSpec
from engine.imaging.model_input import CLIP_MEAN, CLIP_STD, smart_resize, to_model_input


@pytest.mark.parametrize(
    ("size", "spec", "expected"),
    [
        ((1955, 1841), VisionSpec(), (1540, 1428)),  # over the 2.25 M pixel budget: scaled down
        ((1955, 1841), VisionSpec(max_pixels=448 * 448), (448, 420)),
        ((1024, 1024), VisionSpec(), (1036, 1036)),  # rounded to the nearest multiple of 28
        ((10, 10), VisionSpec(), (56, 56)),  # under min_pixels: scaled up
    ],
)
def test_smart_resize_sizes(size, spec, expected):
    assert smart_resize(*size, spec) == expected


def test_smart_resize_rejects_extreme_aspect():
    with pytest.raises(ValueError, match="aspect ratio of 10x2010 exceeds 200"):
        smart_resize(10, 2010, VisionSpec())


def test_smart_resize_rejects_empty():
    with pytest.raises(ValueError, match="image size must be positive, got 0x5"):
        smart_resize(0, 5, VisionSpec())


def test_model_input_rejects_16_bit():
    with pytest.raises(ValueError, match="expects an 8-bit rendered image, got dtype uint16"):
        to_model_input(np.zeros((56, 56), dtype=np.uint16), VisionSpec())


def test_merge_groups_are_contiguous():
    # A 56 x 56 image is one 2 x 2 merge group of 28-pixel blocks; give each 14-pixel patch its own value.
    image = np.zeros((56, 56), dtype=np.uint8)
    for row in range(4):
        for column in range(4):
            image[row * 14 : (row + 1) * 14, column * 14 : (column + 1) * 14] = 16 * (4 * row + column)
    pixel_values, grid = to_model_input(image, VisionSpec())
    assert grid == (1, 4, 4)
    assert tuple(pixel_values.shape) == (16, 3 * 2 * 14 * 14)
    # The first merge group contains patches (0,0), (0,1), (1,0), (1,1) in that order.
    first_red = pixel_values[:4, 0] * CLIP_STD[0] + CLIP_MEAN[0]
    expected = torch.tensor([0, 16, 64, 80], dtype=torch.float32) / 255.0
    assert torch.allclose(first_red, expected, atol=1e-6)
    assert VisionSpec().tokens_for(grid) == 4
