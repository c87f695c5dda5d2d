"""Adapter for the official RaTEScore (ratescore package) in the ECHO paper's positive-findings form.

RaTEScore (Zhao et al., 2024; package ratescore 0.6.0) tags entities with a NER model
(Angelakeke/RaTE-NER-Deberta), embeds each entity with an encoder (FremyCompany/BioLORD-2023-C,
[CLS] vector) and scores a pair as the harmonic mean of two directional, type-weighted best-match
cosine scores. Neither model ships in a wheel, so this adapter runs only when a site gives a local
folder for each; nothing is downloaded.

The ECHO paper changed the weighting so that only positive findings count:
- the rows of the type-affinity matrix for reference entity types ANATOMY, NON-ABNORMALITY and
  NON-DISEASE are zeroed, and the ABNORMALITY and DISEASE rows keep the values of the package's
  "long" matrix;
- the negation weight is the "short" matrix's 0.3611577852354489;
- a pair where either side has no entity scores 0.1 (the package gives 0.5).

ratescore 0.6.0 imports medspacy when imported. On Python 3.11 medspacy 1.3.1 requires
spacy < 3.8, whose thinc 8.2 wheels are built for numpy 1.x, so with numpy 2 the import fails
("numpy.dtype size changed"). The adapter reports that as MetricUnavailableError.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.metrics.errors import MetricUnavailableError
from engine.metrics.text import is_empty_text

ZEROED_TYPES = ("ANATOMY", "NON-ABNORMALITY", "NON-DISEASE")
ECHO_NEGATION_WEIGHT = 0.3611577852354489
NO_ENTITY_SCORE = 0.1

# Type pairs (reference side, draft side) of a finding and its negation; a best match across
# such a pair is multiplied by the negation weight. Copied from ratescore 0.6.0 utils.compute.
NEGATION_PAIRS = frozenset({
    ("NON-DISEASE", "DISEASE"), ("NON-ABNORMALITY", "ABNORMALITY"),
    ("DISEASE", "NON-DISEASE"), ("ABNORMALITY", "NON-ABNORMALITY"),
    ("NON-DISEASE", "ABNORMALITY"), ("NON-ABNORMALITY", "DISEASE"),
    ("DISEASE", "NON-ABNORMALITY"), ("ABNORMALITY", "NON-DISEASE"),
})


def positive_findings_matrix(long_matrix: dict[str, float]) -> dict[tuple[str, str], float]:
    """Return the ECHO weight matrix from the package's "long" matrix ("type_type" -> weight)."""
    matrix: dict[tuple[str, str], float] = {}
    for key, value in long_matrix.items():
        if key == "neg_weight":
            continue
        first, second = (part.upper() for part in key.split("_"))
        matrix[(first, second)] = 0.0 if first in ZEROED_TYPES else float(value)
    return matrix


def directional_score(source: np.ndarray, target: np.ndarray, source_types: Sequence[str],
                      target_types: Sequence[str], matrix: dict[tuple[str, str], float],
                      negation_weight: float = ECHO_NEGATION_WEIGHT) -> float:
    """Return the weighted mean best-match cosine of each source entity against the target entities.

    Mirrors ratescore 0.6.0 `utils.compute`: each source entity takes its most similar target
    entity, the cosine is multiplied by matrix[(source type, matched type)] and by the negation
    weight for a negation pair, and the sum is divided by the sum of the matrix weights alone.
    """
    source = source / np.linalg.norm(source, axis=1, keepdims=True)
    target = target / np.linalg.norm(target, axis=1, keepdims=True)
    similarities = source @ target.T
    best = similarities.argmax(axis=1)
    total = 0.0
    weights = 0.0
    for index, match in enumerate(best):
        pair = (source_types[index], target_types[match])
        weight = matrix[pair]
        penalty = negation_weight if pair in NEGATION_PAIRS else 1.0
        total += float(similarities[index, match]) * weight * penalty
        weights += weight
    return total / weights if weights else 0.0


