"""One frozen dataclass config per training stage, loadable from YAML with key=value overrides.

`CPTConfig` (stage 1, autoregressive fine-tuning), `RADConfig` (stage 2, response-asymmetric
diffusion), `DCDConfig` (stage 3, direct conditional distillation) and `FinetuneConfig` (site
fine-tuning) share the fields of `StageConfig`: data, initial weights, optimiser, schedule,
checkpointing and logging. Batch sizes count samples. `batch_size` is the global batch of one
optimizer step over all processes, so a run gives the same updates on 1 or N processes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

LR_SCHEDULES = ("constant", "linear", "cosine")
MIXED_PRECISION = ("no", "bf16", "fp16")


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Fields shared by every training stage."""

    output_dir: str
    """Folder for training state, metrics.jsonl, summary.json and the final checkpoint/."""
    train_data: str = ""
    """JSONL file of studies: {study_id, images, findings, impression, language, indication?}."""
    image_root: str | None = None
    """Folder that relative image paths start from; default: the folder of train_data."""
    init_from: str | None = None
    """Checkpoint folder to start from (engine layout: config.json, *.safetensors, tokenizer.json)."""
    init_size: str | None = None
    """Build a randomly initialised model of this engine.presets size ("tiny", "bundled") instead."""
    tokenizer: str | None = None
    """Folder with tokenizer.json for a model built from init_size."""
    name: str | None = None
    """Model name written into the checkpoint; default: the output folder's name."""
    max_steps: int = 1000
    """Optimizer steps of the run."""
    batch_size: int = 8
    """Samples per optimizer step, summed over all processes."""
    micro_batch_size: int = 1
    """Samples per forward pass on one process; batch_size / (micro_batch_size * processes) gives the
    gradient accumulation steps."""
    pack_tokens: int | None = None
    """Pack several samples into one row of at most this many tokens, with attention kept inside each
    sample; None puts one sample per row."""
    learning_rate: float = 1e-5
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    warmup_ratio: float = 0.03
    """Fraction of max_steps with a linear learning-rate warm-up from 0."""
    lr_schedule: Literal["constant", "linear", "cosine"] = "cosine"
    """Learning rate after warm-up: constant, linear decay to 0, or cosine decay to 0."""
    max_grad_norm: float | None = 1.0
    """Clip the global gradient norm to this value; None disables clipping."""
    freeze_vision: bool = True
    """Keep the vision tower and its projector (merger) fixed; only the language model trains."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory (7B runs)."""
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    cpu: bool = False
    """Train on the CPU even when a GPU is present (also set by ACCELERATE_USE_CPU=true)."""
    seed: int = 0
    """Seeds the data order, the noise and the initial weights of a from-scratch model."""
    save_every: int = 500
    """Save the resumable training state every this many optimizer steps (and at the end)."""
    keep_states: int = 2
    """Number of most recent training states kept under output_dir/state."""
    resume: bool = True
    """Continue from the newest training state under output_dir/state when there is one."""
    log_every: int = 1
    """Write a metrics.jsonl line every this many optimizer steps."""
    max_response_tokens: int = 512
    """Reports longer than this many tokens (end token included) are cut."""
    max_samples: int | None = None
    """Use only the first this many studies of train_data."""
    image_repeats: int = 1
    """Each epoch shows every study with images this many times and every text-only study once. Raise
    it when text-only reports outnumber image-report pairs, so the model learns to read the image."""
    cache_examples: bool = False
    """Keep tokenised prompts and image patches in memory after first use (small corpora only)."""
    progress: bool = True
    """Show a tqdm progress bar on the main process."""

    def __post_init__(self) -> None:
        if not self.output_dir:
            raise ValueError("output_dir is required: the folder for the run's state, logs and checkpoint")
        if (self.init_from is None) == (self.init_size is None):
            raise ValueError(
                f"set exactly one of init_from (a checkpoint folder) and init_size (a preset name); "
                f"got init_from={self.init_from!r}, init_size={self.init_size!r}"
            )
        if self.init_size is not None and self.tokenizer is None:
            raise ValueError(f"init_size={self.init_size!r} needs tokenizer: a folder with tokenizer.json")
        for field_name in ("max_steps", "batch_size", "micro_batch_size", "save_every", "keep_states", "log_every",
                           "image_repeats"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{field_name} must be at least 1, got {getattr(self, field_name)}")
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of micro_batch_size ({self.micro_batch_size})"
            )
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"mixed_precision must be one of {', '.join(MIXED_PRECISION)}, got {self.mixed_precision!r}"
            )
        if self.pack_tokens is not None and self.pack_tokens < 1:
            raise ValueError(f"pack_tokens must be positive or None, got {self.pack_tokens}")
        if self.max_response_tokens < 2:
            raise ValueError(f"max_response_tokens must be at least 2, got {self.max_response_tokens}")

    def accumulation_steps(self, num_processes: int) -> int:
        """Return the micro-batches each process runs per optimizer step."""
        per_process = self.batch_size // num_processes
        if self.batch_size % num_processes or per_process % self.micro_batch_size:
            raise ValueError(
                f"batch_size {self.batch_size} does not split into {num_processes} processes "
                f"of whole micro-batches of {self.micro_batch_size}; change batch_size or micro_batch_size"
            )
        return per_process // self.micro_batch_size

    def warmup_steps(self) -> int:
        return int(self.warmup_ratio * self.max_steps)

    def model_name(self) -> str:
        return self.name or Path(self.output_dir).name


