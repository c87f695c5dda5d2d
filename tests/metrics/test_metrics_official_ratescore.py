"""The positive-findings RaTEScore arithmetic and the adapter's errors."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics import official_ratescore
from engine.metrics.errors import MetricUnavailableError
from engine.metrics.official_ratescore import (
    ECHO_NEGATION_WEIGHT,
    NO_ENTITY_SCORE,
    OfficialRaTEScore,
    directional_score,
    pair_score,
    positive_findings_matrix,
)


def test_positive_findings_matrix_zeroes_rows():
    matrix = positive_findings_matrix({"abnormality_abnormality": 0.4, "anatomy_abnormality": 0.7,
                                       "non-disease_disease": 0.1, "disease_non-disease": 0.2, "neg_weight": 0.9})
    assert matrix == {("ABNORMALITY", "ABNORMALITY"): 0.4, ("ANATOMY", "ABNORMALITY"): 0.0,
                      ("NON-DISEASE", "DISEASE"): 0.0, ("DISEASE", "NON-DISEASE"): 0.2}


def test_directional_score_known_value():
    source = np.array([[1.0, 0.0], [0.0, 1.0]])
    target = np.array([[1.0, 0.0], [0.6, 0.8]])
    matrix = {("ABNORMALITY", "ABNORMALITY"): 0.5, ("DISEASE", "NON-DISEASE"): 0.25,
              ("ABNORMALITY", "NON-DISEASE"): 0.0, ("DISEASE", "ABNORMALITY"): 0.0}
    # Entity 1 matches target 1 (cosine 1.0, weight 0.5). Entity 2 matches target 2 (cosine 0.8,
    # weight 0.25), a negation pair, so times 0.36115...:
    # (1.0 * 0.5 + 0.8 * 0.25 * 0.3611577852354489) / (0.5 + 0.25) = 0.762975409...
    value = directional_score(source, target, ["ABNORMALITY", "DISEASE"], ["ABNORMALITY", "NON-DISEASE"], matrix)
    assert value == pytest.approx((0.5 + 0.8 * 0.25 * ECHO_NEGATION_WEIGHT) / 0.75)


def test_directional_score_zero_weights_is_zero():
    value = directional_score(np.eye(2), np.eye(2), ["ANATOMY", "ANATOMY"], ["ANATOMY", "ANATOMY"],
                              {("ANATOMY", "ANATOMY"): 0.0})
    assert value == 0.0


def test_pair_score_without_entities():
    some = (np.array([[1.0, 0.0]]), ["ABNORMALITY"])
    none = (np.zeros((0, 2)), [])
    matrix = {("ABNORMALITY", "ABNORMALITY"): 1.0}
    assert pair_score(none, some, matrix) == NO_ENTITY_SCORE
    assert pair_score(some, none, matrix) == NO_ENTITY_SCORE
    assert pair_score(some, some, matrix) == pytest.approx(1.0)


def test_adapter_rejects_missing_folder(tmp_path):
    with pytest.raises(MetricUnavailableError, match="NER .* folder .* has no config.json"):
        OfficialRaTEScore(tmp_path / "ner", tmp_path / "encoder")


def test_adapter_reports_broken_package(tmp_path, monkeypatch):
    for name in ("ner", "encoder"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")

    def broken_import():
        raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")

    monkeypatch.setattr(official_ratescore, "_import_ratescore", broken_import)
    with pytest.raises(MetricUnavailableError, match="ratescore package could not be imported .*numpy.dtype"):
        OfficialRaTEScore(tmp_path / "ner", tmp_path / "encoder")
