"""The training loop shared by every stage, on accelerate (single process, DDP or FSDP).

A stage supplies the model's checkpoint kind, how to turn sample indices into a `Batch`,
and the loss terms of a batch (see `Stage`). The loop owns everything else:

- Data order: the global sample stream is a concatenation of per-epoch permutations seeded
  by (seed, epoch). Optimizer step s takes samples [s * batch_size, (s + 1) * batch_size) of
  it, and process r takes every world-th of those. Noise is drawn from a generator seeded by
  (seed, step, process, micro-batch). So the data order and the noise depend only on the
  step, and a resumed run gets exactly the batches and noise of an uninterrupted one.
- Loss normalisation: each term is divided by its normaliser summed over the whole global
  batch (all micro-batches and processes), computed before the forward passes.
- Learning rate: a pure function of the step (linear warm-up, then constant, linear or cosine).
- State: `accelerator.save_state` every `save_every` steps under output_dir/state/step-N
  (model, optimizer and RNG states); a run with `resume` continues from the newest one.
- Logging: metrics.jsonl (one line per `log_every` steps: step, loss, terms, lr, tokens/s,
  step time, gradient norm) and a tqdm bar, on the main process only.
- Output: output_dir/checkpoint in the engine layout, config.yaml and summary.json (with a
  SHA-256 of the parameters on every process, which must agree).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from engine.config import CheckpointKind, EchoSettings
from engine.tokenizer import ReportTokenizer
from training.config import StageConfig, save_config
from training.losses import LossTerm
from training.model import TrainingModel, batch_to, load_initial_model, save_model
from training.sequences import Batch

logger = logging.getLogger(__name__)

STATE_DIR = "state"
CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"


class Stage(Protocol):
    """Interface of a training stage: checkpoint kind, batches and loss terms."""

    kind: CheckpointKind
    block_size: int

    def prepare(self, hf_model, tokenizer: ReportTokenizer, settings: EchoSettings, accelerator) -> int:
        """Load the data (and, for DCD, collect trajectories); return the number of training samples."""

    def make_batch(self, indices: list[int], generator: torch.Generator) -> Batch:
        """Build the micro-batch of these sample indices on the CPU, drawing noise from `generator`."""

    def normalisers(self, batch: Batch) -> dict[str, float]:
        """Return each loss term's normaliser for this micro-batch (known before the forward pass)."""

    def loss_terms(self, logits: torch.Tensor, batch: Batch) -> dict[str, LossTerm]:
        """Return the loss terms of the micro-batch from the logits (N, V) at its loss positions."""


@dataclass
class StepRecord:
    """Logged outcome of one optimizer step."""

    step: int
    loss: float
    terms: dict[str, float]
    lr: float
    tokens_per_s: float
    step_time_s: float
    grad_norm: float | None
    samples: int


def learning_rate_at(step: int, config: StageConfig) -> float:
    """Return the learning rate of 0-based optimizer step `step`."""
    warmup = config.warmup_steps()
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.max_steps - warmup)
    if config.lr_schedule == "linear":
        return config.learning_rate * (1.0 - progress)
    if config.lr_schedule == "cosine":
        return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.learning_rate


class DataOrder:
    """The deterministic global sample stream (see module doc)."""

    def __init__(self, num_examples: int, seed: int) -> None:
        if num_examples < 1:
            raise ValueError("no training samples")
        self.num_examples = num_examples
        self.seed = seed
        self._permutations: dict[int, list[int]] = {}

    def permutation(self, epoch: int) -> list[int]:
        if epoch not in self._permutations:
            if len(self._permutations) > 4:
                self._permutations.clear()
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._permutations[epoch] = torch.randperm(self.num_examples, generator=generator).tolist()
        return self._permutations[epoch]

    def global_batch(self, step: int, batch_size: int) -> list[int]:
        indices: list[int] = []
        position = step * batch_size
        while len(indices) < batch_size:
            epoch, offset = divmod(position, self.num_examples)
            take = min(batch_size - len(indices), self.num_examples - offset)
            indices.extend(self.permutation(epoch)[offset:offset + take])
            position += take
        return indices


