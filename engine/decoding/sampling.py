"""Greedy choice and confidence from logits, shared by every decoder."""

from __future__ import annotations

import torch


def greedy(logits: torch.Tensor, banned_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (tokens, confidences, probabilities) for logits of shape (..., V).

    Banned ids (the mask token and the vision placeholders) can never be chosen. The
    confidence is the softmax probability of the chosen token, computed in float32.
    """
    logits = logits.float().index_fill(-1, banned_ids, float("-inf"))
    probs = torch.softmax(logits, dim=-1)  # (..., V)
    confidences, tokens = probs.max(dim=-1)
    return tokens, confidences, probs


def banned_token_ids(settings, device: torch.device) -> torch.Tensor:
    """Return the ids a report may never contain: mask, image placeholder and vision markers."""
    ids = [settings.mask_token_id, settings.image_token_id, settings.vision_start_token_id,
           settings.vision_end_token_id]
    return torch.tensor(sorted(set(ids)), dtype=torch.long, device=device)
