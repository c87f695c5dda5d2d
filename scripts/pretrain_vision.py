"""Pretrain the vision tower of a from-scratch bundled model on image labels, then save the model.

A linear head on the mean-pooled merger output (the vision features that enter the language model)
predicts the label vector of `scripts/bundled_corpus.py` (14 NIH ChestX-ray14 labels and a viral
pneumonia flag for the COVID-19 collection) with binary cross-entropy. The head is thrown away;
the tower and merger weights go into an autoregressive checkpoint that `echo-cxr train cpt` starts
from (init_from). With --steps 0 the checkpoint keeps the random tower (the baseline).

The held-out pneumonia AUROC is measured with a fresh linear probe on the frozen tower, fitted
on the training images, so a pretrained and a random tower are compared on equal terms.

Usage: python scripts/pretrain_vision.py --labels CORPUS/labels.jsonl --test CORPUS/nih_test.jsonl
           --tokenizer TOKENIZER_DIR --out CHECKPOINT_DIR [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.checkpoint import save_checkpoint
from engine.config import EchoSettings
from engine.imaging.model_input import VisionSpec, to_model_input
from training.data import load_view
from training.model import build_random_model

logger = logging.getLogger("pretrain_vision")
IMAGE_SIDE = 224
PNEUMONIA_INDEX = 0
"""Position of "Pneumonia" in the label vector (the first key of LABEL_SENTENCES)."""


def load_patches(paths: list[str], spec: VisionSpec) -> tuple[list[torch.Tensor], list[tuple[int, int, int]]]:
    """Return each image's pixel values (patches, dim) and its (1, h, w) patch grid.

    Square images become 16 x 16 patches (64 merged tokens); other aspect ratios keep about the same area.
    """
    patches, grids = [], []
    for path in paths:
        pixel_values, grid = to_model_input(load_view(Path(path)), spec)
        patches.append(pixel_values)
        grids.append(grid)
    return patches, grids


def pooled_features(model, patches: list[torch.Tensor], grids: list[tuple[int, int, int]]) -> torch.Tensor:
    """Return (images, hidden) mean-pooled merger outputs of a batch of images."""
    output = model.model.get_image_features(torch.cat(patches), torch.tensor(grids, dtype=torch.long))
    return torch.stack([features.mean(dim=0) for features in output.pooler_output])


def features_of(model, patches: list[torch.Tensor], grids: list[tuple[int, int, int]], batch: int = 8) -> torch.Tensor:
    # Small batches: the tower's full-attention block builds one mask over all patches of the batch,
    # so its cost grows with the square of the batch size.
    with torch.no_grad():
        return torch.cat([pooled_features(model, patches[i:i + batch], grids[i:i + batch])
                          for i in range(0, len(patches), batch)])


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Return the area under the ROC curve (Mann-Whitney form; ties count one half)."""
    positives, negatives = scores[truth == 1], scores[truth == 0]
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    greater = (positives[:, None] > negatives[None, :]).sum() + 0.5 * (positives[:, None] == negatives[None, :]).sum()
    return float(greater / (len(positives) * len(negatives)))


def probe_auroc(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: np.ndarray) -> float:
    """Fit a logistic-regression probe for pneumonia on frozen features and return its test AUROC."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    probe = nn.Linear(train_x.shape[1], 1)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-2, weight_decay=1e-3)
    x, y = (train_x - mean) / std, train_y[:, PNEUMONIA_INDEX:PNEUMONIA_INDEX + 1]
    for _ in range(500):
        loss = nn.functional.binary_cross_entropy_with_logits(probe(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        scores = probe((test_x - mean) / std).squeeze(1).numpy()
    return auroc(scores, test_y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, required=True, help="labels.jsonl from scripts/bundled_corpus.py")
    parser.add_argument("--test", type=Path, required=True, help="nih_test.jsonl from scripts/bundled_corpus.py")
    parser.add_argument("--tokenizer", required=True, help="folder with tokenizer.json")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps (0 keeps the random tower)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="peak AdamW learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the image order")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    hf_model, tokenizer, settings = build_random_model("bundled", args.tokenizer, seed=args.seed)
    spec = VisionSpec(min_pixels=IMAGE_SIDE * IMAGE_SIDE, max_pixels=IMAGE_SIDE * IMAGE_SIDE)
    settings = EchoSettings.from_dict({**settings.to_dict(), "vision": {**settings.to_dict()["vision"],
                                       "min_pixels": spec.min_pixels, "max_pixels": spec.max_pixels},
                                       "name": args.out.name})

    rows = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    patches, grids = load_patches([row["path"] for row in rows], spec)
    targets = torch.tensor([row["labels"] for row in rows], dtype=torch.float32)
    test_rows = [json.loads(line) for line in args.test.read_text(encoding="utf-8").splitlines() if line.strip()]
    test_rows = [row for row in test_rows if row["language"] == "en"]
    test_patches, test_grids = load_patches([row["images"][0] for row in test_rows], spec)
    test_truth = np.array([int("Pneumonia" in row["labels"]) for row in test_rows])
    logger.info("loaded %d training and %d test images", len(rows), len(test_rows))

    hf_model.train()
    head = nn.Linear(hf_model.config.text_config.hidden_size, targets.shape[1])
    parameters = list(hf_model.model.visual.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=args.learning_rate, weight_decay=0.01)
    warmup = max(1, args.steps // 10)
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    for step in range(args.steps):
        lr = args.learning_rate * min(1.0, (step + 1) / warmup)
        lr *= 0.5 * (1 + np.cos(np.pi * max(0, step - warmup) / max(1, args.steps - warmup)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = torch.randint(len(rows), (args.batch_size,), generator=generator)
        chosen = index.tolist()
        logits = head(pooled_features(hf_model, [patches[i] for i in chosen], [grids[i] for i in chosen]))
        loss = nn.functional.binary_cross_entropy_with_logits(logits, targets[index])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        if (step + 1) % 10 == 0 or step == 0:
            logger.info("step %d loss %.4f lr %.2e (%.1f s)", step + 1, float(loss), lr, time.perf_counter() - started)

    hf_model.eval()
    score = probe_auroc(features_of(hf_model, patches, grids), targets,
                        features_of(hf_model, test_patches, test_grids),
                        test_truth)
    logger.info("held-out NIH pneumonia AUROC of a linear probe on the tower: %.3f", score)
    save_checkpoint(hf_model, tokenizer, settings, args.out)
    summary = {"steps": args.steps, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
               "wall_time_s": time.perf_counter() - started, "final_loss": float(loss) if args.steps else None,
               "heldout_pneumonia_probe_auroc": score, "train_images": len(rows), "test_images": len(test_rows)}
    (args.out / "vision_pretraining.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
