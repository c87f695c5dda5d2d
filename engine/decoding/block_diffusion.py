"""Block-diffusion decoding: multi-step with confidence remasking (ECHO-Base) and one step per block (ECHO).

Blocks of L tokens are aligned to absolute position 0. The prompt's whole blocks are
prefilled with the block-causal mask; the last partial prompt block is decoded together
with the first masks. Predictions are not shifted: the logit at a masked position
predicts that position.

- Multi-step: each denoising pass commits every masked position whose confidence exceeds
  the threshold, or else the single most confident one; a clean pass then writes the
  finished block's K/V.
- One-step, unfused: one denoising pass commits every position of the block, then a
  clean pass writes its K/V (2 passes per block).
- One-step, fused (Fused Block KV Cache): one pass over [committed block n-1 | masked
  block n] under the block-causal mask. The first half produces exactly the K/V a clean
  pass would (it cannot see block n), and is the only part kept in the cache; logits are
  computed for the second half only. One pass per block.

Shapes: B active rows, L block size, V vocabulary, K committed positions of a step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch

from engine.config import DecodeConfig, DecodeMode
from engine.decoding.canvas import BlockUpdate, Canvas
from engine.decoding.sampling import banned_token_ids, greedy
from engine.inputs import PromptInput
from engine.layout import BatchLayout
from engine.model import EchoModel


class CommitObserver(Protocol):
    """Receives each committed position's full distribution, for distillation trajectories."""

    def on_commit(self, rows: list[int], block: int, step: int, columns: list[int],
                  tokens: torch.Tensor, probs: torch.Tensor) -> None:
        """Called once per denoising step; probs has shape (K, V), one row per committed position.

        `columns` are canvas columns, which include each row's left padding.
        TODO: also pass prompt-relative positions, so observers need not rebuild BatchLayout.
        """


def decode_blocks(model: EchoModel, prompts: list[PromptInput], config: DecodeConfig, *,
                  observer: CommitObserver | None = None,
                  timings: dict[str, float] | None = None) -> Iterator[list[BlockUpdate]]:
    """Decode a batch block by block, yielding every row's update after each block.

    `timings`, when given, receives the image-encoding and prefill wall times in milliseconds.
    """
    if config.mode is DecodeMode.AR:
        raise ValueError("decode_blocks handles multi-step and one-step modes; use decode_autoregressive for ar")
    size = config.block_size
    banned = banned_token_ids(model.settings, model.device)
    fused = config.mode is DecodeMode.ONE_STEP and config.fused_cache

    # 1. Lay out the canvas: rows padded by whole blocks, masks after each prompt.
    layout = BatchLayout.for_blocks([len(p.input_ids) for p in prompts], size)
    canvas = Canvas(model, prompts, layout, max_new_tokens=config.max_new_tokens, block_size=size,
                    timings=timings)
    first = layout.first_block

    # 2. Prefill the prompt's whole blocks; the partial last block is decoded with the first masks.
    if first > 0:
        canvas.prefill(first * size, mask="block", logits_start=None)

    block = first
    while canvas.active:
        start, end = block * size, (block + 1) * size

        # 3. Fill the block: several confidence-remasking steps, or one step.
        if config.mode is DecodeMode.MULTI_STEP:
            _fill_multi_step(canvas, start, end, config.confidence_threshold, banned, block - first, observer)
        elif fused and block > first:
            logits = canvas.run(start - size, end, keep=size, logits_start=size, purpose="decode", mask="block")
            canvas.count_pass("decode")
            _commit_all(canvas, start, end, logits, banned)
        else:
            logits = canvas.run(start, end, keep=0, logits_start=0, purpose="decode", mask="decode")
            canvas.count_pass("decode")
            _commit_all(canvas, start, end, logits, banned)

        # 4. Write the finished block's K/V with a clean pass, unless the next fused pass will.
        if not fused:
            canvas.run(start, end, keep=size, logits_start=None, purpose="kv_write", mask="decode")
            canvas.count_pass("kv_write")

        # 5. Stop rows at a stop token, a loop or the length cap; stream the block.
        yield canvas.finish_block(end, block - first, stop_at_eos=config.stop_at_eos,
                                  loop_min_repeats=config.loop_min_repeats, loop_max_period=config.loop_max_period)
        block += 1


def _commit_all(canvas: Canvas, start: int, end: int, logits: torch.Tensor, banned: torch.Tensor) -> None:
    """Commit every masked position of the block from one pass's logits (B, L, V)."""
    tokens, confidences, _ = greedy(logits, banned)  # (B, L) each
    masked = canvas.tokens[:, start:end] == canvas.model.settings.mask_token_id  # (B, L)
    index, offset = masked.nonzero(as_tuple=True)
    canvas.commit(index, offset + start, tokens[index, offset], confidences[index, offset], step=1)


def _fill_multi_step(canvas: Canvas, start: int, end: int, threshold: float, banned: torch.Tensor,
                     block: int, observer: CommitObserver | None) -> None:
    """Denoise one block until no mask is left, committing confident positions at each step."""
    mask_id = canvas.model.settings.mask_token_id
    step = 0
    while True:
        masked = canvas.tokens[:, start:end] == mask_id  # (B, L)
        has_masks = masked.any(dim=1)  # (B,)
        if not bool(has_masks.any()):
            return
        step += 1

        logits = canvas.run(start, end, keep=0, logits_start=0, purpose="decode", mask="decode")
        for index in has_masks.nonzero().flatten().tolist():
            canvas.outputs[canvas.row_ids[index]].decode_passes += 1
        tokens, confidences, probs = greedy(logits, banned)  # (B, L), (B, L), (B, L, V)

        confidences = torch.where(masked, confidences, torch.full_like(confidences, -1.0))
        chosen = masked & (confidences > threshold)  # (B, L)
        fallback = has_masks & ~chosen.any(dim=1)
        best = confidences.argmax(dim=1)
        chosen[fallback.nonzero().flatten(), best[fallback]] = True
        index, offset = chosen.nonzero(as_tuple=True)
        canvas.commit(index, offset + start, tokens[index, offset], confidences[index, offset], step=step)

        if observer is not None:
            rows = [canvas.row_ids[i] for i in index.tolist()]
            observer.on_commit(rows, block, step, (offset + start).tolist(), tokens[index, offset],
                               probs[index, offset])