def pair_score(draft: tuple[np.ndarray, list[str]], reference: tuple[np.ndarray, list[str]],
               matrix: dict[tuple[str, str], float], negation_weight: float = ECHO_NEGATION_WEIGHT) -> float:
    """Return the positive-findings RaTEScore of one pair from (embeddings, types) of each side."""
    draft_embeddings, draft_types = draft
    reference_embeddings, reference_types = reference
    # NOTE: the ECHO description gives 0.1 for "no entities on either side"; this reads it as the
    # package's own condition (either side empty) with 0.1 in place of 0.5, which is unverified.
    if len(draft_types) == 0 or len(reference_types) == 0:
        return NO_ENTITY_SCORE
    first = directional_score(reference_embeddings, draft_embeddings, reference_types, draft_types, matrix,
                              negation_weight)
    second = directional_score(draft_embeddings, reference_embeddings, draft_types, reference_types, matrix,
                               negation_weight)
    if first + second == 0:
        return 0.0
    return 2 * first * second / (first + second)


def _import_ratescore():
    import RaTEScore.scorer as scorer_module

    return scorer_module


def _check_model_folder(folder: str | Path, role: str) -> Path:
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise MetricUnavailableError(
            f"RaTEScore {role} model folder {path} has no config.json; pass a local copy of the "
            f"{role} model (a folder saved with save_pretrained)"
        )
    return path


class OfficialRaTEScore:
    """The ratescore package's NER and entity encoder, scored with the positive-findings matrix."""

    def __init__(self, ner_folder: str | Path, encoder_folder: str | Path, device: str = "cpu") -> None:
        ner_path = _check_model_folder(ner_folder, "NER (RaTE-NER-Deberta)")
        encoder_path = _check_model_folder(encoder_folder, "entity encoder (BioLORD-2023-C)")
        try:
            scorer_module = _import_ratescore()
        except Exception as error:  # the package fails with ImportError or, with numpy 2, ValueError
            raise MetricUnavailableError(
                f"the ratescore package could not be imported ({type(error).__name__}: {error}). "
                "It needs medspacy, which on Python 3.11 needs spacy < 3.8 and numpy < 2; "
                "leave out the RaTEScore model folders or run it in an environment with numpy 1.x"
            ) from error
        from importlib.metadata import version

        self._score_module = __import__("RaTEScore.score", fromlist=["run_ner", "process_embedding"])
        self.scorer = scorer_module.RaTEScore(bert_model=str(ner_path), eval_model=str(encoder_path),
                                              use_gpu=device != "cpu")
        self.matrix = positive_findings_matrix(scorer_module.DEFAULT_MATRIX_LONG)
        self.name = (f"RaTEScore positive-findings (ratescore {version('ratescore')}; NER {ner_path.name}, "
                     f"encoder {encoder_path.name})")

    def _entities(self, text: str) -> tuple[np.ndarray, list[str]]:
        scorer = self.scorer
        # One report per call: the package drops texts without sentences, which would shift the
        # pairing of every later report in a batch.
        pairs = self._score_module.run_ner([text], scorer.idx2label, scorer.tokenizer, scorer.model,
                                           scorer.device, 1)
        entities = pairs[0] if pairs else []
        if not entities:
            return np.zeros((0, 1)), []
        embeddings, types = self._score_module.process_embedding(entities, scorer.eval_tokenizer,
                                                                  scorer.eval_model, scorer.device)
        return embeddings.numpy().astype(np.float64), list(types)

    def score(self, drafts: Sequence[str], references: Sequence[str]) -> list[float]:
        """Return the per-pair score; an empty draft scores 0 without running the models."""
        if len(drafts) != len(references):
            raise ValueError(f"got {len(drafts)} drafts and {len(references)} references; "
                             "pass exactly one draft per reference, in the same order")
        scores = []
        for draft, reference in zip(drafts, references, strict=True):
            if is_empty_text(draft):
                scores.append(0.0)
                continue
            scores.append(pair_score(self._entities(draft), self._entities(reference), self.matrix))
        return scores
