"""The Qwen2.5-VL model behind every decoder, with a lean cached forward and pass counters.

The weights are a `transformers` Qwen2_5_VLForConditionalGeneration, so any checkpoint in
that layout loads (the released ECHO weights, or the bundled small model). Image encoding
and M-RoPE position ids use the transformers code. The text forward is re-implemented here
over the same modules, because the decoders need what the stock forward lacks: a
preallocated cache that keeps only the first n tokens of a pass, boolean block masks
without per-call mask construction, and logits for a chosen slice of positions only.
A test checks this forward against the transformers forward.

Shapes: B batch, T query tokens of a pass, S cached plus current keys, H attention
heads, Hkv key/value heads, D head dim, E hidden size, V vocabulary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from engine.cache import KVCache
from engine.config import EchoSettings

logger = logging.getLogger(__name__)


@dataclass
class PassCounters:
    """Model calls made while drafting, by purpose."""

    image: int = 0
    """Vision-tower calls (one per batch of images)."""
    prefill: int = 0
    """Prompt prefill passes."""
    decode: int = 0
    """Denoising passes (diffusion) or next-token passes (autoregressive); a fused pass counts once."""
    kv_write: int = 0
    """Clean passes that only write a finished block's K/V."""

    @property
    def forward_passes(self) -> int:
        """Decoding passes: denoising plus K/V writes, excluding prefill and image encoding."""
        return self.decode + self.kv_write

    def reset(self) -> None:
        for item in fields(self):
            setattr(self, item.name, 0)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class EchoModel:
    """A loaded checkpoint: weights, ECHO settings, identity and pass counters."""

    def __init__(self, hf_model, settings: EchoSettings, *, name: str, checkpoint_hash: str) -> None:
        self.hf = hf_model.eval()
        self.settings = settings
        self.name = name
        self.checkpoint_hash = checkpoint_hash
        self.counters = PassCounters()
        self.text = hf_model.model.language_model
        self.lm_head = hf_model.lm_head
        text_config = hf_model.config.text_config
        self.num_layers = text_config.num_hidden_layers
        self.num_heads = text_config.num_attention_heads
        self.kv_heads = text_config.num_key_value_heads
        self.head_dim = text_config.hidden_size // text_config.num_attention_heads
        self.vocab_size = text_config.vocab_size

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    def new_cache(self, batch_size: int, capacity: int) -> KVCache:
        return KVCache(
            num_layers=self.num_layers,
            batch_size=batch_size,
            kv_heads=self.kv_heads,
            head_dim=self.head_dim,
            capacity=capacity,
            dtype=self.dtype,
            device=self.device,
        )

    @torch.inference_mode()
    def encode_images(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Run the vision tower and merger.

        Args:
            pixel_values: (N_patches, D_patch) for all images, concatenated.
            grid_thw: (I, 3) patch grid of each image.

        Returns:
            (N_tokens, E) image features, in image order.
        """
        self.counters.image += 1
        pixel_values = pixel_values.to(self.device, self.hf.model.visual.dtype)
        output = self.hf.model.visual(pixel_values, grid_thw=grid_thw.to(self.device))
        return output.pooler_output.to(self.dtype)

    @torch.inference_mode()
    def embed(self, input_ids: torch.Tensor, image_features: torch.Tensor | None = None) -> torch.Tensor:
        """Embed token ids (B, T) and put image features in place of the image placeholders."""
        embeds = self.text.embed_tokens(input_ids.to(self.device))  # (B, T, E)
        if image_features is None:
            return embeds
        placeholder = input_ids.to(self.device) == self.settings.image_token_id  # (B, T)
        count = int(placeholder.sum())
        if count != image_features.shape[0]:
            raise ValueError(
                f"prompt has {count} image placeholder tokens but the images produced "
                f"{image_features.shape[0]} features; build the prompt from the same images"
            )
        return embeds.masked_scatter(placeholder[..., None], image_features.to(embeds.dtype))

    @torch.inference_mode()
    def prompt_positions(
        self, input_ids: torch.Tensor, grid_thw: torch.Tensor | None, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return M-RoPE position ids (3, B, T) for padded prompts and each row's rope delta (B,).

        `attention_mask` (B, T) is 1 on prompt tokens and 0 on padding. The rope delta is
        what the image's compressed M-RoPE span subtracts: the text token at unpadded index
        i after the prompt has position i + delta.
        """
        token_type = (input_ids == self.settings.image_token_id).int()
        positions, deltas = self.hf.model.get_rope_index(
            input_ids, mm_token_type_ids=token_type, image_grid_thw=grid_thw, attention_mask=attention_mask
        )
        return positions.to(self.device), deltas.view(-1).to(self.device)

    @torch.inference_mode()
    def forward(
        self,
        embeds: torch.Tensor,
        positions: torch.Tensor,
        cache: KVCache,
        mask: torch.Tensor | None,
        *,
        keep: int,
        logits_start: int | None,
        purpose: str,
    ) -> torch.Tensor | None:
        """Run the text model over T new tokens against the cache.

        Args:
            embeds: (B, T, E) input embeddings.
            positions: (3, B, T) M-RoPE position ids.
            mask: (B, 1, T, S) boolean, True where attention is allowed, or None for full attention.
            keep: how many leading tokens of this pass stay in the cache.
            logits_start: compute logits for tokens [logits_start, T) only; None for no logits.
            purpose: "prefill", "decode" or "kv_write", for the pass counters.

        Returns:
            (B, T - logits_start, V) float32 logits, or None.
        """
        self._count(purpose)
        batch, length, _ = embeds.shape
        cos, sin = self.text.rotary_emb(embeds, positions)  # (B, T, D) each
        cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, D)
        if mask is not None:
            mask = mask.to(self.device)

        hidden = embeds
        last = self.num_layers - 1
        for index, layer in enumerate(self.text.layers):
            attention = layer.self_attn
            normed = layer.input_layernorm(hidden)
            k = attention.k_proj(normed).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
            v = attention.v_proj(normed).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
            k = k * cos + _rotate_half(k) * sin  # (B, Hkv, T, D)
            keys, values = cache.update(index, k, v)  # (B, Hkv, S, D)
            if index == last:
                # Only the K/V of the last layer reach the cache; its attention output and MLP
                # matter only for the tokens whose logits are read.
                if logits_start is None:
                    break
                normed, hidden = normed[:, logits_start:], hidden[:, logits_start:]
                cos, sin = cos[:, :, logits_start:], sin[:, :, logits_start:]
                if mask is not None:
                    mask = mask[:, :, logits_start:]
            queries = normed.shape[1]
            q = attention.q_proj(normed).view(batch, queries, self.num_heads, self.head_dim).transpose(1, 2)
            q = q * cos + _rotate_half(q) * sin  # (B, H, T, D)
            out = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)
            hidden = hidden + attention.o_proj(out.transpose(1, 2).reshape(batch, queries, -1))

            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))

        cache.advance(keep)
        if logits_start is None:
            return None
        return self.lm_head(self.text.norm(hidden)).float()  # (B, T - logits_start, V)

    def _count(self, purpose: str) -> None:
        if purpose == "prefill":
            self.counters.prefill += 1
        elif purpose == "decode":
            self.counters.decode += 1
        elif purpose == "kv_write":
            self.counters.kv_write += 1
        else:
            raise ValueError(f"unknown pass purpose {purpose!r}; use prefill, decode or kv_write")
