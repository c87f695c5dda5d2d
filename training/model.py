"""The trainable model: a Qwen2.5-VL module with a forward over packed training batches.

`TrainingModel.forward` embeds the tokens and puts the vision features in place of the
image placeholders. Features are gathered by slot rather than scattered in order, because a
sequence may contain a placeholder twice (once per copy). It then runs the stock
transformers text model with an explicit boolean 4-D mask and M-RoPE position ids, and
computes logits only at the loss positions. Everything runs inside one `forward`, so DDP and FSDP wrappers see every
parameter use.

Shapes: B rows, S row length, E hidden size, N loss positions, V vocabulary.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from engine.checkpoint import default_settings, load_checkpoint, save_checkpoint
from engine.config import CheckpointKind, EchoSettings
from engine.tokenizer import ReportTokenizer
from training.config import StageConfig
from training.sequences import Batch

logger = logging.getLogger(__name__)


class TrainingModel(nn.Module):
    """Wraps `Qwen2_5_VLForConditionalGeneration` for training on `Batch`es."""

    def __init__(self, hf_model, *, freeze_vision: bool) -> None:
        super().__init__()
        self.hf = hf_model
        self.freeze_vision = freeze_vision
        if freeze_vision:
            self.hf.model.visual.requires_grad_(False)

    def image_features(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """Return (N_features, E) vision features of every image in the batch, in order."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_vision):
            output = self.hf.model.get_image_features(pixel_values, grid_thw)
        return torch.cat(output.pooler_output)

    def forward(self, input_ids: torch.Tensor, image_slots: torch.Tensor, positions: torch.Tensor,
                attention_mask: torch.Tensor, pixel_values: torch.Tensor | None, grid_thw: torch.Tensor | None,
                loss_index: torch.Tensor) -> torch.Tensor:
        """Return float32 logits (N, V) at the flat positions `loss_index` of the (B, S) batch."""
        embeds = self.hf.model.get_input_embeddings()(input_ids)  # (B, S, E)
        if pixel_values is not None:
            features = self.image_features(pixel_values, grid_thw).to(embeds.dtype)  # (N_features, E)
            has_image = image_slots >= 0  # (B, S)
            gathered = features[image_slots.clamp(min=0)]  # (B, S, E)
            embeds = torch.where(has_image[..., None], gathered, embeds)
        hidden = self.hf.model.language_model(
            inputs_embeds=embeds, position_ids=positions, attention_mask=attention_mask, use_cache=False
        ).last_hidden_state  # (B, S, E)
        selected = hidden.reshape(-1, hidden.shape[-1])[loss_index]  # (N, E)
        return self.hf.lm_head(selected).float()  # (N, V)

    def forward_batch(self, batch: Batch) -> torch.Tensor:
        return self(batch.input_ids, batch.image_slots, batch.positions, batch.attention_mask,
                    batch.pixel_values, batch.grid_thw, batch.loss_index)


def batch_to(batch: Batch, device: torch.device) -> Batch:
    """Move the tensors the forward needs to `device`."""
    batch.input_ids = batch.input_ids.to(device)
    batch.image_slots = batch.image_slots.to(device)
    batch.positions = batch.positions.to(device)
    batch.attention_mask = batch.attention_mask.to(device)
    batch.loss_index = batch.loss_index.to(device)
    batch.labels = batch.labels.to(device)
    batch.extras = {key: value.to(device) for key, value in batch.extras.items()}
    if batch.pixel_values is not None:
        batch.pixel_values = batch.pixel_values.to(device)
        batch.grid_thw = batch.grid_thw.to(device)
    return batch


def load_initial_model(config: StageConfig, *, kind: CheckpointKind,
                       block_size: int) -> tuple[nn.Module, ReportTokenizer, EchoSettings]:
    """Load `init_from` or build a random model of `init_size`; return (hf model, tokenizer, settings).

    The settings get the stage's checkpoint kind and block size; everything else (token ids,
    vision budget, name) comes from the initial checkpoint.
    """
    if config.init_from is not None:
        echo_model, tokenizer = load_checkpoint(config.init_from)
        hf_model, settings = echo_model.hf, echo_model.settings
    else:
        hf_model, tokenizer, settings = build_random_model(config.init_size, config.tokenizer, seed=config.seed)
    settings = EchoSettings.from_dict({**settings.to_dict(), "kind": kind.value, "block_size": block_size,
                                       "name": config.model_name()})
    hf_model.train()
    if config.gradient_checkpointing:
        hf_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return hf_model, tokenizer, settings


def build_random_model(size: str, tokenizer_folder: str, *, seed: int):
    """Build a randomly initialised model of an engine.presets size around an existing tokenizer."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from engine.presets import build_hf_config

    tokenizer = ReportTokenizer.from_folder(tokenizer_folder)
    settings = default_settings(tokenizer, kind=CheckpointKind.AUTOREGRESSIVE, block_size=1, name=size)
    hf_config = build_hf_config(
        size, vocab_size=tokenizer.vocab_size, image_token_id=settings.image_token_id,
        vision_start_token_id=settings.vision_start_token_id, vision_end_token_id=settings.vision_end_token_id,
        eos_token_id=settings.eos_token_id, pad_token_id=settings.pad_token_id,
    )
    torch.manual_seed(seed)
    return Qwen2_5_VLForConditionalGeneration(hf_config), tokenizer, settings


def save_model(accelerator, model: nn.Module, tokenizer: ReportTokenizer, settings: EchoSettings,
               folder: Path) -> None:
    """Write the model in the engine's checkpoint layout from the main process.

    With FSDP the full state dict is gathered first and written with save_pretrained.
    NOTE: the FSDP branch has not been run here (no multi-GPU machine); the DDP and
    single-process branch is covered by the tests.
    """
    from accelerate.utils import DistributedType

    unwrapped = accelerator.unwrap_model(model)
    if accelerator.distributed_type == DistributedType.FSDP:
        state_dict = accelerator.get_state_dict(model)
        if accelerator.is_main_process:
            folder.mkdir(parents=True, exist_ok=True)
            state_dict = {key.removeprefix("hf."): value for key, value in state_dict.items()}
            unwrapped.hf.config.echo = settings.to_dict()
            unwrapped.hf.save_pretrained(folder, state_dict=state_dict, safe_serialization=True)
            save_checkpoint_metadata(tokenizer, settings, folder)
    elif accelerator.is_main_process:
        save_checkpoint(unwrapped.hf, tokenizer, settings, folder)
    accelerator.wait_for_everyone()


def save_checkpoint_metadata(tokenizer: ReportTokenizer, settings: EchoSettings, folder: Path) -> None:
    """Write the tokenizer and the ECHO settings beside weights written by save_pretrained."""
    import json

    tokenizer.save(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["echo"] = settings.to_dict()
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
