"""Response perplexity under a tiny causal language model saved to a temporary folder."""

from __future__ import annotations

import math

import pytest
import torch

from engine.metrics.errors import MetricUnavailableError
from engine.metrics.perplexity import PerplexityScorer, instruction_prefix

WORDS = ["the", "heart", "is", "normal", "lungs", "are", "clear", "review", "this", "chest"]


def _save_tiny_model(folder, *, zero: bool):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocabulary = {"[UNK]": 0, **{word: index + 1 for index, word in enumerate(WORDS)}}
    backend = Tokenizer(WordLevel(vocabulary, unk_token="[UNK]"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(vocabulary), n_positions=128, n_embd=8, n_layer=1, n_head=2))
    if zero:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_uniform_model_perplexity_is_vocabulary_size(tmp_path):
    # All weights zero: every logit is 0, each of the 11 tokens has probability 1/11, PPL = 11.
    scorer = PerplexityScorer(_save_tiny_model(tmp_path / "lm", zero=True))
    values = scorer.perplexities(["the heart is normal", "lungs are clear"], ["en", "en"])
    assert values == pytest.approx([11.0, 11.0])


def test_only_response_tokens_are_scored(tmp_path):
    scorer = PerplexityScorer(_save_tiny_model(tmp_path / "lm", zero=False))
    prefix = instruction_prefix("en")
    response = "the heart is normal"
    total, count = scorer.response_nll(prefix, response)
    assert count == 4

    prefix_ids = scorer.tokenizer(prefix)["input_ids"]
    response_ids = scorer.tokenizer(response, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prefix_ids + response_ids])
    with torch.no_grad():
        log_probs = torch.log_softmax(scorer.model(input_ids=ids).logits[0].float(), dim=-1)
    expected = -sum(float(log_probs[len(prefix_ids) + i - 1, token]) for i, token in enumerate(response_ids))
    assert total == pytest.approx(expected, rel=1e-5)
    assert scorer.perplexities([response], ["en"])[0] == pytest.approx(math.exp(expected / 4), rel=1e-5)


def test_empty_draft_has_no_perplexity(tmp_path):
    scorer = PerplexityScorer(_save_tiny_model(tmp_path / "lm", zero=True))
    assert scorer.perplexities(["", "."], ["en", "zh"]) == [None, None]


def test_missing_model_folder_raises(tmp_path):
    with pytest.raises(MetricUnavailableError, match="has no config.json"):
        PerplexityScorer(tmp_path / "absent")
