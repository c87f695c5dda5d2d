"""Speed benchmark: autoregressive, multi-step, one-step unfused and one-step fused, in one process.

Every arm decodes the same studies with the same weights. The autoregressive arm uses an
autoregressive checkpoint when one is given, and otherwise the same weights, because the
per-pass cost depends only on the model size. Arms are interleaved in a shuffled order inside each repeat, so machine drift
hits all of them alike, and every ratio comes from the same run. Decode time excludes
image encoding and prefill; generated tokens count up to and including the end token.

The per-pass cost curve times single passes of 1, B and 2B query tokens at the report's
cache length. On a CPU it bounds the gains: one-step fused can beat autoregressive
decoding by at most B * t(1) / t(2B), and unfused one-step by at most 2 * t(B) / t(2B),
unless a pass skips work a full pass does (the fused pass skips the output head on its
committed half).
"""

from __future__ import annotations

import json
import logging
import platform
import random
import statistics
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from engine.config import DecodeMode
from engine.pipeline import DraftRequest, ReportGenerator

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchConfig:
    """Settings of one benchmark run."""

    block_size: int = 8
    studies: int = 4
    """Studies decoded per repeat by every arm."""
    repeats: int = 3
    """Timed repeats per study and arm, after one warm-up."""
    max_new_tokens: int = 128
    natural_eos: bool = False
    """False forces exactly max_new_tokens tokens per report (clean throughput); True stops at the end token."""
    threads: int = 2
    seed: int = 0
    cost_curve_repeats: int = 30


@dataclass
class ArmResult:
    name: str
    tokens_per_forward: float
    decode_tokens_per_s: float
    median_latency_ms: float
    median_decode_ms: float
    generated_tokens: float
    forward_passes: float
    speedup_vs_ar: float = 0.0