@dataclass(frozen=True, kw_only=True)
class CPTConfig(StageConfig):
    """Stage 1 (ECHO-AR): next-token cross-entropy on the report tokens only."""

    freeze_vision: bool = False
    """Stage 1 trains all parameters by default ("full-parameter SFT")."""


@dataclass(frozen=True, kw_only=True)
class RADConfig(StageConfig):
    """Stage 2 (ECHO-Base): masked-diffusion cross-entropy on a [context | clean | noisy] sequence."""

    block_size: int = 4
    """L, tokens per diffusion block, aligned to absolute position 0 as at inference."""
    full_duplication: bool = False
    """Duplicate the whole sequence (context included, as SDAR does) instead of the response only.
    The loss is the same; only the cost grows. For measuring the saving."""
    loss_normalization: Literal["masked_mean", "elbo"] = "masked_mean"
    """masked_mean: mean cross-entropy over masked tokens of the global batch. elbo: each masked token
    weighted 1/t (its block's mask ratio), summed and divided by the response tokens of the batch."""
    mask_ratio: float | None = None
    """Fixed mask ratio for every block instead of t ~ U(0, 1]; 1.0 trains fully masked blocks."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {self.block_size}")
        if self.loss_normalization not in ("masked_mean", "elbo"):
            raise ValueError(f"loss_normalization must be masked_mean or elbo, got {self.loss_normalization!r}")
        if self.mask_ratio is not None and not 0.0 < self.mask_ratio <= 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1] or None, got {self.mask_ratio}")


@dataclass(frozen=True, kw_only=True)
class DCDConfig(StageConfig):
    """Stage 3 (ECHO): distil the teacher's multi-step trajectories into one step per block."""

    teacher: str = ""
    """ECHO-Base checkpoint folder (block diffusion); the student starts from it unless init_from is set."""
    trajectories: str | None = None
    """Folder of collected trajectories; default output_dir/trajectories. Collected when missing."""
    num_trajectories: int | None = None
    """Studies to decode with the teacher, drawn in proportion to each source; None uses every study."""
    confidence_threshold: float = 0.85
    """Teacher decoding commits every masked position above this confidence (at least one per step)."""
    top_k: int | None = 64
    """Store each recorded distribution as its top-k probabilities plus the remaining mass; None stores
    the full distribution."""
    collect_batch_size: int = 8
    """Studies decoded together by the teacher."""
    drop_unfinished: bool = True
    """Drop trajectories that reach max_response_tokens without an end token."""
    drop_loops: bool = True
    """Drop trajectories that the decoder cut at a repetition loop. Only benchmarks of untrained
    teachers turn this off."""
    step_weights: bool = True
    """Weight each position's divergence by its 1-based commit step (SW in the ablation)."""
    eos_loss_weight: float = 1.0
    """Weight of the cross-entropy that pulls end-token positions to the end token (CE); 0 disables it."""
    eos_positions: Literal["all", "first"] = "all"
    """Pseudo-label end-token positions covered by the end-token term: every one, or the first only."""
    divergence: Literal["forward", "reverse", "both"] = "forward"
    """forward: KL(teacher || student). reverse: KL(student || teacher) in its place (RKL in the
    ablation). both: their sum."""

    def __post_init__(self) -> None:
        if not self.teacher:
            raise ValueError("teacher is required: the ECHO-Base checkpoint folder to distil")
        if self.init_from is None and self.init_size is None:
            object.__setattr__(self, "init_from", self.teacher)
        super().__post_init__()
        if not 0.0 < self.confidence_threshold <= 1.0:
            raise ValueError(f"confidence_threshold must be in (0, 1], got {self.confidence_threshold}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be positive or None, got {self.top_k}")
        if self.eos_loss_weight < 0:
            raise ValueError(f"eos_loss_weight must be non-negative, got {self.eos_loss_weight}")
        if self.eos_positions not in ("all", "first"):
            raise ValueError(f"eos_positions must be all or first, got {self.eos_positions!r}")
        if self.divergence not in ("forward", "reverse", "both"):
            raise ValueError(f"divergence must be forward, reverse or both, got {self.divergence!r}")

    def trajectory_dir(self) -> Path:
        return Path(self.trajectories) if self.trajectories else Path(self.output_dir) / "trajectories"


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(StageConfig):
    """Site fine-tuning: continue training on reviewed local studies, evaluate, register a candidate."""

    site_data: str = ""
    """A folder of reviewed studies (one sub-folder per study with report.json or report.txt and its
    images) or a file in the ECHO evaluation JSON format."""
    registry: str = ""
    """Model registry folder; the fine-tuned model is registered there as a candidate."""
    language: str = "en"
    """Report language of studies that do not state one."""
    heldout_fraction: float = 0.2
    """Fraction of the site's studies kept out of training for the comparison."""
    max_eval_studies: int | None = 200
    """Cap on held-out studies decoded per model."""
    objective: Literal["auto", "cpt", "rad", "one_step"] = "auto"
    """Training loss: auto picks cpt for autoregressive models, rad for block diffusion and one_step
    (RAD with fully masked blocks) for one-step models."""
    candidate: str | None = None
    """Candidate name in the registry; default: the output folder's name."""
    learning_rate: float = 5e-6
    max_steps: int = 200
    block_size: int | None = None
    """Ignored unless the initial model lacks one; normally taken from the checkpoint."""
    loss_normalization: Literal["masked_mean", "elbo"] = "masked_mean"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.site_data:
            raise ValueError("site_data is required: a folder of reviewed studies or an ECHO evaluation JSON file")
        if not self.registry:
            raise ValueError("registry is required: the model registry folder")
        if not 0.0 < self.heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        if self.objective not in ("auto", "cpt", "rad", "one_step"):
            raise ValueError(f"objective must be auto, cpt, rad or one_step, got {self.objective!r}")


