"""The three ECHO training stages as `Stage`s of the shared loop, and their entry points.

- CPT (ECHO-AR): [C | R] with a causal mask, next-token cross-entropy on the report only.
- RAD (ECHO-Base): [C | clean R | noisy copy] (see training.sequences), per-block mask ratio
  t ~ U(0, 1], cross-entropy at masked positions.
- DCD (ECHO): trajectories from the frozen teacher, then the RAD layout with the teacher's
  pseudo-labels as the clean copy and fully masked blocks as the noisy copy, fitted to the
  recorded distributions (see training.losses).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from engine.config import CheckpointKind, EchoSettings
from engine.decoding.sampling import banned_token_ids
from engine.tokenizer import ReportTokenizer
from training.config import CPTConfig, DCDConfig, RADConfig, StageConfig
from training.data import ExampleBuilder, ReportRecord, StudyExample, proportional_sample, read_records
from training.losses import LossTerm, cross_entropy_sum, dcd_terms
from training.sequences import (
    Batch,
    Segment,
    ar_segment,
    collate,
    make_position_fn,
    pad_to_block,
    rad_segment,
    sample_block_noise,
)
from training.trainer import train
from training.trajectories import (
    CollectionReport,
    Trajectory,
    collect_trajectories,
    load_trajectories,
    save_shard,
    write_manifest,
)

logger = logging.getLogger(__name__)


class ReportStage:
    """Common data handling: records, the example builder and M-RoPE positions."""

    kind: CheckpointKind
    block_size: int

    def __init__(self, config: StageConfig, records: list[ReportRecord] | None = None) -> None:
        self.config = config
        self.records = records

    def prepare(self, hf_model, tokenizer: ReportTokenizer, settings: EchoSettings, accelerator) -> int:
        config = self.config
        if self.records is None:
            self.records = read_records(config.train_data, limit=config.max_samples)
        root = Path(config.image_root) if config.image_root else Path(config.train_data).parent
        self.settings = settings
        self.tokenizer = tokenizer
        self.builder = ExampleBuilder(tokenizer, settings, root, config.max_response_tokens,
                                      cache={} if config.cache_examples else None)
        self.position_fn = make_position_fn(hf_model, settings.image_token_id)
        with_images = [i for i, record in enumerate(self.records) if record.images]
        self.stream = list(range(len(self.records))) + with_images * (config.image_repeats - 1)
        if config.image_repeats > 1:
            logger.info("%d of %d studies have images; each is shown %d times per epoch (%d samples)",
                        len(with_images), len(self.records), config.image_repeats, len(self.stream))
        return len(self.stream)

    def example(self, index: int) -> StudyExample:
        """Return the example at position `index` of the epoch's sample list (repeats included)."""
        return self.record_example(self.stream[index])

    def record_example(self, record_index: int) -> StudyExample:
        return self.builder.build(self.records[record_index], record_index)

    def collate(self, segments: list[Segment]) -> Batch:
        return collate(segments, pad_id=self.settings.pad_token_id, pack_tokens=self.config.pack_tokens)


class CPTStage(ReportStage):
    """Autoregressive fine-tuning on the report tokens."""

    kind = CheckpointKind.AUTOREGRESSIVE
    block_size = 1

    def make_batch(self, indices: list[int], generator: torch.Generator) -> Batch:
        segments = []
        for index in indices:
            example = self.example(index)
            prompt = example.prompt
            segments.append(ar_segment(prompt.input_ids, example.response_ids, pixel_values=prompt.pixel_values,
                                       grid_thw=prompt.grid_thw, position_fn=self.position_fn,
                                       image_token_id=self.settings.image_token_id))
        return self.collate(segments)

    def normalisers(self, batch: Batch) -> dict[str, float]:
        return {"ce": float(batch.labels.numel())}

    def loss_terms(self, logits: torch.Tensor, batch: Batch) -> dict[str, LossTerm]:
        return {"ce": LossTerm(cross_entropy_sum(logits, batch.labels), float(batch.labels.numel()))}