@dataclass
class BenchResult:
    machine: dict
    config: dict
    model: dict
    arms: list[ArmResult]
    fused_vs_unfused: float
    cost_curve_ms: dict
    limit_vs_ar: float
    limit_fused_vs_unfused: float
    fraction_of_limit_vs_ar: float
    fraction_of_limit_fused_vs_unfused: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def machine_info(threads: int) -> dict:
    """Return the CPU model, core count, threads and library versions."""
    import os

    import transformers

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    device = "cpu"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "device": device,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def synthetic_studies(count: int, seed: int, size: int = 224) -> list[np.ndarray]:
    """Return chest-like 8-bit test images; speed does not depend on their content."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        image = np.full((size, size), 190.0)
        image[size // 6: size * 5 // 6, size // 8: size * 3 // 8] = 70
        image[size // 6: size * 5 // 6, size * 5 // 8: size * 7 // 8] = 75
        image += rng.normal(0, 15, (size, size))
        images.append(np.clip(image, 0, 255).astype(np.uint8))
    return images


def _arms(generator: ReportGenerator, ar_generator: ReportGenerator, config: BenchConfig) -> dict:
    common = {"block_size": config.block_size, "max_new_tokens": config.max_new_tokens,
              "stop_at_eos": config.natural_eos}
    return {
        "ar": (ar_generator, ar_generator.decode_config(mode=DecodeMode.AR, **common)),
        "multi-step": (generator, generator.decode_config(mode=DecodeMode.MULTI_STEP, **common)),
        "one-step-unfused": (generator, generator.decode_config(mode=DecodeMode.ONE_STEP, fused_cache=False,
                                                               **common)),
        "one-step-fused": (generator, generator.decode_config(mode=DecodeMode.ONE_STEP, fused_cache=True,
                                                             **common)),
    }


def measure_cost_curve(generator: ReportGenerator, request: DraftRequest, block_size: int, cache_length_extra: int,
                       repeats: int) -> dict:
    """Time passes of 1, B and 2B query tokens (logits for all of them) at a report's cache length.

    Also times the fused pass as decoding runs it: 2B tokens with logits for the last B only.
    """
    from engine.decoding.canvas import Canvas
    from engine.layout import BatchLayout

    model = generator.model
    prompt = generator.prepare(request)
    layout = BatchLayout.for_blocks([len(prompt.input_ids)], block_size)
    canvas = Canvas(model, [prompt], layout, max_new_tokens=cache_length_extra + 4 * block_size,
                    block_size=block_size)
    start = layout.first_block * block_size
    canvas.prefill(start, mask="block", logits_start=None)
    context_end = start + (cache_length_extra // block_size) * block_size
    canvas.run(start, context_end, keep=context_end - start, logits_start=None, purpose="prefill", mask="block")

    def timed(length: int, logits_start: int) -> float:
        samples = []
        for _ in range(repeats + 3):
            began = time.perf_counter()
            canvas.run(context_end, context_end + length, keep=0, logits_start=logits_start, purpose="prefill",
                       mask="block")
            samples.append((time.perf_counter() - began) * 1000)
        return statistics.median(samples[3:])

    curve = {
        "cache_length": context_end,
        "t1": timed(1, 0),
        "tB": timed(block_size, 0),
        "t2B": timed(2 * block_size, 0),
        "t2B_logits_on_B": timed(2 * block_size, block_size),
    }
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in curve.items()}


def run_benchmark(generator: ReportGenerator, config: BenchConfig, *, ar_generator: ReportGenerator | None = None,
                  images: list[np.ndarray] | None = None, notes: list[str] | None = None) -> BenchResult:
    """Run every arm on the same studies and return medians, ratios and the cost curve."""
    torch.set_num_threads(config.threads)
    ar_generator = ar_generator or generator
    images = images or synthetic_studies(config.studies, config.seed)
    requests = [DraftRequest([images[i % len(images)]], "en") for i in range(config.studies)]
    arms = _arms(generator, ar_generator, config)
    samples: dict[str, list] = {name: [] for name in arms}
    rng = random.Random(config.seed)

    # 1. Warm up every arm once.
    for generator_arm, decode_config in arms.values():
        generator_arm.generate(requests[:1], decode_config)

    # 2. Timed repeats, arms shuffled within each (study, repeat) pair.
    for repeat in range(config.repeats):
        for index, request in enumerate(requests):
            order = list(arms)
            rng.shuffle(order)
            for name in order:
                generator_arm, decode_config = arms[name]
                report = generator_arm.generate([request], decode_config)[0]
                samples[name].append(report)
            logger.info("repeat %d study %d done", repeat + 1, index + 1)

    # 3. Medians per arm and ratios to autoregressive decoding.
    results = []
    for name, reports in samples.items():
        tokens = sum(r.generated_tokens for r in reports)
        decode_ms = sum(r.timings_ms.decode for r in reports)
        passes = sum(r.forward_passes for r in reports)
        results.append(ArmResult(
            name=name,
            tokens_per_forward=round(tokens / passes, 3),
            decode_tokens_per_s=round(statistics.median(
                r.generated_tokens / (r.timings_ms.decode / 1000) for r in reports), 2),
            median_latency_ms=round(statistics.median(r.timings_ms.total for r in reports), 2),
            median_decode_ms=round(statistics.median(r.timings_ms.decode for r in reports), 2),
            generated_tokens=round(tokens / len(reports), 2),
            forward_passes=round(passes / len(reports), 2),
        ))
        logger.info("%s: %d tokens in %.1f ms", name, tokens, decode_ms)
    by_name = {arm.name: arm for arm in results}
    for arm in results:
        arm.speedup_vs_ar = round(arm.decode_tokens_per_s / by_name["ar"].decode_tokens_per_s, 3)
    fused_vs_unfused = by_name["one-step-fused"].decode_tokens_per_s / by_name["one-step-unfused"].decode_tokens_per_s

    # 4. Per-pass cost curve at the report's cache length, and the limits it implies.
    curve = measure_cost_curve(generator, requests[0], config.block_size, config.max_new_tokens // 2,
                               config.cost_curve_repeats)
    size = config.block_size
    limit_vs_ar = size * curve["t1"] / curve["t2B"]
    limit_fused = 2 * curve["tB"] / curve["t2B"]
    return BenchResult(
        machine=machine_info(config.threads),
        config=asdict(config),
        model={"name": generator.model.name, "hash": generator.model.checkpoint_hash,
               "parameters_millions": round(sum(p.numel() for p in generator.model.hf.parameters()) / 1e6, 2),
               "ar_model": ar_generator.model.name},
        arms=results,
        fused_vs_unfused=round(fused_vs_unfused, 3),
        cost_curve_ms=curve,
        limit_vs_ar=round(limit_vs_ar, 3),
        limit_fused_vs_unfused=round(limit_fused, 3),
        fraction_of_limit_vs_ar=round(by_name["one-step-fused"].speedup_vs_ar / limit_vs_ar, 3),
        fraction_of_limit_fused_vs_unfused=round(fused_vs_unfused / limit_fused, 3),
        notes=list(notes or []),
    )


def format_table(result: BenchResult) -> str:
    """Render a benchmark result as a plain-text table."""
    lines = [
        f"machine: {result.machine['cpu']}, {result.machine['torch_threads']} threads, "
        f"torch {result.machine['torch']}, transformers {result.machine['transformers']}",
        f"model: {result.model['name']} ({result.model['parameters_millions']} M parameters), "
        f"block {result.config['block_size']}, {result.config['max_new_tokens']} new tokens, "
        f"{'natural end' if result.config['natural_eos'] else 'forced length'}",
        "",
        f"{'arm':<18}{'TPF':>7}{'decode tok/s':>14}{'latency ms':>12}{'vs AR':>8}",
    ]
    for arm in result.arms:
        lines.append(f"{arm.name:<18}{arm.tokens_per_forward:>7.2f}{arm.decode_tokens_per_s:>14.1f}"
                     f"{arm.median_latency_ms:>12.1f}{arm.speedup_vs_ar:>8.2f}")
    curve = result.cost_curve_ms
    lines += [
        "",
        f"fused_vs_unfused: {result.fused_vs_unfused:.3f}",
        f"pass cost at cache length {curve['cache_length']}: t(1) {curve['t1']:.3f} ms, "
        f"t(B) {curve['tB']:.3f} ms, t(2B) {curve['t2B']:.3f} ms, "
        f"t(2B, logits on B) {curve['t2B_logits_on_B']:.3f} ms",
        f"limit_vs_ar: {result.limit_vs_ar:.3f} (achieved {result.fraction_of_limit_vs_ar:.1%})",
        f"limit_fused_vs_unfused: {result.limit_fused_vs_unfused:.3f} "
        f"(achieved {result.fraction_of_limit_fused_vs_unfused:.1%})",
    ]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def result_json(result: BenchResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)


def random_generator(*, size: str = "bundled", vocab_size: int = 4000, block_size: int = 8,
                     seed: int = 0) -> ReportGenerator:
    """Build a randomly initialised model of a preset size, for timing before a trained model exists.

    Its tokenizer contains only the special tokens and the 256 byte tokens. The model's
    vocabulary is `vocab_size`, so the output head costs what a trained model's would.
    """
    from transformers import Qwen2_5_VLForConditionalGeneration

    from engine.checkpoint import default_settings
    from engine.config import CheckpointKind
    from engine.imaging.model_input import VisionSpec
    from engine.model import EchoModel
    from engine.presets import build_hf_config
    from engine.tokenizer import train_bilingual_bpe

    tokenizer = train_bilingual_bpe([], vocab_size=300, min_frequency=1)
    settings = default_settings(tokenizer, kind=CheckpointKind.ONE_STEP, block_size=block_size,
                                name=f"random-{size}", vision=VisionSpec(min_pixels=224 * 224, max_pixels=224 * 224))
    config = build_hf_config(size, vocab_size=vocab_size, image_token_id=settings.image_token_id,
                             vision_start_token_id=settings.vision_start_token_id,
                             vision_end_token_id=settings.vision_end_token_id,
                             eos_token_id=settings.eos_token_id, pad_token_id=settings.pad_token_id)
    torch.manual_seed(seed)
    hf_model = Qwen2_5_VLForConditionalGeneration(config)
    model = EchoModel(hf_model, settings, name=f"random-{size}", checkpoint_hash="random-init")
    return ReportGenerator(model, tokenizer)
