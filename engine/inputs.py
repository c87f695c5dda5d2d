"""Model inputs for a batch of studies: prompt token ids, patch tensors and their grids."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.config import EchoSettings
from engine.imaging.model_input import to_model_input
from engine.prompts import build_prompt
from engine.tokenizer import ReportTokenizer


@dataclass
class PromptInput:
    """One study's prompt, ready for the model."""

    input_ids: list[int]
    pixel_values: torch.Tensor | None
    """(N_patches, D_patch) for all views of the study, or None for a text-only prompt."""
    grid_thw: torch.Tensor | None
    """(I, 3) patch grid of each view."""
    image_ms: float = 0.0
    """Milliseconds spent turning rendered images into patches."""


def build_prompt_input(images: list, language: str, tokenizer: ReportTokenizer, settings: EchoSettings,
                       *, clinical_context: str | None = None) -> PromptInput:
    """Return the prompt for rendered 8-bit images (numpy arrays or PIL images) of one study."""
    import time

    started = time.perf_counter()
    patches, grids, counts = [], [], []
    for image in images:
        pixel_values, grid = to_model_input(image, settings.vision)
        patches.append(pixel_values)
        grids.append(grid)
        counts.append(settings.vision.tokens_for(grid))
    image_ms = (time.perf_counter() - started) * 1000
    text = build_prompt(counts, language, clinical_context=clinical_context)
    input_ids = tokenizer.encode(text)
    if not patches:
        return PromptInput(input_ids, None, None, image_ms)
    return PromptInput(input_ids, torch.cat(patches), torch.tensor(grids, dtype=torch.long), image_ms)
