"""Perplexity of a draft under a scoring causal language model loaded from a local folder.

As in the ECHO paper's stability check, the instruction prompt is a plain-text prefix that is
fed to the model but masked out of the loss, so only the response tokens are scored:
PPL = exp(mean negative log-likelihood of the response tokens), per sample, and the reported
value is the mean of the per-sample perplexities. The ECHO paper used Qwen3-1.7B in fp16; any
`AutoModelForCausalLM` folder works here, and its name is printed beside the score.

The prefix and the response are tokenised separately and their ids concatenated, so the
boundary between masked and scored tokens is exact. The response gets no special tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from engine.metrics.errors import MetricUnavailableError
from engine.metrics.text import is_empty_text


def instruction_prefix(language: str) -> str:
    """Return the project's drafting instruction in `language`, used as the masked prefix."""
    from engine.prompts import INSTRUCTIONS

    return INSTRUCTIONS[language]


class PerplexityScorer:
    """A causal language model and its tokenizer, loaded with local_files_only=True."""

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(folder)
        if not (path / "config.json").is_file():
            raise MetricUnavailableError(
                f"perplexity model folder {path} has no config.json; pass a folder saved with "
                "save_pretrained that holds a causal language model and its tokenizer"
            )
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(device).eval()
        self.device = device
        self.name = getattr(self.model.config, "name_or_path", "") or path.name
        self.name = Path(self.name).name or str(path)
        self._torch = torch

    def response_nll(self, prefix: str, response: str) -> tuple[float, int]:
        """Return (summed negative log-likelihood, token count) of `response` after `prefix`."""
        torch = self._torch
        prefix_ids = self.tokenizer(prefix, add_special_tokens=True)["input_ids"]
        response_ids = self.tokenizer(response, add_special_tokens=False)["input_ids"]
        if not response_ids:
            return 0.0, 0
        input_ids = torch.tensor([prefix_ids + response_ids], device=self.device)
        labels = input_ids.clone()
        labels[0, : len(prefix_ids)] = -100
        with torch.no_grad():
            logits = self.model(input_ids=input_ids).logits.float()
        shifted_logits = logits[0, :-1]
        shifted_labels = labels[0, 1:]
        losses = torch.nn.functional.cross_entropy(shifted_logits, shifted_labels, ignore_index=-100,
                                                   reduction="sum")
        # With no prefix token the first response token has no context and is not scored.
        scored = int((shifted_labels != -100).sum())
        return float(losses), scored

    def perplexities(self, drafts: Sequence[str], languages: Sequence[str]) -> list[float | None]:
        """Return each draft's perplexity; None for an empty draft or one with no scored token."""
        if len(drafts) != len(languages):
            raise ValueError(f"got {len(drafts)} drafts and {len(languages)} languages; pass one language per draft")
        values: list[float | None] = []
        for draft, language in zip(drafts, languages, strict=True):
            if is_empty_text(draft):
                values.append(None)
                continue
            total, count = self.response_nll(instruction_prefix(language), draft)
            values.append(math.exp(total / count) if count else None)
        return values
