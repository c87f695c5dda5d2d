"""The key/value cache shared by every decoder.

Buffers are preallocated per layer with shape (B, Hkv, S_max, D), where B is the batch,
Hkv the number of key/value heads, S_max the capacity in positions and D the head dim.
A forward pass writes the K/V of all its T query tokens at [length, length + T) and
attends over [0, length + T). Afterwards the caller keeps the first n tokens of that
pass with `advance(n)`: n = T for a prefill or a K/V-write pass, 0 for a denoising pass
whose tokens are not final, and B_block for the fused pass, which keeps only the
committed previous block. Nothing outside this class slices the buffers.
"""

from __future__ import annotations

import torch


class KVCache:
    """Preallocated per-layer K/V buffers with one shared length."""

    def __init__(
        self,
        *,
        num_layers: int,
        batch_size: int,
        kv_heads: int,
        head_dim: int,
        capacity: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        shape = (batch_size, kv_heads, capacity, head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(num_layers)]
        self.capacity = capacity
        self.length = 0
        self._pending = 0

    def update(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write this pass's K/V of shape (B, Hkv, T, D) after the kept tokens; return all K/V to attend to."""
        new = keys.shape[2]
        end = self.length + new
        if end > self.capacity:
            raise ValueError(
                f"KV cache capacity {self.capacity} exceeded by a pass ending at position {end}; "
                "create the cache with a larger capacity (prompt + max_new_tokens + 2 blocks)"
            )
        self.keys[layer][:, :, self.length:end] = keys
        self.values[layer][:, :, self.length:end] = values
        self._pending = new
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]  # (B, Hkv, length + T, D)

    def advance(self, keep: int) -> None:
        """Keep the first `keep` tokens written by the last pass; the rest is overwritten later."""
        if not 0 <= keep <= self._pending:
            raise ValueError(f"cannot keep {keep} tokens of a pass that wrote {self._pending}")
        self.length += keep
        self._pending = 0

    def truncate(self, length: int) -> None:
        """Drop every cached position at or after `length`."""
        if not 0 <= length <= self.length:
            raise ValueError(f"cannot truncate a cache of length {self.length} to {length}")
        self.length = length
        self._pending = 0

    def select_rows(self, rows: torch.Tensor) -> None:
        """Keep only the batch rows in `rows` (a 1-D index tensor), in that order."""
        self.keys = [layer.index_select(0, rows) for layer in self.keys]
        self.values = [layer.index_select(0, rows) for layer in self.values]

    def layer_kv(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the kept K/V of one layer, each of shape (B, Hkv, length, D), for inspection and tests."""
        return self.keys[layer][:, :, :self.length], self.values[layer][:, :, :self.length]
