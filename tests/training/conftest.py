"""Fixtures of the training tests: a toy corpus, the tiny tokenizer and a tiny random model."""

from __future__ import annotations

import pytest
import torch
from training_toy import TOY_BLOCK, TOY_SHARED, save_tiny_tokenizer, write_toy_corpus


@pytest.fixture(autouse=True)
def single_thread():
    """Run each training test on one thread: on a busy 2-core machine, two OpenMP threads make
    the many small tensor operations of these tests up to 100 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    return write_toy_corpus(tmp_path_factory.mktemp("toy") / "data")


@pytest.fixture(scope="session")
def tokenizer_folder(tmp_path_factory):
    return save_tiny_tokenizer(tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture(scope="session")
def tiny_model(tokenizer_folder):
    """Return (hf model, tokenizer, settings) of a randomly initialised tiny model in eval mode."""
    from engine.config import CheckpointKind
    from training.model import build_random_model

    hf_model, tokenizer, settings = build_random_model("tiny", str(tokenizer_folder), seed=3)
    settings = settings.with_kind(CheckpointKind.BLOCK_DIFFUSION)
    return hf_model.eval(), tokenizer, settings



@pytest.fixture(scope="session")
def trained_rad(tmp_path_factory, toy_data, tokenizer_folder):
    """Return (checkpoint folder, summary) of a tiny model trained 300 RAD steps on the toy corpus."""
    from training.config import RADConfig
    from training.stages import run_stage

    output = tmp_path_factory.mktemp("trained") / "rad"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = run_stage("rad", RADConfig(output_dir=str(output), train_data=str(toy_data), init_size="tiny",
                                             tokenizer=str(tokenizer_folder), block_size=TOY_BLOCK, max_steps=300,
                                             **TOY_SHARED))
    finally:
        torch.set_num_threads(threads)
    return output / "checkpoint", summary
