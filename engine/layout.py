"""Sequence layout: block alignment, padding of ragged batches and attention masks.

Blocks of L tokens are aligned to absolute position 0 of each row, prompt included.
A batch of rows with different prompt lengths P_r is left-padded by whole blocks, so
every row's first generation block (the one containing position P_r) falls on the same
column block. The padding columns are never attended to. Autoregressive batches are
left-padded to the longest prompt.

Masks are boolean, True where a query may attend to a key, shaped (B, 1, Tq, Tk) as
`torch.nn.functional.scaled_dot_product_attention` expects. Every query may always attend
to itself, so a padding query never has an empty row (which would give NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchLayout:
    """Placement of each row's prompt in the padded canvas."""

    block_size: int
    """L, tokens per block (1 for autoregressive layouts)."""
    prompt_lengths: tuple[int, ...]
    """P_r, prompt tokens of each row."""
    pads: tuple[int, ...]
    """Left padding columns of each row."""

    @classmethod
    def for_blocks(cls, prompt_lengths: list[int], block_size: int) -> BatchLayout:
        """Pad by whole blocks so every row's first generation block has the same column block index."""
        if min(prompt_lengths) < 1:
            raise ValueError(f"every prompt needs at least one token, got lengths {prompt_lengths}")
        first_blocks = [length // block_size for length in prompt_lengths]
        last = max(first_blocks)
        pads = tuple((last - first) * block_size for first in first_blocks)
        return cls(block_size, tuple(prompt_lengths), pads)

    @classmethod
    def for_causal(cls, prompt_lengths: list[int]) -> BatchLayout:
        """Left-pad every row to the longest prompt."""
        if min(prompt_lengths) < 1:
            raise ValueError(f"every prompt needs at least one token, got lengths {prompt_lengths}")
        longest = max(prompt_lengths)
        return cls(1, tuple(prompt_lengths), tuple(longest - length for length in prompt_lengths))

    @property
    def batch_size(self) -> int:
        return len(self.prompt_lengths)

    @property
    def prompt_columns(self) -> int:
        """Columns up to the end of the longest padded prompt."""
        return max(pad + length for pad, length in zip(self.pads, self.prompt_lengths, strict=True))

    @property
    def first_block(self) -> int:
        """Column block index of the first generation block (block layouts)."""
        return (self.pads[0] + self.prompt_lengths[0]) // self.block_size

    def prompt_end(self, row: int) -> int:
        """Column just after row `row`'s last prompt token."""
        return self.pads[row] + self.prompt_lengths[row]

    def key_valid(self, columns: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Return a (B, columns) boolean tensor, False on padding columns."""
        index = torch.arange(columns, device=device)
        pads = torch.tensor(self.pads, device=device)
        return index[None, :] >= pads[:, None]



def block_causal_mask(
    key_valid: torch.Tensor, query_start: int, query_len: int, block_size: int
) -> torch.Tensor:
    """Return the block-causal mask for queries at columns [query_start, query_start + query_len).

    A query in block b attends to every valid key in blocks <= b, in both directions
    inside its own block. Keys cover columns [0, query_start + query_len).

    Args:
        key_valid: (B, C) with C >= query_start + query_len, False on padding columns.

    Returns:
        (B, 1, query_len, query_start + query_len) boolean mask.
    """
    key_len = query_start + query_len
    query_cols = torch.arange(query_start, key_len, device=key_valid.device)
    key_cols = torch.arange(key_len, device=key_valid.device)
    allowed = (key_cols[None, :] // block_size) <= (query_cols[:, None] // block_size)  # (Tq, Tk)
    mask = allowed[None] & key_valid[:, None, :key_len]  # (B, Tq, Tk)
    mask |= query_cols[:, None] == key_cols[None, :]
    return mask[:, None]  # (B, 1, Tq, Tk)


def causal_mask(key_valid: torch.Tensor, query_start: int, query_len: int) -> torch.Tensor:
    """Return the token-causal mask, shaped like `block_causal_mask` with block size 1."""
    return block_causal_mask(key_valid, query_start, query_len, 1)


def decode_mask(key_valid: torch.Tensor, query_start: int, query_len: int) -> torch.Tensor | None:
    """Return the mask for a pass whose queries all sit in one block after the cache, or None without padding.

    Such a pass attends to every cached key and bidirectionally within itself, so the only
    keys to hide are padding columns.
    """
    key_len = query_start + query_len
    if bool(key_valid[:, :key_len].all()):
        return None
    query_cols = torch.arange(query_start, key_len, device=key_valid.device)
    key_cols = torch.arange(key_len, device=key_valid.device)
    mask = key_valid[:, None, :key_len] | (query_cols[:, None] == key_cols[None, :])  # (B, Tq, Tk)
    return mask[:, None]  # (B, 1, Tq, Tk)


def text_positions(offsets: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """Return M-RoPE position ids (3, B, length) for text columns [start, start + length).

    Args:
        offsets: (B,) per-row value added to the column index; it accounts for left padding
            and for the image's shorter M-RoPE span (rope delta).
    """
    columns = torch.arange(start, start + length, device=offsets.device)
    positions = columns[None, :] + offsets[:, None]  # (B, length)
    return positions[None].expand(3, -1, -1)
