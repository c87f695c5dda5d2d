"""DCD phase 1: the teacher's on-policy trajectories, recorded through the decoder's commit observer.

The teacher (ECHO-Base, multi-step) decodes each training prompt with the engine's own
block decoder: greedy, confidence-threshold remasking (commit every masked position above
the threshold, else the single most confident one), each block conditioned on the
teacher's own earlier blocks. At every denoising step the observer receives the full
distribution (V,) of each position committed at that step. A trajectory keeps, for every
position of every decoded block after the prompt:

- the committed token (the pseudo-label),
- the 1-based denoising step at which it was committed,
- the distribution at commit time, as its top-k probabilities and ids plus the remaining
  mass (or the whole distribution when top_k is None).

Trajectories that end in a repetition loop (the decoder's own loop rule) are dropped, and
so, by default, are those that reach the length cap without an end token.

Compression error: with top-k storage the loss uses k + 1 buckets (the stored ids and
"everything else"). What is lost is the shape of the remaining mass, measured per position
as KL(p || p~), where p~ keeps the top-k probabilities and spreads the remainder uniformly
over the other ids. The manifest records its mean and maximum and those of the remainder.

Shapes: K committed positions of a step, V vocabulary, R response positions, k stored ids.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from engine.config import DecodeConfig, DecodeMode
from engine.decoding.block_diffusion import decode_blocks
from engine.layout import BatchLayout
from engine.model import EchoModel
from training.data import StudyExample

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass
class Trajectory:
    """One study decoded by the teacher: pseudo-labels, commit steps and recorded distributions."""

    record_index: int
    """Index of the study in the training records."""
    study_id: str
    prompt_length: int
    tokens: torch.Tensor
    """(R,) committed tokens from the prompt end to the end of the last decoded block."""
    steps: torch.Tensor
    """(R,) 1-based denoising step at which each token was committed, within its block."""
    top_ids: torch.Tensor
    """(R, k) stored token ids of each recorded distribution, by decreasing probability."""
    top_probs: torch.Tensor
    """(R, k) their probabilities."""
    remainder: torch.Tensor
    """(R,) probability mass outside top_ids (0 with full storage)."""
    stop_reason: str


@dataclass
class CompressionStats:
    """Error of the top-k storage over every recorded position."""

    positions: int = 0
    remainder_sum: float = 0.0
    remainder_max: float = 0.0
    kl_sum: float = 0.0
    kl_max: float = 0.0

    def add(self, remainder: torch.Tensor, kl: torch.Tensor) -> None:
        self.positions += int(remainder.numel())
        self.remainder_sum += float(remainder.sum())
        self.remainder_max = max(self.remainder_max, float(remainder.max()))
        self.kl_sum += float(kl.sum())
        self.kl_max = max(self.kl_max, float(kl.max()))

    def merge(self, other: CompressionStats) -> None:
        self.positions += other.positions
        self.remainder_sum += other.remainder_sum
        self.remainder_max = max(self.remainder_max, other.remainder_max)
        self.kl_sum += other.kl_sum
        self.kl_max = max(self.kl_max, other.kl_max)

    def summary(self) -> dict:
        count = max(1, self.positions)
        return {
            "positions": self.positions,
            "mean_remainder_mass": self.remainder_sum / count,
            "max_remainder_mass": self.remainder_max,
            "mean_kl_to_compressed": self.kl_sum / count,
            "max_kl_to_compressed": self.kl_max,
        }


def compress(probs: torch.Tensor, top_k: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Compress distributions (K, V) to (top ids (K, k), top probs (K, k), remainder (K,), KL(p || p~) (K,))."""
    vocab = probs.shape[-1]
    k = vocab if top_k is None else min(top_k, vocab)
    values, ids = probs.float().topk(k, dim=-1)  # (K, k) each
    remainder = (1.0 - values.sum(dim=-1)).clamp_min(0.0)  # (K,)
    if k == vocab:
        return ids.int(), values, torch.zeros_like(remainder), torch.zeros_like(remainder)
    rest = probs.float().scatter(-1, ids, 0.0)  # (K, V) mass outside the top k
    rest_entropy_term = torch.special.xlogy(rest, rest).sum(dim=-1)  # sum p log p over the rest
    spread = remainder / (vocab - k)
    kl = rest_entropy_term - torch.special.xlogy(rest.sum(dim=-1), spread)
    return ids.int(), values, remainder, kl.clamp_min(0.0)


@dataclass
class _RowRecord:
    steps: dict[int, int] = field(default_factory=dict)
    tokens: dict[int, int] = field(default_factory=dict)
    top_ids: dict[int, torch.Tensor] = field(default_factory=dict)
    top_probs: dict[int, torch.Tensor] = field(default_factory=dict)
    remainder: dict[int, float] = field(default_factory=dict)


