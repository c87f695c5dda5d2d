"""Checkpoint settings and decoding settings.

`EchoSettings` lives in the checkpoint's config.json under the key "echo": the kind of
model (autoregressive, multi-step block diffusion, one-step distilled), its block size,
the mask, end and padding token ids and the vision pixel budget. `DecodeConfig` contains
the choices of one decoding call.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace

from engine.imaging.model_input import VisionSpec


class CheckpointKind(str, enum.Enum):
    """Kind of model a checkpoint was trained as."""

    AUTOREGRESSIVE = "autoregressive"
    BLOCK_DIFFUSION = "block_diffusion"
    ONE_STEP = "one_step"


class DecodeMode(str, enum.Enum):
    """Decoding strategy for a report."""

    AR = "ar"
    MULTI_STEP = "multi-step"
    ONE_STEP = "one-step"

    @classmethod
    def parse(cls, value: str | DecodeMode) -> DecodeMode:
        if isinstance(value, DecodeMode):
            return value
        for mode in cls:
            if mode.value == value:
                return mode
        choices = ", ".join(mode.value for mode in cls)
        raise ValueError(f"unknown decoding mode {value!r}; choose one of: {choices}")


DEFAULT_MODE = {
    CheckpointKind.AUTOREGRESSIVE: DecodeMode.AR,
    CheckpointKind.BLOCK_DIFFUSION: DecodeMode.MULTI_STEP,
    CheckpointKind.ONE_STEP: DecodeMode.ONE_STEP,
}


@dataclass(frozen=True)
class EchoSettings:
    """The ECHO-specific part of a checkpoint's configuration."""

    kind: CheckpointKind
    """Kind of model the checkpoint was trained as, which sets the default decoding mode."""
    block_size: int
    """Tokens per diffusion block, aligned to absolute position 0 (1 for an autoregressive model)."""
    mask_token_id: int
    """Id of the mask token that fills undecided positions."""
    eos_token_id: int
    """Id of the end-of-report token (`<|im_end|>` in the Qwen chat format)."""
    pad_token_id: int
    """Id used for left padding in batches; never attended to."""
    image_token_id: int
    """Id of the image placeholder token that the vision features replace."""
    vision_start_token_id: int
    vision_end_token_id: int
    languages: tuple[str, ...] = ("en", "zh")
    confidence_threshold: float = 0.85
    """Multi-step decoding commits every masked position whose confidence exceeds this."""
    max_new_tokens: int = 512
    """Default cap on generated tokens."""
    vision: VisionSpec = field(default_factory=VisionSpec)
    name: str = "echo-cxr"
    """Human-readable model name shown in reports."""

    def __post_init__(self) -> None:
        if self.block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {self.block_size}")
        if not 0.0 < self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be in (0, 1], got {self.confidence_threshold}")

    @property
    def default_mode(self) -> DecodeMode:
        return DEFAULT_MODE[self.kind]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["languages"] = list(self.languages)
        data["vision"] = {**asdict(self.vision), "image_mean": list(self.vision.image_mean),
                          "image_std": list(self.vision.image_std)}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EchoSettings:
        data = dict(data)
        data["kind"] = CheckpointKind(data["kind"])
        data["languages"] = tuple(data.get("languages", ("en", "zh")))
        vision = dict(data.get("vision", {}))
        for key in ("image_mean", "image_std"):
            if key in vision:
                vision[key] = tuple(vision[key])
        data["vision"] = VisionSpec(**vision)
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})

    def with_kind(self, kind: CheckpointKind) -> EchoSettings:
        return replace(self, kind=kind)


@dataclass(frozen=True)
class DecodeConfig:
    """Choices of one decoding call."""

    mode: DecodeMode
    block_size: int
    """Tokens per block; decoding with a size other than the trained one works but degrades the output."""
    max_new_tokens: int = 512
    """Cap on generated tokens; a draft that reaches it is marked as cut at the length limit."""
    confidence_threshold: float = 0.85
    """Multi-step only: commit every masked position above this confidence (at least one per step)."""
    fused_cache: bool = True
    """One-step only: use the Fused Block KV Cache (one pass per block) instead of two passes."""
    stop_at_eos: bool = True
    """False forces exactly max_new_tokens generated tokens, for throughput benchmarks."""
    loop_min_repeats: int = 3
    """A tail that repeats an n-gram this many times in a row is a loop and is cut."""
    loop_max_period: int = 16
    """Maximum n-gram length, in tokens, checked for loops."""

    def __post_init__(self) -> None:
        if self.block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {self.block_size}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if not 0.0 < self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be in (0, 1], got {self.confidence_threshold}")
        if self.loop_min_repeats < 2:
            raise ValueError(f"loop_min_repeats must be at least 2, got {self.loop_min_repeats}")
