"""Model sizes of the Qwen2.5-VL layout used by this project, built from scratch.

`bundled` is the size of the default model shipped in assets/ (trainable through all
three ECHO stages on a laptop CPU); `tiny` is for tests. Both keep the Qwen2.5-VL layout
(ViT with 14-pixel patches and 2x2 merge, window attention, M-RoPE text model), so the
same loader, decoders and training code serve them and the 7B released weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import Qwen2_5_VLConfig


@dataclass(frozen=True)
class ModelSize:
    """Width and depth of a from-scratch Qwen2.5-VL model."""

    hidden_size: int
    num_layers: int
    num_heads: int
    kv_heads: int
    intermediate_size: int
    vision_depth: int
    vision_hidden: int
    vision_heads: int
    vision_intermediate: int
    max_positions: int = 4096

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def mrope_section(self) -> list[int]:
        """Split of the rotary half-dimension into temporal, height and width parts (1:1.5:1.5 as in Qwen2.5-VL)."""
        half = self.head_dim // 2
        temporal = half // 4
        height = (half - temporal) // 2
        return [temporal, height, half - temporal - height]


SIZES = {
    "tiny": ModelSize(
        hidden_size=64, num_layers=2, num_heads=4, kv_heads=2, intermediate_size=128,
        vision_depth=2, vision_hidden=32, vision_heads=2, vision_intermediate=64,
    ),
    # 256 wide and 6 deep with a 2x MLP: measured on a 2-core CPU, a pass over 16 query
    # tokens costs under 1.6 times a pass over one, so one pass per 8-token block pays off.
    "bundled": ModelSize(
        hidden_size=256, num_layers=6, num_heads=4, kv_heads=2, intermediate_size=512,
        vision_depth=4, vision_hidden=192, vision_heads=3, vision_intermediate=576,
    ),
}


def build_hf_config(size: ModelSize | str, *, vocab_size: int, image_token_id: int, vision_start_token_id: int,
                    vision_end_token_id: int, eos_token_id: int, pad_token_id: int,
                    tie_word_embeddings: bool = True) -> Qwen2_5_VLConfig:
    """Return a Qwen2_5_VLConfig of the given size; special token ids come from the tokenizer."""
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"unknown model size {size!r}; choose one of: {', '.join(SIZES)}")
        size = SIZES[size]
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": size.hidden_size,
        "intermediate_size": size.intermediate_size,
        "num_hidden_layers": size.num_layers,
        "num_attention_heads": size.num_heads,
        "num_key_value_heads": size.kv_heads,
        "max_position_embeddings": size.max_positions,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": tie_word_embeddings,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": size.mrope_section},
        "eos_token_id": eos_token_id,
        "pad_token_id": pad_token_id,
        "bos_token_id": pad_token_id,
    }
    vision_config = {
        "depth": size.vision_depth,
        "hidden_size": size.vision_hidden,
        "intermediate_size": size.vision_intermediate,
        "num_heads": size.vision_heads,
        "out_hidden_size": size.hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [size.vision_depth - 1],
        "in_channels": 3,
    }
    return Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=image_token_id,
        vision_start_token_id=vision_start_token_id,
        vision_end_token_id=vision_end_token_id,
        tie_word_embeddings=tie_word_embeddings,
    )
