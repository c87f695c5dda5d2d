"""Training sequences: the autoregressive layout, the RAD packed layout, noise, and batching.

RAD layout (response-asymmetric diffusion). For a context C of P tokens (vision and
instruction) and a response R padded with end tokens to a block boundary, one sample is

    [ C | R (clean) | noisy copy ]

where blocks of L tokens are aligned to column 0 of the unduplicated sequence [C | R], as at
inference. The first response block is the block that contains column P, and it starts
with the context tail C[floor(P/L)*L : P]. At inference that tail is recomputed in the same
pass as the first masks, attending to them bidirectionally. So the noisy copy starts with
its own copy of the tail and covers columns [floor(P/L)*L, P + |R|). The clean copy of the
tail attends to the clean first block, like the cached K/V after that block is committed,
and later blocks attend to it. Without its own tail copy the noisy first block would attend
to a tail that has attended to the clean response.

Every token has a column (its index in [C | R]), a block (column // L) and a stream (clean
or noisy). A query may attend to a key when:

- clean query, clean key: block(key) <= block(query)   (block-causal, context included)
- noisy query, clean key: block(key) <  block(query)   (context and earlier clean blocks)
- noisy query, noisy key: block(key) == block(query)   (its own block, bidirectionally)
- clean query, noisy key: never.

The noisy copy reuses the clean copy's M-RoPE position ids column for column. With
`full_duplication` the noisy copy covers every column (SDAR-style); the same rule then gives
the same response logits at a higher cost. Predictions are unshifted: the logit at a masked
noisy position predicts the clean token of the same column.

Shapes: T sequence length of one sample, B rows of a batch, S row length, N loss positions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

IGNORE = -100
CLEAN, NOISY = 0, 1

PositionFn = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
"""Maps token ids (T,) and the image grids (I, 3) to M-RoPE position ids (3, T)."""


@dataclass
class Segment:
    """One sample laid out as a training sequence."""

    input_ids: torch.Tensor
    """(T,) token ids; masked noisy positions hold the mask token."""
    positions: torch.Tensor
    """(3, T) M-RoPE position ids; a noisy token has the ids of its clean column."""
    columns: torch.Tensor
    """(T,) column of each token in the unduplicated sequence [C | R]."""
    streams: torch.Tensor
    """(T,) CLEAN or NOISY."""
    labels: torch.Tensor
    """(T,) target token id at each position with a loss, IGNORE elsewhere."""
    image_slots: torch.Tensor
    """(T,) row of this sample's image features that replaces the token's embedding, or -1."""
    pixel_values: torch.Tensor | None
    grid_thw: torch.Tensor | None
    causal: bool
    """True for the autoregressive layout (token-causal), False for the block layouts."""
    block_size: int = 1
    extras: dict[str, torch.Tensor] = field(default_factory=dict)
    """Per-loss-position tensors (first dimension = positions with a label, in order)."""

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[0])

    def attention_mask(self) -> torch.Tensor:
        """Return the (T, T) boolean mask, True where a query (row) may attend to a key (column)."""
        if self.causal:
            return self.columns[None, :] <= self.columns[:, None]
        return rad_attention_mask(self.columns, self.streams, self.block_size)


def rad_attention_mask(columns: torch.Tensor, streams: torch.Tensor, block_size: int) -> torch.Tensor:
    """Return the (T, T) RAD attention mask of one sample from its columns and streams (see module doc)."""
    blocks = columns // block_size
    query_block, key_block = blocks[:, None], blocks[None, :]  # (T, 1), (1, T)
    query_noisy, key_noisy = streams[:, None] == NOISY, streams[None, :] == NOISY
    clean_to_clean = ~query_noisy & ~key_noisy & (key_block <= query_block)
    noisy_to_clean = query_noisy & ~key_noisy & (key_block < query_block)
    noisy_to_noisy = query_noisy & key_noisy & (key_block == query_block)
    return clean_to_clean | noisy_to_clean | noisy_to_noisy  # (T, T)


def make_position_fn(hf_model, image_token_id: int) -> PositionFn:
    """Return a PositionFn that calls the model's own M-RoPE index computation."""

    def positions(input_ids: torch.Tensor, grid_thw: torch.Tensor | None) -> torch.Tensor:
        ids = input_ids[None]  # (1, T)
        rope, _ = hf_model.model.get_rope_index(ids, mm_token_type_ids=(ids == image_token_id).int(),
                                                image_grid_thw=grid_thw)
        return rope[:, 0].cpu()  # (3, T)

    return positions


