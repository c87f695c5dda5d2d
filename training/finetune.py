"""Site fine-tuning: de-identify reviewed studies, continue training, compare, register a candidate.

1. Build the de-identified site dataset and hold out `heldout_fraction` of it
   (training.site_data).
2. Continue training the current model (`init_from`) on the rest. The loss follows the
   model's kind unless `objective` sets another: autoregressive -> CPT, block diffusion
   -> RAD, one-step -> RAD with every block fully masked (the input of one-step decoding),
   so the fine-tuned model keeps its kind and decoder.
3. Draft the held-out studies with the current model and with the fine-tuned one, each in
   its default decoding mode, and score them with ROUGE-L (engine.metrics.lexical) and
   exact match.
4. Register the result as a candidate with its config and both sets of metrics. It is not
   promoted: promotion is `echo-cxr registry promote`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from engine.checkpoint import read_settings
from engine.config import CheckpointKind
from engine.tokenizer import ReportTokenizer
from training.config import CPTConfig, FinetuneConfig, RADConfig
from training.data import format_target, load_view, read_records
from training.registry import ModelRegistry
from training.site_data import build_site_dataset
from training.stages import CPTStage, RADStage
from training.trainer import CHECKPOINT_DIR, train

logger = logging.getLogger(__name__)


def evaluate_checkpoint(folder: Path, records_path: Path, *, max_studies: int | None) -> dict:
    """Draft held-out studies with a checkpoint and return ROUGE-L and exact match against the reports."""
    import torch

    from engine.metrics.lexical import rouge_l
    from engine.metrics.text import tokenizer_for
    from engine.pipeline import DraftRequest, ReportGenerator

    records = read_records(records_path, limit=max_studies)
    generator = ReportGenerator.from_folder(folder, device="cuda" if torch.cuda.is_available() else "cpu")
    config = generator.decode_config()
    requests = [DraftRequest([load_view(records_path.parent / p) for p in r.images], r.language,
                             r.indication or None) for r in records]
    drafts = generator.generate(requests, config)
    references = [format_target(r.findings, r.impression, r.language) for r in records]
    candidates = [draft.text for draft in drafts]
    tokenise = [tokenizer_for(r.language, chinese="characters") for r in records]
    score, _ = rouge_l([t(c) for t, c in zip(tokenise, candidates, strict=True)],
                       [t(ref) for t, ref in zip(tokenise, references, strict=True)])
    exact = sum(c.strip() == ref.strip() for c, ref in zip(candidates, references, strict=True)) / len(records)
    return {"rouge_l": score, "exact_match": exact, "studies": len(records), "mode": config.mode.value}


def training_config(config: FinetuneConfig, train_path: Path, output_dir: Path, kind: CheckpointKind,
                    block_size: int) -> CPTConfig | RADConfig:
    """Return the stage config that continues training the current model on the site's studies."""
    shared = {field.name: getattr(config, field.name) for field in dataclasses.fields(CPTConfig)}
    shared.update(output_dir=str(output_dir), train_data=str(train_path), image_root=str(train_path.parent),
                  name=config.candidate or config.model_name())
    objective = config.objective
    if objective == "auto":
        objective = {CheckpointKind.AUTOREGRESSIVE: "cpt", CheckpointKind.BLOCK_DIFFUSION: "rad",
                     CheckpointKind.ONE_STEP: "one_step"}[kind]
    if objective == "cpt":
        if kind is not CheckpointKind.AUTOREGRESSIVE:
            raise ValueError(f"objective cpt needs an autoregressive model; {config.init_from} is {kind.value}")
        return CPTConfig(**shared)
    if kind is CheckpointKind.AUTOREGRESSIVE:
        raise ValueError(f"objective {objective} needs a block-diffusion model; {config.init_from} is autoregressive")
    return RADConfig(**shared, block_size=block_size, loss_normalization=config.loss_normalization,
                     mask_ratio=1.0 if objective == "one_step" else None)


def run_finetune(config: FinetuneConfig) -> dict:
    """Run the whole site fine-tuning and return the registered candidate's information."""
    output = Path(config.output_dir)
    base = Path(config.init_from)
    settings = read_settings(base, ReportTokenizer.from_folder(base))
    block_size = settings.block_size if settings.kind is not CheckpointKind.AUTOREGRESSIVE else 1
    if config.block_size is not None and config.block_size != block_size and block_size > 1:
        logger.warning("ignoring block_size=%d: %s was trained with block size %d", config.block_size, base, block_size)

    # 1. De-identified site dataset.
    train_path, heldout_path, deid = build_site_dataset(
        Path(config.site_data), output / "site_data", language=config.language,
        heldout_fraction=config.heldout_fraction, seed=config.seed)

    # 2. Continue training with the objective of the model's kind.
    stage_config = training_config(config, train_path, output / "train", settings.kind, block_size)
    if isinstance(stage_config, RADConfig):
        stage = RADStage(stage_config, kind=settings.kind)
    else:
        stage = CPTStage(stage_config)
    summary = train(stage_config, stage)

    # 3. Compare on the held-out studies, then 4. register the candidate.
    candidate_folder = output / "train" / CHECKPOINT_DIR
    metrics = {
        "base": evaluate_checkpoint(base, heldout_path, max_studies=config.max_eval_studies),
        "candidate": evaluate_checkpoint(candidate_folder, heldout_path, max_studies=config.max_eval_studies),
    }
    info = {
        "base_model": str(base),
        "config": dataclasses.asdict(config),
        "training": {key: summary[key] for key in ("steps", "first_loss", "final_loss", "wall_time_s")},
        "site_data": deid,
        "metrics": metrics,
    }
    registry = ModelRegistry(config.registry)
    candidate = registry.register(config.candidate or config.model_name(), candidate_folder, info)
    if candidate.regressed:
        logger.warning("candidate %s scored below its base model on the held-out studies; it stays a candidate",
                       candidate.name)
    return candidate.info