class RADStage(ReportStage):
    """Response-asymmetric diffusion: masked cross-entropy on the noisy copy of the response."""

    kind = CheckpointKind.BLOCK_DIFFUSION

    def __init__(self, config: RADConfig, records: list[ReportRecord] | None = None, *,
                 kind: CheckpointKind = CheckpointKind.BLOCK_DIFFUSION) -> None:
        super().__init__(config, records)
        self.block_size = config.block_size
        self.kind = kind

    def segment(self, example: StudyExample, generator: torch.Generator) -> tuple[Segment, int]:
        """Return the sample's RAD segment and its padded response length."""
        config, settings = self.config, self.settings
        prompt = example.prompt
        prompt_length = len(prompt.input_ids)
        response = pad_to_block(prompt_length, example.response_ids, config.block_size, settings.eos_token_id)
        noisy, ratios = sample_block_noise(prompt_length, response, block_size=config.block_size,
                                           mask_id=settings.mask_token_id, generator=generator,
                                           mask_ratio=config.mask_ratio)
        segment = rad_segment(prompt.input_ids, response, noisy, block_size=config.block_size,
                              mask_id=settings.mask_token_id, pixel_values=prompt.pixel_values,
                              grid_thw=prompt.grid_thw, position_fn=self.position_fn,
                              image_token_id=settings.image_token_id, full_duplication=config.full_duplication,
                              extras={"mask_ratio": torch.tensor(ratios)})
        return segment, len(response)

    def make_batch(self, indices: list[int], generator: torch.Generator) -> Batch:
        segments, response_tokens = [], 0
        for index in indices:
            segment, length = self.segment(self.example(index), generator)
            segments.append(segment)
            response_tokens += length
        batch = self.collate(segments)
        batch.totals["response_tokens"] = float(response_tokens)
        return batch

    def normalisers(self, batch: Batch) -> dict[str, float]:
        if self.config.loss_normalization == "elbo":
            return {"ce": batch.totals["response_tokens"]}
        return {"ce": float(batch.labels.numel())}

    def loss_terms(self, logits: torch.Tensor, batch: Batch) -> dict[str, LossTerm]:
        weights = None
        if self.config.loss_normalization == "elbo":
            weights = 1.0 / batch.extras["mask_ratio"]
        numerator = cross_entropy_sum(logits, batch.labels, weights)
        return {"ce": LossTerm(numerator, self.normalisers(batch)["ce"])}