def image_slots(input_ids: torch.Tensor, image_token_id: int) -> torch.Tensor:
    """Return (T,) the index of each image placeholder among the sample's placeholders, -1 elsewhere."""
    is_image = input_ids == image_token_id
    order = torch.cumsum(is_image.long(), dim=0) - 1
    return torch.where(is_image, order, torch.full_like(order, -1))


def pad_to_block(prompt_length: int, response: list[int], block_size: int, fill_id: int) -> list[int]:
    """Fill the response with `fill_id` (the end token) up to the next block boundary of [C | R]."""
    end = prompt_length + len(response)
    return response + [fill_id] * ((-end) % block_size)


def ar_segment(prompt_ids: list[int], response: list[int], *, pixel_values, grid_thw, position_fn: PositionFn,
               image_token_id: int) -> Segment:
    """Lay out [C | R] for next-token training: the logit at column c predicts token c + 1 of R."""
    ids = torch.tensor(prompt_ids + response, dtype=torch.long)  # (T,)
    length, prompt_length = ids.shape[0], len(prompt_ids)
    labels = torch.full((length,), IGNORE, dtype=torch.long)
    labels[prompt_length - 1:length - 1] = ids[prompt_length:]
    return Segment(
        input_ids=ids,
        positions=position_fn(ids, grid_thw),
        columns=torch.arange(length),
        streams=torch.full((length,), CLEAN, dtype=torch.long),
        labels=labels,
        image_slots=image_slots(ids, image_token_id),
        pixel_values=pixel_values,
        grid_thw=grid_thw,
        causal=True,
    )