class TrajectoryRecorder:
    """A `CommitObserver` that keeps each committed position's compressed distribution, by response index."""

    def __init__(self, layout: BatchLayout, top_k: int | None) -> None:
        self.layout = layout
        self.top_k = top_k
        self.rows = [_RowRecord() for _ in layout.prompt_lengths]
        self.stats = CompressionStats()

    def on_commit(self, rows: list[int], block: int, step: int, columns: list[int], tokens: torch.Tensor,
                  probs: torch.Tensor) -> None:
        top_ids, top_probs, remainder, kl = compress(probs.detach().cpu(), self.top_k)
        self.stats.add(remainder, kl)
        for i, (row, column) in enumerate(zip(rows, columns, strict=True)):
            index = column - self.layout.pads[row] - self.layout.prompt_lengths[row]  # response index
            record = self.rows[row]
            record.steps[index] = step
            record.tokens[index] = int(tokens[i])
            record.top_ids[index] = top_ids[i]
            record.top_probs[index] = top_probs[i]
            record.remainder[index] = float(remainder[i])

    def trajectory(self, row: int, record_index: int, study_id: str, stop_reason: str) -> Trajectory:
        record = self.rows[row]
        length = len(record.tokens)
        if sorted(record.tokens) != list(range(length)):
            raise RuntimeError(f"trajectory of {study_id} has gaps: positions {sorted(record.tokens)[:8]}...")
        order = range(length)
        return Trajectory(
            record_index=record_index,
            study_id=study_id,
            prompt_length=self.layout.prompt_lengths[row],
            tokens=torch.tensor([record.tokens[i] for i in order], dtype=torch.long),
            steps=torch.tensor([record.steps[i] for i in order], dtype=torch.long),
            top_ids=torch.stack([record.top_ids[i] for i in order]),
            top_probs=torch.stack([record.top_probs[i] for i in order]),
            remainder=torch.tensor([record.remainder[i] for i in order], dtype=torch.float32),
            stop_reason=stop_reason,
        )


@dataclass
class CollectionReport:
    """Counts of kept and dropped trajectories, and the storage error."""

    kept: int = 0
    dropped_loop: int = 0
    dropped_length: int = 0
    compression: CompressionStats = field(default_factory=CompressionStats)
    committed_tokens: int = 0
    denoising_steps: int = 0

    def merge(self, other: CollectionReport) -> None:
        self.kept += other.kept
        self.dropped_loop += other.dropped_loop
        self.dropped_length += other.dropped_length
        self.compression.merge(other.compression)
        self.committed_tokens += other.committed_tokens
        self.denoising_steps += other.denoising_steps

    def summary(self) -> dict:
        return {
            "kept": self.kept,
            "dropped_loop": self.dropped_loop,
            "dropped_length": self.dropped_length,
            "teacher_tokens_per_step": self.committed_tokens / max(1, self.denoising_steps),
            **self.compression.summary(),
        }


def collect_trajectories(teacher: EchoModel, examples: list[tuple[int, StudyExample]], *, block_size: int,
                         confidence_threshold: float, max_new_tokens: int, top_k: int | None, batch_size: int,
                         drop_unfinished: bool = True,
                         drop_loops: bool = True) -> tuple[list[Trajectory], CollectionReport]:
    """Decode `examples` (record index, example) with the teacher and record their trajectories."""
    config = DecodeConfig(mode=DecodeMode.MULTI_STEP, block_size=block_size, max_new_tokens=max_new_tokens,
                          confidence_threshold=confidence_threshold)
    kept: list[Trajectory] = []
    report = CollectionReport()
    for start in range(0, len(examples), batch_size):
        chunk = examples[start:start + batch_size]
        prompts = [example.prompt for _, example in chunk]
        layout = BatchLayout.for_blocks([len(p.input_ids) for p in prompts], block_size)
        recorder = TrajectoryRecorder(layout, top_k)
        reasons: dict[int, str] = {}
        for updates in decode_blocks(teacher, prompts, config, observer=recorder):
            for update in updates:
                if update.finished:
                    reasons[update.row] = update.output.stop_reason
        report.compression.merge(recorder.stats)
        for row, (record_index, example) in enumerate(chunk):
            reason = reasons.get(row, "length")
            if reason == "loop" and drop_loops:
                report.dropped_loop += 1
                continue
            if reason == "length" and drop_unfinished:
                report.dropped_length += 1
                continue
            trajectory = recorder.trajectory(row, record_index, example.study_id, reason)
            report.committed_tokens += int(trajectory.steps.numel())
            report.denoising_steps += _steps_taken(trajectory.steps, layout.prompt_lengths[row], block_size)
            kept.append(trajectory)
            report.kept += 1
    return kept, report


def _steps_taken(steps: torch.Tensor, prompt_length: int, block_size: int) -> int:
    """Return the denoising passes a trajectory used: the last commit step of each of its blocks."""
    blocks = (torch.arange(steps.numel()) + prompt_length) // block_size
    return int(sum(int(steps[blocks == block].max()) for block in blocks.unique()))


def save_shard(trajectories: list[Trajectory], folder: Path, shard: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"shard-{shard:03d}.pt"
    torch.save([asdict(trajectory) for trajectory in trajectories], path)
    return path


def write_manifest(folder: Path, report: CollectionReport, details: dict) -> None:
    manifest = {**details, **report.summary(), "shards": sorted(p.name for p in folder.glob("shard-*.pt"))}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def load_trajectories(folder: Path) -> tuple[list[Trajectory], dict]:
    """Load every shard listed in the manifest, ordered by record index."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no trajectory manifest in {folder}; run the dcd stage to collect trajectories")
    manifest = json.loads(manifest_path.read_text())
    trajectories = []
    for name in manifest["shards"]:
        trajectories.extend(Trajectory(**item) for item in torch.load(folder / name, weights_only=True))
    trajectories.sort(key=lambda trajectory: trajectory.record_index)
    return trajectories, manifest
