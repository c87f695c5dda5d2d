"""Measure wall time per optimizer step and tokens per second of each stage on this machine.

`python -m training.benchmark --sizes tiny bundled` builds a synthetic corpus (report
sentences recombined at random, synthetic greyscale views), a byte-level BPE trained on it,
and runs CPT, RAD, RAD with full duplication and DCD for a few steps per model size in one
process. Step times are medians, the first step (warm-up) left out. DCD keeps looping and
unfinished teacher trajectories, because the teacher here is barely trained; its times
exclude the teacher's trajectory collection. Tokens count every sequence position the
model runs, duplicated copies included, padding excluded. Prints a Markdown table with
the machine, threads and versions.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCES = [
    "The heart size is normal.", "Mild cardiomegaly.", "The lungs are clear.", "No pneumothorax.",
    "No pleural effusion.", "Small left pleural effusion.", "The mediastinum is midline.",
    "Right lower lobe opacity may represent atelectasis or pneumonia.", "The hila are not enlarged.",
    "The costophrenic angles are sharp.", "Degenerative changes of the thoracic spine.",
    "A right internal jugular central venous catheter ends in the superior vena cava.",
    "Mild pulmonary vascular congestion.", "No focal consolidation.", "Calcified granuloma in the left upper lobe.",
]
IMPRESSIONS = ["No acute cardiopulmonary abnormality.", "Right lower lobe pneumonia.", "Mild pulmonary edema.",
               "Small left pleural effusion.", "Cardiomegaly without edema."]


def write_corpus(folder: Path, studies: int, image_size: int, views: int, seed: int) -> Path:
    from PIL import Image

    rng = random.Random(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for number in range(studies):
        paths = []
        for view in range(views):
            pixels = np.random.default_rng(number * views + view).integers(0, 255, (image_size, image_size))
            path = f"images/{number}-{view}.png"
            Image.fromarray(pixels.astype(np.uint8)).save(folder / path)
            paths.append(path)
        findings = " ".join(rng.sample(SENTENCES, rng.randint(6, 10)))
        lines.append(json.dumps({"study_id": f"bench-{number}", "images": paths, "findings": findings,
                                 "impression": rng.choice(IMPRESSIONS), "language": "en"}))
    path = folder / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def step_stats(output_dir: Path) -> tuple[float, float, float]:
    """Return median seconds per step, tokens per second at that median, and mean tokens per step.

    The first step is left out. The median resists the slow steps that other jobs on a shared
    machine cause.
    """
    rows = [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]
    rows = rows[1:] or rows
    seconds = float(np.median([r["step_time_s"] for r in rows]))
    tokens = float(np.mean([r["tokens_per_s"] * r["step_time_s"] for r in rows]))
    return seconds, tokens / seconds, tokens


def run(sizes: list[str], steps: int, batch_size: int, image_size: int, views: int, block_size: int,
        threads: int | None = None) -> str:
    import accelerate
    import torch
    import transformers

    if threads is not None:
        torch.set_num_threads(threads)
    from engine.tokenizer import train_bilingual_bpe
    from training.config import CPTConfig, DCDConfig, RADConfig
    from training.stages import run_stage

    root = Path(tempfile.mkdtemp(prefix="echo-train-bench-"))
    data = write_corpus(root / "data", studies=4 * batch_size, image_size=image_size, views=views, seed=0)
    texts = [json.loads(line)["findings"] for line in data.read_text().splitlines()] * 8
    tokenizer = train_bilingual_bpe(texts + SENTENCES * 8, vocab_size=6000)
    tokenizer.save(root / "tokenizer")
    common = {"train_data": str(data), "batch_size": batch_size, "micro_batch_size": batch_size,
              "max_steps": steps, "learning_rate": 1e-4, "save_every": 10**6, "progress": False,
              "cache_examples": True}
    rows = []
    for size in sizes:
        out = root / size
        runs = [
            ("CPT", "cpt", CPTConfig(output_dir=str(out / "cpt"), init_size=size, tokenizer=str(root / "tokenizer"),
                                     **common)),
            ("RAD", "rad", RADConfig(output_dir=str(out / "rad"), init_from=str(out / "cpt" / "checkpoint"),
                                     block_size=block_size, **common)),
            ("RAD, full duplication", "rad", RADConfig(output_dir=str(out / "rad_full"),
                                                       init_from=str(out / "cpt" / "checkpoint"),
                                                       block_size=block_size, full_duplication=True, **common)),
            ("DCD", "dcd", DCDConfig(output_dir=str(out / "dcd"), teacher=str(out / "rad" / "checkpoint"),
                                     drop_loops=False, drop_unfinished=False, max_response_tokens=160, **common)),
        ]
        for label, stage, config in runs:
            run_stage(stage, config)
            seconds, tokens_per_s, tokens_per_step = step_stats(Path(config.output_dir))
            rows.append(f"| {size} | {label} | {seconds:.3f} | {tokens_per_step:,.0f} | {tokens_per_s:,.0f} |")

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    header = [
        f"Machine: {cpu}, {torch.get_num_threads()} torch threads; torch {torch.__version__}, "
        f"transformers {transformers.__version__}, accelerate {accelerate.__version__}.",
        f"Batch {batch_size} studies of {views} views of {image_size}x{image_size} px, block size {block_size}, "
        f"{steps} steps per run (median step time, first step left out), float32, one process, "
        f"vocabulary {tokenizer.vocab_size} tokens.",
        "",
        "| size | stage | median s / step | tokens / step | tokens / s |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(header + rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Time optimizer steps of each training stage on this machine.")
    parser.add_argument("--sizes", nargs="+", default=["tiny", "bundled"], help="engine.presets sizes")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per stage (default 6)")
    parser.add_argument("--batch-size", type=int, default=4, help="studies per step (default 4)")
    parser.add_argument("--image-size", type=int, default=256, help="side of each synthetic view in pixels")
    parser.add_argument("--views", type=int, default=2, help="views per study (default 2)")
    parser.add_argument("--block-size", type=int, default=4, help="RAD block size (default 4)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(run(args.sizes, args.steps, args.batch_size, args.image_size, args.views, args.block_size, args.threads))
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
