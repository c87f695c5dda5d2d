"""Load and save checkpoint folders.

A folder contains the transformers files (config.json, model.safetensors or shards), the
tokenizer (tokenizer.json) and the ECHO settings under the "echo" key of config.json.
Released checkpoints that lack the "echo" key can be described by `echo_settings.json`
beside config.json, or by the caller's overrides; the folder name (ECHO_block8,
ECHO_Base_block4, ...) is used as a last resort, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import torch

from engine.config import CheckpointKind, EchoSettings
from engine.imaging.model_input import VisionSpec
from engine.model import EchoModel
from engine.tokenizer import (
    IM_END,
    IMAGE_PAD,
    MASK_TOKEN,
    PAD_TOKEN,
    VISION_END,
    VISION_START,
    ReportTokenizer,
)

logger = logging.getLogger(__name__)

SETTINGS_FILE = "echo_settings.json"


def checkpoint_hash(folder: str | Path) -> str:
    """Return the SHA-256 of the weight files and config.json, as 16 hex digits."""
    folder = Path(folder)
    digest = hashlib.sha256()
    files = sorted(folder.glob("*.safetensors")) + [folder / "config.json"]
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def settings_from_name(folder: Path, tokenizer: ReportTokenizer) -> EchoSettings | None:
    """Guess settings from a released folder name such as ECHO_block8 or ECHO_Base_block4."""
    match = re.search(r"ECHO(_Base)?_block(\d+)", folder.name, flags=re.IGNORECASE)
    if match is None:
        return None
    kind = CheckpointKind.BLOCK_DIFFUSION if match.group(1) else CheckpointKind.ONE_STEP
    logger.warning("%s has no ECHO settings; assuming %s with block size %s from its name",
                   folder.name, kind.value, match.group(2))
    # The released evaluation scripts resize every view to between 256 and 2,870 visual tokens.
    vision = VisionSpec(min_pixels=256 * 28 * 28, max_pixels=2_250_000)
    settings = default_settings(tokenizer, kind=kind, block_size=int(match.group(2)), name=folder.name,
                                vision=vision, mask_token_id=_config_mask_id(folder))
    return settings


def _config_mask_id(folder: Path) -> int | None:
    """Return mask_token_id from config.json (top level or text_config), or None."""
    config = json.loads((folder / "config.json").read_text())
    for section in (config, config.get("text_config") or {}):
        if isinstance(section.get("mask_token_id"), int):
            return section["mask_token_id"]
    return None


def default_settings(tokenizer: ReportTokenizer, *, kind: CheckpointKind, block_size: int, name: str,
                     vision: VisionSpec | None = None, max_new_tokens: int = 512,
                     mask_token_id: int | None = None) -> EchoSettings:
    """Return settings whose token ids come from the tokenizer's special tokens, unless given."""
    return EchoSettings(
        kind=kind,
        block_size=block_size,
        mask_token_id=mask_token_id if mask_token_id is not None else tokenizer.token_id(MASK_TOKEN),
        eos_token_id=tokenizer.token_id(IM_END),
        pad_token_id=tokenizer.token_id(PAD_TOKEN),
        image_token_id=tokenizer.token_id(IMAGE_PAD),
        vision_start_token_id=tokenizer.token_id(VISION_START),
        vision_end_token_id=tokenizer.token_id(VISION_END),
        vision=vision or VisionSpec(),
        max_new_tokens=max_new_tokens,
        name=name,
    )


def read_config(folder: Path) -> dict:
    """Return config.json as a dict, or raise ValueError naming the file and the fix."""
    try:
        return json.loads((folder / "config.json").read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{folder.name}/config.json is not valid JSON ({error.msg} at line {error.lineno}); "
                         "restore the file from the checkpoint's source") from error


def read_settings(folder: str | Path, tokenizer: ReportTokenizer) -> EchoSettings:
    folder = Path(folder)
    config = read_config(folder)
    if "echo" in config:
        return EchoSettings.from_dict(config["echo"])
    if (folder / SETTINGS_FILE).is_file():
        return EchoSettings.from_dict(json.loads((folder / SETTINGS_FILE).read_text()))
    guessed = settings_from_name(folder, tokenizer)
    if guessed is None:
        raise ValueError(
            f"{folder} has no ECHO settings (no 'echo' key in config.json and no {SETTINGS_FILE}); "
            f"write {SETTINGS_FILE} with at least kind and block_size, for example "
            '{"kind": "one_step", "block_size": 8, ...}'
        )
    return guessed


def check_model_type(folder: Path) -> None:
    """Raise ValueError unless config.json describes a Qwen2.5-VL model, naming what it found."""
    import transformers

    config = read_config(folder)
    model_type = config.get("model_type")
    if model_type != "qwen2_5_vl":
        raise ValueError(
            f"{folder.name}/config.json has model_type {model_type!r}; ECHO-CXR loads checkpoints in the "
            "Qwen2.5-VL layout (model_type 'qwen2_5_vl'), such as the released ECHO weights"
        )
    saved_with = config.get("transformers_version")
    if saved_with and saved_with.split(".")[0] != transformers.__version__.split(".")[0]:
        logger.warning("%s was saved with transformers %s; loading it with transformers %s (pinned by ECHO-CXR)",
                       folder.name, saved_with, transformers.__version__)


def load_checkpoint(folder: str | Path, *, device: str | torch.device = "cpu",
                    dtype: torch.dtype | None = None) -> tuple[EchoModel, ReportTokenizer]:
    """Load a checkpoint folder into an EchoModel and its tokenizer. Nothing is downloaded."""
    from safetensors import SafetensorError
    from transformers import Qwen2_5_VLForConditionalGeneration
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no config.json in {folder}; pass the folder of a Qwen2.5-VL checkpoint "
            "(config.json, *.safetensors, tokenizer.json)"
        )
    check_model_type(folder)
    tokenizer = ReportTokenizer.from_folder(folder)
    settings = read_settings(folder, tokenizer)
    if dtype is None:
        dtype = torch.float32 if torch.device(device).type == "cpu" else torch.bfloat16
    try:
        hf_model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            folder, dtype=dtype, local_files_only=True, attn_implementation="sdpa"
        ).to(device)
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        # A truncated download or a Git LFS pointer in place of the weights ends up here.
        raise ValueError(f"cannot read the weights in {folder.name} ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:200]}); restore *.safetensors from the checkpoint's "
                         "source (for a git clone, run git lfs pull if the files are LFS pointers)") from error
    model = EchoModel(hf_model, settings, name=settings.name, checkpoint_hash=checkpoint_hash(folder))
    logger.info("loaded %s (%s, block %d) from %s", settings.name, settings.kind.value, settings.block_size, folder)
    return model, tokenizer


def save_checkpoint(hf_model, tokenizer: ReportTokenizer, settings: EchoSettings, folder: str | Path, *,
                    state_dict: dict | None = None) -> None:
    """Write weights as safetensors, the tokenizer and config.json with the ECHO settings inside.

    `state_dict`, when given, is written instead of the module's own, for sharded training
    (an FSDP run gathers the full state dict on the main process and passes it here).
    """
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hf_model.config.echo = settings.to_dict()
    hf_model.save_pretrained(folder, safe_serialization=True, state_dict=state_dict)
    tokenizer.save(folder)
    config = json.loads((folder / "config.json").read_text())
    if config.get("echo") != settings.to_dict():
        config["echo"] = settings.to_dict()
        (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
