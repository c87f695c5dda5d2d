"""Autoregressive decoding with the KV cache, for autoregressive checkpoints (ECHO-AR).

The prompt is prefilled with the token-causal mask; the logit at position t predicts
position t + 1. Rows of a batch are left-padded to the longest prompt.

Shapes: B active rows, W prompt columns, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from engine.config import DecodeConfig
from engine.decoding.canvas import BlockUpdate, Canvas
from engine.decoding.sampling import banned_token_ids, greedy
from engine.inputs import PromptInput
from engine.layout import BatchLayout
from engine.model import EchoModel


def decode_autoregressive(model: EchoModel, prompts: list[PromptInput], config: DecodeConfig, *,
                          timings: dict[str, float] | None = None) -> Iterator[list[BlockUpdate]]:
    """Decode a batch one token at a time, yielding every row's update after each token.

    `timings`, when given, receives the image-encoding and prefill wall times in milliseconds.
    """
    banned = banned_token_ids(model.settings, model.device)

    # 1. Lay out the canvas: rows left-padded to the longest prompt.
    layout = BatchLayout.for_causal([len(p.input_ids) for p in prompts])
    canvas = Canvas(model, prompts, layout, max_new_tokens=config.max_new_tokens, block_size=1, timings=timings)
    width = layout.prompt_columns

    # 2. Prefill the prompt causally; its last logit predicts the first report token.
    logits = canvas.prefill(width, mask="causal", logits_start=width - 1)

    column = width
    while True:
        # 3. Commit the most probable token of every active row.
        tokens, confidences, _ = greedy(logits[:, -1], banned)  # (B,) each
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        canvas.commit(rows, torch.full_like(rows, column), tokens, confidences, step=1)

        # 4. Stop rows at a stop token, a loop or the length cap; stream the token.
        yield canvas.finish_block(column + 1, column - width, stop_at_eos=config.stop_at_eos,
                                  loop_min_repeats=config.loop_min_repeats, loop_max_period=config.loop_max_period)
        if not canvas.active:
            return

        # 5. Feed the token back: one pass writes its K/V and predicts the next one.
        logits = canvas.run(column, column + 1, keep=1, logits_start=0, purpose="decode", mask="decode")
        canvas.count_pass("decode")
        column += 1
