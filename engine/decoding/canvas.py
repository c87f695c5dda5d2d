"""The decoding canvas: a padded token grid, its positions, masks and cache, for a batch of prompts.

Every decoder fills the same canvas. Columns hold tokens (prompt, then mask tokens to be
decoded); rows are studies. Rows that finish are dropped from the canvas and the cache,
so later passes cost nothing for them.

Shapes: B active rows, C canvas columns, W prompt columns, E hidden size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from engine.decoding.stopping import find_loop, first_stop
from engine.inputs import PromptInput
from engine.layout import BatchLayout, block_causal_mask, causal_mask, decode_mask
from engine.model import EchoModel


@dataclass
class RowOutput:
    """The tokens one row has decoded so far, with their confidences and commit steps."""

    tokens: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    """Denoising step (1-based, within its block) at which each token was committed."""
    stop_reason: str | None = None
    """"eos", "length" or "loop" once finished."""
    decode_passes: int = 0
    kv_write_passes: int = 0


@dataclass
class BlockUpdate:
    """Tokens a row committed in one block (or one token, for autoregressive decoding)."""

    row: int
    """Index of the study in the input batch."""
    block: int
    """Index of the block among the row's generated blocks, from 0."""
    output: RowOutput
    """The row's output so far, already cut at a stop token, the length cap or a loop."""

    @property
    def finished(self) -> bool:
        return self.output.stop_reason is not None