def noise_generator(seed: int, step: int, process: int, micro: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, step, process, micro]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def parameter_digest(model: torch.nn.Module) -> str:
    """Return the SHA-256 of every parameter's bytes, in name order."""
    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters()):
        digest.update(name.encode())
        digest.update(parameter.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def latest_state(output_dir: Path) -> tuple[int, Path] | None:
    """Return (step, folder) of the newest complete training state, or None."""
    root = output_dir / STATE_DIR
    found = []
    for folder in root.glob("step-*") if root.is_dir() else []:
        marker = folder / "trainer_state.json"
        if marker.is_file():
            found.append((json.loads(marker.read_text())["step"], folder))
    return max(found) if found else None


def _save_state(accelerator, output_dir: Path, step: int, keep: int) -> None:
    folder = output_dir / STATE_DIR / f"step-{step}"
    accelerator.save_state(str(folder))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (folder / "trainer_state.json").write_text(json.dumps({"step": step}) + "\n")
        states = sorted((int(path.name.split("-")[1]), path) for path in (output_dir / STATE_DIR).glob("step-*"))
        for _, old in states[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _build_optimizer(model: torch.nn.Module, config: StageConfig) -> torch.optim.Optimizer:
    """AdamW with no weight decay on biases and normalisation weights (1-D parameters)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (decay if parameter.dim() >= 2 else no_decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
                             eps=config.adam_epsilon)


def train(config: StageConfig, stage: Stage, *, on_step: Callable[[int], None] | None = None) -> dict:
    """Run a stage to `config.max_steps` optimizer steps and return the summary.

    `on_step(step)` is called after each optimizer step (and any state save) with the number
    of steps done. An exception from it stops the run as an interruption would.
    """
    from accelerate import Accelerator
    from accelerate.utils import gather_object, set_seed
    from tqdm.auto import tqdm

    output_dir = Path(config.output_dir)
    accelerator = Accelerator(mixed_precision=config.mixed_precision, cpu=config.cpu)
    _check_process_group(accelerator)
    set_seed(config.seed)
    world = accelerator.num_processes
    accumulation = config.accumulation_steps(world)

    # 1. Model, data and optimizer.
    hf_model, tokenizer, settings = load_initial_model(config, kind=stage.kind, block_size=stage.block_size)
    num_examples = stage.prepare(hf_model, tokenizer, settings, accelerator)
    model = TrainingModel(hf_model, freeze_vision=config.freeze_vision)
    optimizer = _build_optimizer(model, config)
    model, optimizer = accelerator.prepare(model, optimizer)
    order = DataOrder(num_examples, config.seed)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, output_dir / "config.yaml")

    # 2. Resume from the newest saved state.
    start = 0
    found = latest_state(output_dir) if config.resume else None
    if found is not None:
        start, folder = found
        accelerator.load_state(str(folder))
        logger.info("resumed %s from %s at step %d", config.model_name(), folder, start)
        if accelerator.is_main_process:
            _truncate_metrics(output_dir, start)
    accelerator.wait_for_everyone()

    # 3. Optimizer steps.
    progress = tqdm(total=config.max_steps, initial=start, desc=f"train {config.model_name()}",
                    disable=not (accelerator.is_main_process and config.progress))
    history: list[StepRecord] = []
    started = time.perf_counter()
    for step in range(start, config.max_steps):
        record = _optimizer_step(config, stage, model, optimizer, accelerator, order, step, accumulation)
        history.append(record)
        if accelerator.is_main_process and (step + 1) % config.log_every == 0:
            _log_metrics(output_dir, record)
        progress.update(1)
        progress.set_postfix(loss=f"{record.loss:.4f}", lr=f"{record.lr:.2e}")
        done = step + 1
        if done % config.save_every == 0 or done == config.max_steps:
            _save_state(accelerator, output_dir, done, config.keep_states)
        if on_step is not None:
            on_step(done)
    progress.close()

    # 4. Final checkpoint and summary.
    save_model(accelerator, model, tokenizer, settings, output_dir / CHECKPOINT_DIR)
    digests = gather_object([parameter_digest(accelerator.unwrap_model(model))])
    summary = {
        "stage": stage.kind.value,
        "steps": config.max_steps,
        "resumed_from": start,
        "num_processes": world,
        "first_loss": history[0].loss if history else None,
        "final_loss": history[-1].loss if history else None,
        "mean_tokens_per_s": float(np.mean([r.tokens_per_s for r in history])) if history else None,
        "mean_step_time_s": float(np.mean([r.step_time_s for r in history])) if history else None,
        "wall_time_s": time.perf_counter() - started,
        "parameter_sha256": digests,
        "checkpoint": str(output_dir / CHECKPOINT_DIR),
    }
    if accelerator.is_main_process:
        (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    accelerator.wait_for_everyone()
    return summary


def _check_process_group(accelerator) -> None:
    """Raise when a launcher started several processes but accelerate runs only one.

    accelerate 1.16.0 does this on a machine without GPUs unless told to use the CPU, and
    every process would then train alone and write the same files.
    """
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and accelerator.num_processes != launched:
        raise RuntimeError(
            f"the launcher started {launched} processes but accelerate runs {accelerator.num_processes}; "
            "on a machine without GPUs set ACCELERATE_USE_CPU=true (or cpu: true in the config)"
        )


def _optimizer_step(config: StageConfig, stage: Stage, model, optimizer, accelerator, order: DataOrder, step: int,
                    accumulation: int) -> StepRecord:
    """Run one optimizer step over this process's share of the global batch."""
    world, rank = accelerator.num_processes, accelerator.process_index
    began = time.perf_counter()
    lr = learning_rate_at(step, config)
    for group in optimizer.param_groups:
        group["lr"] = lr

    # 1. Build this process's micro-batches and the global normalisers of each loss term.
    mine = order.global_batch(step, config.batch_size)[rank::world]
    size = config.micro_batch_size
    batches = [stage.make_batch(mine[i * size:(i + 1) * size], noise_generator(config.seed, step, rank, i))
               for i in range(accumulation)]
    local = {}
    for batch in batches:
        for name, value in stage.normalisers(batch).items():
            local[name] = local.get(name, 0.0) + value
    names = sorted(local)
    totals = accelerator.reduce(torch.tensor([local[n] for n in names], dtype=torch.float64,
                                             device=accelerator.device), "sum")
    normaliser = dict(zip(names, totals.tolist(), strict=True))

    # 2. Forward and backward each micro-batch; gradients sync on the last one only.
    numerators = {name: 0.0 for name in names}
    weights: dict[str, float] = {}
    tokens = 0
    for index, batch in enumerate(batches):
        sync = index == len(batches) - 1
        context = contextlib.nullcontext() if sync else accelerator.no_sync(model)
        with context:
            batch = batch_to(batch, accelerator.device)
            with accelerator.autocast():
                logits = model(batch.input_ids, batch.image_slots, batch.positions, batch.attention_mask,
                               batch.pixel_values, batch.grid_thw, batch.loss_index)
            terms = stage.loss_terms(logits, batch)
            loss = sum(term.weight * term.numerator / normaliser[name] * world
                       for name, term in terms.items() if normaliser.get(name, 0.0) > 0)
            if not torch.is_tensor(loss):
                loss = logits.sum() * 0.0
            accelerator.backward(loss)
        for name, term in terms.items():
            numerators[name] += float(term.numerator.detach())
            weights[name] = term.weight
        tokens += batch.num_tokens

    # 3. Clip, step, and reduce what is logged.
    grad_norm = None
    if config.max_grad_norm is not None:
        grad_norm = float(accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    reduced = accelerator.reduce(torch.tensor([numerators[n] for n in names] + [float(tokens)], dtype=torch.float64,
                                              device=accelerator.device), "sum").tolist()
    term_values = {n: reduced[i] / normaliser[n] if normaliser[n] > 0 else 0.0 for i, n in enumerate(names)}
    loss_value = sum(weights.get(n, 1.0) * value for n, value in term_values.items())
    elapsed = time.perf_counter() - began
    return StepRecord(step + 1, loss_value, term_values, lr, reduced[-1] / elapsed, elapsed, grad_norm,
                      config.batch_size)


def _truncate_metrics(output_dir: Path, step: int) -> None:
    """Drop metrics lines after `step`, which the resumed run writes again."""
    path = output_dir / METRICS_FILE
    if not path.is_file():
        return
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _log_metrics(output_dir: Path, record: StepRecord) -> None:
    line = {
        "step": record.step,
        "loss": round(record.loss, 6),
        "terms": {name: round(value, 6) for name, value in record.terms.items()},
        "lr": record.lr,
        "tokens_per_s": round(record.tokens_per_s, 1),
        "step_time_s": round(record.step_time_s, 4),
        "grad_norm": None if record.grad_norm is None else round(record.grad_norm, 4),
        "samples": record.samples,
    }
    with (output_dir / METRICS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
