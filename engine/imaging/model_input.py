"""Turn a rendered 8-bit radiograph into Qwen2.5-VL vision-tower input.

This follows the Qwen2.5-VL image processor: resize so both sides are multiples of
patch_size * merge_size within a pixel budget, rescale to [0, 1], normalise with the
CLIP mean and standard deviation, repeat the frame temporal_patch_size times and cut it
into flattened patches ordered so that each 2x2 merge group is contiguous.

Shapes: H, W image height and width in pixels; N = grid_h * grid_w patches;
C = 3 channels; D = C * temporal_patch_size * patch_size**2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VisionSpec:
    """Pixel layout and budget a checkpoint's vision tower expects."""

    patch_size: int = 14
    """Side of one ViT patch in pixels."""
    merge_size: int = 2
    """Side of the square of patches merged into one language-model token."""
    temporal_patch_size: int = 2
    """Frames per temporal patch; a still image is repeated to fill it."""
    min_pixels: int = 56 * 56
    """Lower bound on resized height * width."""
    max_pixels: int = 1500 * 1500
    """Upper bound on resized height * width (2.25 M gives about 2,870 tokens per image)."""
    image_mean: tuple[float, float, float] = field(default=CLIP_MEAN)
    image_std: tuple[float, float, float] = field(default=CLIP_STD)

    @property
    def factor(self) -> int:
        """Pixels per merged token side; resized sides are multiples of this."""
        return self.patch_size * self.merge_size

    def tokens_for(self, grid_thw: tuple[int, int, int]) -> int:
        """Return the number of language-model tokens an image with this patch grid becomes."""
        t, h, w = grid_thw
        return t * h * w // (self.merge_size**2)


def smart_resize(height: int, width: int, spec: VisionSpec) -> tuple[int, int]:
    """Return (height, width) rounded to multiples of spec.factor within the pixel budget."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"aspect ratio of {height}x{width} exceeds 200; crop the image to the chest before drafting"
        )
    factor = spec.factor
    new_h = max(factor, round(height / factor) * factor)
    new_w = max(factor, round(width / factor) * factor)
    if new_h * new_w > spec.max_pixels:
        beta = math.sqrt(height * width / spec.max_pixels)
        new_h = max(factor, math.floor(height / beta / factor) * factor)
        new_w = max(factor, math.floor(width / beta / factor) * factor)
    elif new_h * new_w < spec.min_pixels:
        beta = math.sqrt(spec.min_pixels / (height * width))
        new_h = math.ceil(height * beta / factor) * factor
        new_w = math.ceil(width * beta / factor) * factor
    return new_h, new_w


def to_model_input(image: np.ndarray | Image.Image, spec: VisionSpec) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Convert one rendered image to (pixel_values, grid_thw).

    Args:
        image: the 8-bit image the radiologist sees, greyscale (H, W) or RGB (H, W, 3).
        spec: the checkpoint's vision settings.

    Returns:
        pixel_values of shape (N, D) in float32, and grid_thw = (1, grid_h, grid_w).
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"model input expects an 8-bit rendered image, got dtype {image.dtype}")
        image = Image.fromarray(image)
    image = image.convert("RGB")
    new_h, new_w = smart_resize(image.height, image.width, spec)
    image = image.resize((new_w, new_h), resample=Image.Resampling.BICUBIC)

    pixels = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, C)
    pixels = (pixels - np.asarray(spec.image_mean, dtype=np.float32)) / np.asarray(spec.image_std, dtype=np.float32)
    pixels = pixels.transpose(2, 0, 1)  # (C, H, W)
    frames = np.repeat(pixels[None], spec.temporal_patch_size, axis=0)  # (T, C, H, W)

    channels = frames.shape[1]
    grid_h, grid_w = new_h // spec.patch_size, new_w // spec.patch_size
    merge, patch, tps = spec.merge_size, spec.patch_size, spec.temporal_patch_size
    patches = frames.reshape(1, tps, channels, grid_h // merge, merge, patch, grid_w // merge, merge, patch)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = patches.reshape(grid_h * grid_w, channels * tps * patch * patch)  # (N, D)
    return torch.from_numpy(np.ascontiguousarray(flat)), (1, grid_h, grid_w)
