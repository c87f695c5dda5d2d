"""Shared fixtures: a tiny bilingual tokenizer and tiny random Qwen2.5-VL checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

CORPUS = [
    "Findings: The heart size is normal. The lungs are clear. No pneumothorax or pleural effusion.",
    "Impression: No acute cardiopulmonary abnormality.",
    "The mediastinum and trachea are midline. The hila are not enlarged.",
    "The diaphragms are smooth and the costophrenic angles are sharp. No osseous abnormality.",
    "Mild cardiomegaly. Right lower lobe opacity may represent atelectasis or pneumonia.",
    "所见：心影大小正常。双肺清晰。未见气胸或胸腔积液。纵隔及气管居中。",
    "结论：心肺未见急性异常。膈面光滑，肋膈角锐利。骨质未见异常。",
    "右下肺野见片状密度增高影，考虑肺炎或肺不张。",
]


def build_tiny_tokenizer():
    from engine.tokenizer import train_bilingual_bpe

    return train_bilingual_bpe(CORPUS * 4, vocab_size=400, min_frequency=2)


def build_tiny_checkpoint(folder: Path, *, kind: str = "block_diffusion", block_size: int = 4,
                          seed: int = 0, size: str = "tiny") -> Path:
    """Save a randomly initialised checkpoint of the given kind into `folder`."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from engine.checkpoint import default_settings, save_checkpoint
    from engine.config import CheckpointKind
    from engine.imaging.model_input import VisionSpec
    from engine.presets import build_hf_config

    tokenizer = build_tiny_tokenizer()
    settings = default_settings(
        tokenizer, kind=CheckpointKind(kind), block_size=block_size, name=f"tiny-{kind}",
        vision=VisionSpec(min_pixels=56 * 56, max_pixels=84 * 84), max_new_tokens=48,
    )
    config = build_hf_config(
        size, vocab_size=tokenizer.vocab_size, image_token_id=settings.image_token_id,
        vision_start_token_id=settings.vision_start_token_id, vision_end_token_id=settings.vision_end_token_id,
        eos_token_id=settings.eos_token_id, pad_token_id=settings.pad_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    with torch.no_grad():
        # Larger random weights make each position's prediction depend on its neighbours
        # and its position, so a block's tokens differ and confidences spread over (0, 1).
        generator = torch.Generator().manual_seed(seed)
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.5 / parameter.shape[1] ** 0.5 * 4, generator=generator)
    save_checkpoint(model, tokenizer, settings, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny-block4")


@pytest.fixture(scope="session")
def tiny_generator(tiny_folder):
    from engine.pipeline import ReportGenerator

    return ReportGenerator.from_folder(tiny_folder)


def radiograph(seed: int, size: tuple[int, int] = (80, 72)) -> np.ndarray:
    """Return a synthetic 8-bit chest-like image: dark lungs either side of a bright mediastinum."""
    rng = np.random.default_rng(seed)
    height, width = size
    image = np.full(size, 200, dtype=np.float64)
    image[height // 6: height * 5 // 6, width // 8: width * 3 // 8] = 60
    image[height // 6: height * 5 // 6, width * 5 // 8: width * 7 // 8] = 70
    image += rng.normal(0, 12, size)
    return np.clip(image, 0, 255).astype(np.uint8)