def rad_segment(prompt_ids: list[int], clean_response: list[int], noisy_response: list[int], *, block_size: int,
                mask_id: int, pixel_values, grid_thw, position_fn: PositionFn, image_token_id: int,
                full_duplication: bool = False, extras: dict[str, torch.Tensor] | None = None) -> Segment:
    """Lay out [C | clean R | noisy copy] (see module doc).

    `clean_response` must end on a block boundary (see `pad_to_block`); `noisy_response` is the
    same tokens with some replaced by `mask_id`. Each masked position gets its clean token as
    label. `extras` contains per-label tensors in column order.
    """
    prompt_length = len(prompt_ids)
    if (prompt_length + len(clean_response)) % block_size:
        raise ValueError(
            f"prompt ({prompt_length}) plus response ({len(clean_response)}) tokens must end on a block "
            f"boundary of {block_size}; pad the response with pad_to_block"
        )
    if len(noisy_response) != len(clean_response):
        raise ValueError(f"noisy response has {len(noisy_response)} tokens, clean has {len(clean_response)}")
    clean = torch.tensor(prompt_ids + clean_response, dtype=torch.long)  # (P + R,)
    total = clean.shape[0]
    noisy_start = 0 if full_duplication else (prompt_length // block_size) * block_size
    noisy = torch.cat([clean[noisy_start:prompt_length], torch.tensor(noisy_response, dtype=torch.long)])

    clean_positions = position_fn(clean, grid_thw)  # (3, P + R)
    clean_slots = image_slots(clean, image_token_id)
    noisy_columns = torch.arange(noisy_start, total)
    labels = torch.full((total + noisy.shape[0],), IGNORE, dtype=torch.long)
    is_masked = torch.zeros(noisy.shape[0], dtype=torch.bool)
    is_masked[prompt_length - noisy_start:] = torch.tensor(noisy_response, dtype=torch.long) == mask_id
    labels[total:][is_masked] = clean[noisy_columns][is_masked]

    return Segment(
        input_ids=torch.cat([clean, noisy]),
        positions=torch.cat([clean_positions, clean_positions[:, noisy_start:]], dim=1),
        columns=torch.cat([torch.arange(total), noisy_columns]),
        streams=torch.cat([torch.full((total,), CLEAN), torch.full((noisy.shape[0],), NOISY)]).long(),
        labels=labels,
        image_slots=torch.cat([clean_slots, clean_slots[noisy_start:]]),
        pixel_values=pixel_values,
        grid_thw=grid_thw,
        causal=False,
        block_size=block_size,
        extras=extras or {},
    )


def sample_block_noise(prompt_length: int, response: list[int], *, block_size: int, mask_id: int,
                       generator: torch.Generator, mask_ratio: float | None = None) -> tuple[list[int], list[float]]:
    """Mask a block-padded response block by block.

    Each block (the part of it inside the response) draws t ~ U(0, 1], or uses `mask_ratio`,
    and masks k = ceil(t * n) of its n response positions chosen uniformly, so every block
    has at least one masked token.

    Returns:
        The noisy response, and for each masked position (in column order) its block's
        realised mask ratio k / n, the t of the ELBO weight 1/t.
    """
    noisy = list(response)
    ratios = []
    start_column = prompt_length
    end_column = prompt_length + len(response)
    block_start = (start_column // block_size) * block_size
    while block_start < end_column:
        first = max(block_start, start_column) - start_column
        last = min(block_start + block_size, end_column) - start_column
        count = last - first
        t = mask_ratio if mask_ratio is not None else 1.0 - float(torch.rand((), generator=generator))
        masked = max(1, math.ceil(t * count - 1e-9))
        chosen = (torch.randperm(count, generator=generator)[:masked] + first).sort().values.tolist()
        for index in chosen:
            noisy[index] = mask_id
        ratios.extend([masked / count] * masked)
        block_start += block_size
    return noisy, ratios


@dataclass
class Batch:
    """Segments padded (and optionally packed) into rows, with the flat indices of the loss positions."""

    input_ids: torch.Tensor
    """(B, S)"""
    image_slots: torch.Tensor
    """(B, S) row of the batch's concatenated image features, or -1."""
    positions: torch.Tensor
    """(3, B, S)"""
    attention_mask: torch.Tensor
    """(B, 1, S, S) boolean; block-diagonal over the samples of a row."""
    pixel_values: torch.Tensor | None
    grid_thw: torch.Tensor | None
    loss_index: torch.Tensor
    """(N,) flat index row * S + column of each loss position, in segment order."""
    labels: torch.Tensor
    """(N,)"""
    extras: dict[str, torch.Tensor]
    sample_of_loss: torch.Tensor
    """(N,) index of the segment each loss position belongs to."""
    num_tokens: int
    """Tokens in the batch, padding excluded."""
    num_samples: int
    totals: dict[str, float] = field(default_factory=dict)
    """Per-batch sums a stage needs for its normalisers (for example the response tokens)."""


def _pack_rows(lengths: list[int], capacity: int | None) -> list[list[int]]:
    """Group segment indices into rows in order: each row takes segments while they fit in `capacity`."""
    rows: list[list[int]] = []
    used = 0
    for index, length in enumerate(lengths):
        if rows and capacity is not None and used + length <= capacity:
            rows[-1].append(index)
            used += length
        else:
            rows.append([index])
            used = length
    return rows


def collate(segments: list[Segment], *, pad_id: int, pack_tokens: int | None = None) -> Batch:
    """Pad segments into rows (packing several per row when `pack_tokens` is set)."""
    rows = _pack_rows([segment.length for segment in segments], pack_tokens)
    width = max(sum(segments[i].length for i in row) for row in rows)
    batch = len(rows)
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
    slots = torch.full((batch, width), -1, dtype=torch.long)
    positions = torch.zeros((3, batch, width), dtype=torch.long)
    mask = torch.eye(width, dtype=torch.bool).repeat(batch, 1, 1)  # padding attends to itself only
    loss_index, labels, owners = [], [], []
    extras: dict[str, list[torch.Tensor]] = {}

    feature_offset = 0
    for row_index, row in enumerate(rows):
        offset = 0
        for segment_index in row:
            segment = segments[segment_index]
            span = slice(offset, offset + segment.length)
            input_ids[row_index, span] = segment.input_ids
            positions[:, row_index, span] = segment.positions
            has_image = segment.image_slots >= 0
            slots[row_index, span] = torch.where(has_image, segment.image_slots + feature_offset, segment.image_slots)
            if bool(has_image.any()):
                feature_offset += int(segment.image_slots.max()) + 1
            mask[row_index, span, span] = segment.attention_mask()
            with_loss = (segment.labels != IGNORE).nonzero().flatten()
            loss_index.append(row_index * width + offset + with_loss)
            labels.append(segment.labels[with_loss])
            owners.append(torch.full((with_loss.shape[0],), segment_index, dtype=torch.long))
            for key, value in segment.extras.items():
                extras.setdefault(key, []).append(value)
            offset += segment.length

    pixels = [s.pixel_values for s in segments if s.pixel_values is not None]
    grids = [s.grid_thw for s in segments if s.grid_thw is not None]
    return Batch(
        input_ids=input_ids,
        image_slots=slots,
        positions=positions,
        attention_mask=mask[:, None],
        pixel_values=torch.cat(pixels) if pixels else None,
        grid_thw=torch.cat(grids) if grids else None,
        loss_index=torch.cat(loss_index),
        labels=torch.cat(labels),
        extras={key: torch.cat(values) for key, values in extras.items()},
        sample_of_loss=torch.cat(owners),
        num_tokens=sum(segment.length for segment in segments),
        num_samples=len(segments),
    )
