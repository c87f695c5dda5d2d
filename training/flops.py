"""Training FLOPs of RAD (response-only duplication) against full duplication (SDAR-style).

Both layouts hold a clean copy of [C | R] (C = vision + text context, R = response padded
to a block boundary) and a noisy copy: RAD duplicates the response blocks (plus the
context tail sharing the first response block), full duplication duplicates every block.
Attention cost is counted two ways:

- masked: only the query-key pairs the RAD mask allows (a kernel that skips masked tiles);
- dense: every pair of the sequence (a kernel that computes all scores and then masks,
  such as scaled_dot_product_attention with an explicit mask).

Per layer and allowed pair, QK^T and AV cost 2 * D multiply-adds each per head, i.e.
4 * H * D FLOPs. Linear layers cost 2 FLOPs per weight per token. Forward FLOPs are
reported; a training step costs about 3 times that (backward is about twice the forward).

Run `python -m training.flops` to print the table for the 7B model.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

VISION_TOKENS = (64, 256, 512, 1024, 2048, 2870, 4000)


@dataclass(frozen=True)
class TransformerShape:
    """Dimensions of the language model that the FLOPs depend on."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    intermediate: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def linear_flops_per_token(self) -> int:
        """Forward FLOPs of the projections and MLP of all layers for one token (no LM head)."""
        kv = 2 * self.hidden * self.kv_heads * self.head_dim
        per_layer = 2 * self.hidden * self.hidden + kv + 3 * self.hidden * self.intermediate
        return 2 * per_layer * self.layers

    def attention_flops_per_pair(self) -> int:
        return 4 * self.heads * self.head_dim * self.layers


QWEN25_7B = TransformerShape(layers=28, hidden=3584, heads=28, kv_heads=4, intermediate=18944)
"""Qwen2.5-VL-7B / Lingshu-7B language model (config.json of the released weights)."""


def _block_counts(start: int, end: int, block_size: int) -> dict[int, int]:
    """Return {block index: tokens of columns [start, end) in that block}."""
    counts: dict[int, int] = {}
    column = start
    while column < end:
        block = column // block_size
        stop = min(end, (block + 1) * block_size)
        counts[block] = stop - column
        column = stop
    return counts


def allowed_pairs(context: int, response: int, block_size: int, *, full_duplication: bool) -> int:
    """Return the query-key pairs the RAD mask allows for one sample (response padded to a block)."""
    total = context + response
    total += (-total) % block_size
    clean = sum(count * min(total, (block + 1) * block_size)
                for block, count in _block_counts(0, total, block_size).items())
    noisy_start = 0 if full_duplication else (context // block_size) * block_size
    noisy = sum(count * (block * block_size + count)
                for block, count in _block_counts(noisy_start, total, block_size).items())
    return clean + noisy


def sequence_length(context: int, response: int, block_size: int, *, full_duplication: bool) -> int:
    total = context + response
    total += (-total) % block_size
    noisy_start = 0 if full_duplication else (context // block_size) * block_size
    return total + total - noisy_start


@dataclass(frozen=True)
class FlopsRow:
    """RAD and full-duplication forward FLOPs of one sample."""

    vision_tokens: int
    context: int
    response: int
    rad_tokens: int
    full_tokens: int
    rad_masked: float
    full_masked: float
    rad_dense: float
    full_dense: float
    rad_linear: float
    full_linear: float

    def saving(self, rad: float, full: float) -> float:
        return 1.0 - rad / full


def flops_row(vision_tokens: int, *, text_tokens: int, response: int, block_size: int,
              shape: TransformerShape = QWEN25_7B) -> FlopsRow:
    context = vision_tokens + text_tokens
    per_pair = shape.attention_flops_per_pair()
    rad_tokens = sequence_length(context, response, block_size, full_duplication=False)
    full_tokens = sequence_length(context, response, block_size, full_duplication=True)
    return FlopsRow(
        vision_tokens=vision_tokens,
        context=context,
        response=response,
        rad_tokens=rad_tokens,
        full_tokens=full_tokens,
        rad_masked=per_pair * allowed_pairs(context, response, block_size, full_duplication=False),
        full_masked=per_pair * allowed_pairs(context, response, block_size, full_duplication=True),
        rad_dense=per_pair * rad_tokens**2,
        full_dense=per_pair * full_tokens**2,
        rad_linear=shape.linear_flops_per_token() * rad_tokens,
        full_linear=shape.linear_flops_per_token() * full_tokens,
    )


def format_table(rows: list[FlopsRow]) -> str:
    header = ("| vision tokens | RAD / full tokens | attention saving (masked) | attention saving (dense) "
              "| total saving (masked attn.) | total saving (dense attn.) | speed-up, dense attn. |")
    lines = [header, "|" + "---|" * 7]
    for row in rows:
        masked = row.saving(row.rad_masked, row.full_masked)
        dense = row.saving(row.rad_dense, row.full_dense)
        total_masked = row.saving(row.rad_masked + row.rad_linear, row.full_masked + row.full_linear)
        total_dense = row.saving(row.rad_dense + row.rad_linear, row.full_dense + row.full_linear)
        lines.append(f"| {row.vision_tokens:,} | {row.rad_tokens:,} / {row.full_tokens:,} | {-masked:.1%} "
                     f"| {-dense:.1%} | {-total_masked:.1%} | {-total_dense:.1%} | {row.full_dense / row.rad_dense:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="RAD vs full-duplication training FLOPs for the 7B model.")
    parser.add_argument("--text-tokens", type=int, default=60,
                        help="context tokens besides vision: system line, instruction, chat markers (default 60)")
    parser.add_argument("--response-tokens", type=int, nargs="+", default=[128, 256],
                        help="report tokens including the end token (default: 128 and 256)")
    parser.add_argument("--block-size", type=int, default=4, help="diffusion block length L (default 4)")
    args = parser.parse_args(argv)
    for response in args.response_tokens:
        rows = [flops_row(v, text_tokens=args.text_tokens, response=response, block_size=args.block_size)
                for v in VISION_TOKENS]
        print(f"\nResponse {response} tokens, text context {args.text_tokens} tokens, block {args.block_size}, "
              f"Qwen2.5-7B language model (forward FLOPs; negative = RAD saves):")
        print(format_table(rows))


if __name__ == "__main__":
    main()
