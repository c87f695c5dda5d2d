"""A toy corpus for training tests: four studies whose reports the tiny model can memorise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

TOY_BLOCK = 8
"""Block size of the toy RAD model shared by the end-to-end and launch tests."""
TOY_SHARED = {"batch_size": 4, "micro_batch_size": 4, "learning_rate": 3e-3, "warmup_ratio": 0.05,
              "weight_decay": 0.0, "save_every": 1000, "cache_examples": True, "progress": False, "seed": 0}
"""Training fields of the toy runs: they memorise the four studies in a few hundred steps."""

TOY_STUDIES = [
    ("toy-1", "en", "cough", "The heart size is normal. The lungs are clear.",
     "No acute cardiopulmonary abnormality."),
    ("toy-2", "en", "fever", "Mild cardiomegaly. Right lower lobe opacity may represent atelectasis or pneumonia.",
     "Right lower lobe opacity."),
    ("toy-3", "en", "trauma", "The mediastinum and trachea are midline. No osseous abnormality.",
     "No pneumothorax or pleural effusion."),
    ("toy-4", "zh", "", "心影大小正常。双肺清晰。", "心肺未见急性异常。"),
]


def toy_image(seed: int, size: tuple[int, int] = (64, 56)) -> np.ndarray:
    """Return a distinct 8-bit greyscale image per seed: a bright band whose place depends on the seed."""
    rng = np.random.default_rng(seed)
    height, width = size
    image = np.full(size, 40.0)
    band = (seed * 11) % (width - 12)
    image[:, band:band + 12] = 220
    image += rng.normal(0, 6, size)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_toy_corpus(folder: Path, studies=TOY_STUDIES, views: int = 1) -> Path:
    """Write PNG views and train.jsonl under `folder`; return the JSONL path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    lines = []
    for number, (study_id, language, indication, findings, impression) in enumerate(studies):
        paths = []
        for view in range(views):
            path = f"images/{study_id}-{view}.png"
            Image.fromarray(toy_image(number * 7 + view)).save(folder / path)
            paths.append(path)
        lines.append(json.dumps({"study_id": study_id, "images": paths, "findings": findings,
                                 "impression": impression, "language": language, "indication": indication,
                                 "source": "toy"}, ensure_ascii=False))
    path = folder / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def save_tiny_tokenizer(folder: Path) -> Path:
    """Save the shared tiny bilingual tokenizer into `folder` and return it."""
    shared_conftest = _load_shared_conftest()
    shared_conftest.build_tiny_tokenizer().save(folder)
    return folder


def _load_shared_conftest():
    """Import tests/conftest.py by path; the name `conftest` resolves to this folder's own."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("shared_test_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