class Canvas:
    """Token grid, positions, key validity and KV cache of the active rows."""

    def __init__(self, model: EchoModel, prompts: list[PromptInput], layout: BatchLayout, *,
                 max_new_tokens: int, block_size: int, timings: dict[str, float] | None = None) -> None:
        settings = model.settings
        self.timings = timings if timings is not None else {}
        self.model = model
        self.layout = layout
        self.block_size = block_size
        self.max_new_tokens = max_new_tokens
        self.stop_ids = frozenset({settings.eos_token_id, settings.pad_token_id})
        self.row_ids = list(range(len(prompts)))
        self.outputs = [RowOutput() for _ in prompts]

        width = layout.prompt_columns
        columns = width + max_new_tokens + 2 * block_size
        columns += (-columns) % block_size
        batch = len(prompts)
        device = model.device

        # 1. Tokens: left padding, prompt, then mask tokens everywhere after each prompt.
        tokens = torch.full((batch, columns), settings.mask_token_id, dtype=torch.long)
        attention = torch.zeros(batch, width, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            pad = layout.pads[row]
            tokens[row, :pad] = settings.pad_token_id
            tokens[row, pad:pad + len(prompt.input_ids)] = torch.tensor(prompt.input_ids)
            attention[row, pad:pad + len(prompt.input_ids)] = 1
        self.tokens = tokens.to(device)  # (B, C)
        self.prompt_ends = torch.tensor([layout.prompt_end(r) for r in range(batch)], device=device)  # (B,)

        # 2. Prompt embeddings with image features in place, and M-RoPE positions.
        prompt_ids = tokens[:, :width]
        grids = [p.grid_thw for p in prompts if p.grid_thw is not None]
        grid_thw = torch.cat(grids) if grids else None
        image_features = None
        if grids:
            started = time.perf_counter()
            pixel_values = torch.cat([p.pixel_values for p in prompts if p.pixel_values is not None])
            image_features = model.encode_images(pixel_values, grid_thw)
            self.timings["image"] = self.timings.get("image", 0.0) + (time.perf_counter() - started) * 1000
        self.prompt_embeds = model.embed(prompt_ids, image_features)  # (B, W, E)
        prompt_positions, deltas = model.prompt_positions(prompt_ids, grid_thw, attention)
        offsets = deltas - torch.tensor(layout.pads, device=device)  # (B,)
        positions = torch.arange(columns, device=device)[None, :] + offsets[:, None]  # (B, C)
        positions = positions[None].repeat(3, 1, 1)  # (3, B, C)
        in_prompt = attention.bool().to(device)
        positions[:, :, :width] = torch.where(in_prompt[None], prompt_positions, positions[:, :, :width])
        self.positions = positions
        self.key_valid = layout.key_valid(columns, device)  # (B, C)
        self.cache = model.new_cache(batch, columns)
        self.confidence = torch.ones(batch, columns, device=device)  # (B, C) probability of each committed token
        self.steps = torch.zeros(batch, columns, dtype=torch.long, device=device)  # (B, C) commit step
        self.filled_to = min(layout.prompt_end(r) for r in range(batch))

    @property
    def active(self) -> bool:
        return bool(self.row_ids)

    @property
    def width(self) -> int:
        return self.prompt_embeds.shape[1]

    def embeds(self, start: int, end: int) -> torch.Tensor:
        """Return input embeddings (B, end - start, E) for canvas columns [start, end)."""
        embeds = self.model.embed(self.tokens[:, start:end])  # (B, T, E)
        if start >= self.width:
            return embeds
        stop = min(end, self.width)
        is_prompt = torch.arange(start, stop, device=embeds.device)[None, :] < self.prompt_ends[:, None]
        prompt_part = torch.where(is_prompt[..., None], self.prompt_embeds[:, start:stop], embeds[:, :stop - start])
        return torch.cat([prompt_part, embeds[:, stop - start:]], dim=1)

    def run(self, start: int, end: int, *, keep: int, logits_start: int | None, purpose: str,
            mask: str) -> torch.Tensor | None:
        """Forward canvas columns [start, end) against the cache; see EchoModel.forward for the rest.

        `mask` picks the attention pattern: "block" (block-causal over the pass), "causal",
        or "decode" (a pass inside one block, seeing every cached key).
        """
        if self.cache.length != start:
            raise RuntimeError(f"pass starts at column {start} but the cache contains {self.cache.length} columns")
        if mask == "block":
            attention = block_causal_mask(self.key_valid, start, end - start, self.block_size)
        elif mask == "causal":
            attention = causal_mask(self.key_valid, start, end - start)
        else:
            attention = decode_mask(self.key_valid, start, end - start)
        return self.model.forward(
            self.embeds(start, end), self.positions[:, :, start:end], self.cache, attention,
            keep=keep, logits_start=logits_start, purpose=purpose,
        )

    def prefill(self, end: int, *, mask: str, logits_start: int | None) -> torch.Tensor | None:
        """Prefill canvas columns [0, end) into the cache and record its wall time."""
        started = time.perf_counter()
        logits = self.run(0, end, keep=end, logits_start=logits_start, purpose="prefill", mask=mask)
        self.timings["prefill"] = (time.perf_counter() - started) * 1000
        return logits

    def count_pass(self, kind: str) -> None:
        for output in (self.outputs[row] for row in self.row_ids):
            if kind == "decode":
                output.decode_passes += 1
            else:
                output.kv_write_passes += 1

    def commit(self, index: torch.Tensor, columns: torch.Tensor, tokens: torch.Tensor,
               confidences: torch.Tensor, step: int) -> None:
        """Write committed tokens into the canvas.

        Args:
            index: (K,) active-row index of each committed token.
            columns: (K,) canvas column of each committed token.
            tokens: (K,) token ids; confidences: (K,) their probabilities.
            step: denoising step within the block, from 1.
        """
        self.tokens[index, columns] = tokens
        self.confidence[index, columns] = confidences
        self.steps[index, columns] = step

    def finish_block(self, end: int, block: int, *, stop_at_eos: bool, loop_min_repeats: int,
                     loop_max_period: int) -> list[BlockUpdate]:
        """Record each active row's new tokens up to column `end`, apply the stopping rules, drop finished rows."""
        updates, keep = [], []
        start = self.filled_to
        new_tokens = self.tokens[:, start:end].tolist()
        new_confidences = self.confidence[:, start:end].tolist()
        new_steps = self.steps[:, start:end].tolist()
        for index, row in enumerate(self.row_ids):
            output = self.outputs[row]
            skip = max(0, int(self.prompt_ends[index]) - start)
            previous = len(output.tokens)
            output.tokens.extend(new_tokens[index][skip:])
            output.confidences.extend(new_confidences[index][skip:])
            output.steps.extend(new_steps[index][skip:])

            stop = first_stop(output.tokens, self.stop_ids, previous) if stop_at_eos else None
            loop = None
            if stop_at_eos:
                loop = find_loop(output.tokens, min_repeats=loop_min_repeats, max_period=loop_max_period,
                                 search_from=previous + 1)
            if stop is not None and (loop is None or stop < loop):
                self._cut(output, stop, "eos")
            elif loop is not None:
                self._cut(output, loop, "loop")
            elif len(output.tokens) >= self.max_new_tokens:
                self._cut(output, self.max_new_tokens, "length")

            updates.append(BlockUpdate(row, block, output))
            if output.stop_reason is None:
                keep.append(index)
        self.filled_to = end
        if len(keep) < len(self.row_ids):
            self._keep_rows(keep)
        return updates

    @staticmethod
    def _cut(output: RowOutput, length: int, reason: str) -> None:
        output.tokens = output.tokens[:length]
        output.confidences = output.confidences[:length]
        output.steps = output.steps[:length]
        output.stop_reason = reason

    def _keep_rows(self, keep: list[int]) -> None:
        index = torch.tensor(keep, dtype=torch.long, device=self.tokens.device)
        self.row_ids = [self.row_ids[i] for i in keep]
        if not keep:
            return
        self.tokens = self.tokens.index_select(0, index)
        self.prompt_embeds = self.prompt_embeds.index_select(0, index)
        self.prompt_ends = self.prompt_ends.index_select(0, index)
        self.positions = self.positions.index_select(1, index)
        self.key_valid = self.key_valid.index_select(0, index)
        self.confidence = self.confidence.index_select(0, index)
        self.steps = self.steps.index_select(0, index)
        self.cache.select_rows(index)