class DCDStage(ReportStage):
    """Direct conditional distillation of the teacher's trajectories into one step per block."""

    kind = CheckpointKind.ONE_STEP

    def __init__(self, config: DCDConfig, records: list[ReportRecord] | None = None) -> None:
        super().__init__(config, records)
        from engine.checkpoint import read_settings

        teacher_settings = read_settings(config.teacher, ReportTokenizer.from_folder(config.teacher))
        if teacher_settings.kind is not CheckpointKind.BLOCK_DIFFUSION:
            raise ValueError(
                f"teacher {config.teacher} is a {teacher_settings.kind.value} checkpoint; DCD distils a "
                "block_diffusion (ECHO-Base) checkpoint from the rad stage"
            )
        self.block_size = teacher_settings.block_size
        self.trajectories: list[Trajectory] = []
        self.manifest: dict = {}

    def prepare(self, hf_model, tokenizer: ReportTokenizer, settings: EchoSettings, accelerator) -> int:
        super().prepare(hf_model, tokenizer, settings, accelerator)
        self.banned = banned_token_ids(settings, torch.device("cpu"))
        folder = self.config.trajectory_dir()
        if not (folder / "manifest.json").is_file():
            self.collect(folder, accelerator)
        self.trajectories, self.manifest = load_trajectories(folder)
        if not self.trajectories:
            raise ValueError(f"every teacher trajectory in {folder} was dropped; nothing to distil")
        logger.info("distilling %d trajectories from %s", len(self.trajectories), folder)
        return len(self.trajectories)

    def collect(self, folder: Path, accelerator) -> None:
        """Decode this process's share of the chosen studies with the teacher and write a shard."""
        from accelerate.utils import gather_object

        from engine.checkpoint import load_checkpoint

        config = self.config
        chosen = proportional_sample(self.records, config.num_trajectories, config.seed,
                                     image_repeats=config.image_repeats)
        mine = chosen[accelerator.process_index::accelerator.num_processes]
        teacher, _ = load_checkpoint(config.teacher, device=accelerator.device)
        examples = [(index, self.record_example(index)) for index in mine]
        trajectories, report = collect_trajectories(
            teacher, examples, block_size=self.block_size, confidence_threshold=config.confidence_threshold,
            max_new_tokens=config.max_response_tokens, top_k=config.top_k, batch_size=config.collect_batch_size,
            drop_unfinished=config.drop_unfinished, drop_loops=config.drop_loops,
        )
        del teacher
        save_shard(trajectories, folder, accelerator.process_index)
        reports = gather_object([report])
        if accelerator.is_main_process:
            total = CollectionReport()
            for item in reports:
                total.merge(item)
            write_manifest(folder, total, {
                "teacher": str(config.teacher), "block_size": self.block_size, "top_k": config.top_k,
                "confidence_threshold": config.confidence_threshold, "studies": len(chosen),
            })
            logger.info("collected trajectories: %s", total.summary())
        accelerator.wait_for_everyone()

    def segment(self, trajectory: Trajectory) -> Segment:
        settings = self.settings
        prompt = self.record_example(trajectory.record_index).prompt
        if len(prompt.input_ids) != trajectory.prompt_length:
            raise ValueError(
                f"study {trajectory.study_id} now has a {len(prompt.input_ids)}-token prompt but its trajectory "
                f"was recorded with {trajectory.prompt_length}; collect the trajectories again"
            )
        tokens = trajectory.tokens.tolist()
        eos_mask = trajectory.tokens == settings.eos_token_id
        if self.config.eos_positions == "first" and bool(eos_mask.any()):
            first = int(eos_mask.nonzero()[0])
            eos_mask = torch.zeros_like(eos_mask)
            eos_mask[first] = True
        extras = {
            "top_ids": trajectory.top_ids.long(),
            "top_probs": trajectory.top_probs.float(),
            "remainder": trajectory.remainder.float(),
            "steps": trajectory.steps,
            "eos_mask": eos_mask,
        }
        return rad_segment(prompt.input_ids, tokens, [settings.mask_token_id] * len(tokens),
                           block_size=self.block_size, mask_id=settings.mask_token_id,
                           pixel_values=prompt.pixel_values, grid_thw=prompt.grid_thw, position_fn=self.position_fn,
                           image_token_id=settings.image_token_id, extras=extras)

    def make_batch(self, indices: list[int], generator: torch.Generator) -> Batch:
        return self.collate([self.segment(self.trajectories[index]) for index in indices])

    def normalisers(self, batch: Batch) -> dict[str, float]:
        steps = batch.extras["steps"]
        kl = float(steps.sum()) if self.config.step_weights else float(steps.numel())
        result = {"kl": kl}
        if self.config.eos_loss_weight > 0:
            result["eos"] = float(batch.extras["eos_mask"].sum())
        return result

    def loss_terms(self, logits: torch.Tensor, batch: Batch) -> dict[str, LossTerm]:
        config = self.config
        return dcd_terms(
            logits, top_ids=batch.extras["top_ids"], top_probs=batch.extras["top_probs"],
            remainder=batch.extras["remainder"], steps=batch.extras["steps"], eos_mask=batch.extras["eos_mask"],
            eos_id=self.settings.eos_token_id, banned_ids=self.banned.to(logits.device),
            step_weights=config.step_weights, divergence=config.divergence, eos_loss_weight=config.eos_loss_weight,
        )


def run_stage(name: str, config: StageConfig, **kwargs) -> dict:
    """Train one stage ("cpt", "rad" or "dcd") and return its summary."""
    if name == "cpt":
        if not isinstance(config, CPTConfig):
            raise TypeError(f"the cpt stage needs a CPTConfig, got {type(config).__name__}")
        return train(config, CPTStage(config), **kwargs)
    if name == "rad":
        if not isinstance(config, RADConfig):
            raise TypeError(f"the rad stage needs a RADConfig, got {type(config).__name__}")
        return train(config, RADStage(config), **kwargs)
    if name == "dcd":
        if not isinstance(config, DCDConfig):
            raise TypeError(f"the dcd stage needs a DCDConfig, got {type(config).__name__}")
        return train(config, DCDStage(config), **kwargs)
    raise ValueError(f"unknown training stage {name!r}; choose one of: cpt, rad, dcd (finetune has its own entry)")