STAGE_CONFIGS: dict[str, type[StageConfig]] = {
    "cpt": CPTConfig,
    "rad": RADConfig,
    "dcd": DCDConfig,
    "finetune": FinetuneConfig,
}


def _coerce(value, annotation):
    """Convert YAML scalars to the field's type where YAML reads them differently (1e-5 is a string)."""
    if value is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _coerce(value, options[0]) if len(options) == 1 else value
    if annotation is float and isinstance(value, (int, str)) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, str):
        return int(value)
    if annotation is str and not isinstance(value, str):
        return str(value)
    return value


def parse_overrides(items: list[str]) -> dict:
    """Parse ["key=value", ...] into a dict; each value is read as YAML (numbers, true/false, null)."""
    result = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"invalid override {item!r}: expected key=value, for example max_steps=100")
        result[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return result


def build_config(cls: type[StageConfig], values: dict) -> StageConfig:
    """Build a stage config from a dict, rejecting unknown keys with the list of valid ones."""
    fields = {item.name: item for item in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}; valid fields: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    return cls(**{key: _coerce(value, hints[key]) for key, value in values.items()})


def load_config(stage: str, path: str | Path | None, overrides: list[str] | None = None) -> StageConfig:
    """Load the config of `stage` from a YAML file (or none) and apply key=value overrides."""
    if stage not in STAGE_CONFIGS:
        raise ValueError(f"unknown training stage {stage!r}; choose one of: {', '.join(STAGE_CONFIGS)}")
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"invalid config file {path}: expected a mapping of field names to values")
        values.update(loaded)
    values.update(parse_overrides(overrides or []))
    return build_config(STAGE_CONFIGS[stage], values)


def save_config(config: StageConfig, path: str | Path) -> None:
    """Write the config as YAML, so a run records exactly what it was given."""
    data = dataclasses.asdict(config)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
