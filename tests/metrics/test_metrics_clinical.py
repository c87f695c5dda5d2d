"""CheXpert-style label scores and FindingMatch on the project's labeller."""

from __future__ import annotations

import pytest

from engine.metrics.clinical import Entity, Labels, entity_similarity, finding_match, label_scores, label_text

# Draft: Cardiomegaly positive, Pleural Effusion negative, Pneumonia uncertain (right).
DRAFT = "Mild cardiomegaly. No pleural effusion. Possible right lower lobe pneumonia."
# Reference: Cardiomegaly positive, Pleural Effusion positive (left), Pneumonia negative.
REFERENCE = "Cardiomegaly. Small left pleural effusion. No pneumonia."


def test_label_text_reads_labeller():
    labels = label_text(DRAFT, "en")
    assert labels.observations == {"Cardiomegaly": "positive", "Pleural Effusion": "negative",
                                   "Pneumonia": "uncertain"}
    assert labels.entities[2] == Entity("Pneumonia", "uncertain", "right")


def test_empty_draft_has_no_labels():
    # The labeller alone would call an empty report "No Finding"; an empty draft asserts nothing.
    assert label_text("", "en") == Labels({}, [])
    assert label_text(".", "en") == Labels({}, [])


def test_label_scores_all_statuses():
    # TP: (Cardiomegaly, positive). FP: effusion negative, pneumonia uncertain.
    # FN: effusion positive, pneumonia negative. P = R = F1 = 1/3.
    scores = label_scores([label_text(DRAFT, "en")], [label_text(REFERENCE, "en")], "all")
    assert scores["micro"]["true_positives"] == 1
    assert scores["micro"]["false_positives"] == 2
    assert scores["micro"]["false_negatives"] == 2
    assert scores["micro"]["f1"] == pytest.approx(1 / 3)
    # Per observation: Cardiomegaly F1 1, Pleural Effusion 0, Pneumonia 0; macro F1 = 1/3.
    assert scores["macro"]["f1"] == pytest.approx(1 / 3)
    assert scores["macro"]["observations_scored"] == 3
    assert scores["per_observation"]["Fracture"]["f1"] is None


def test_label_scores_positive_only():
    # Positives: draft {Cardiomegaly}, reference {Cardiomegaly, Pleural Effusion}.
    # TP 1, FP 0, FN 1: P = 1, R = 0.5, F1 = 2/3. Macro: mean(1, 0) = 0.5 over 2 observations.
    scores = label_scores([label_text(DRAFT, "en")], [label_text(REFERENCE, "en")], "positive")
    assert scores["micro"]["precision"] == 1.0
    assert scores["micro"]["recall"] == 0.5
    assert scores["micro"]["f1"] == pytest.approx(2 / 3)
    assert scores["macro"]["f1"] == pytest.approx(0.5)
    assert scores["macro"]["observations_scored"] == 2


def test_label_scores_without_labels_are_none():
    scores = label_scores([Labels({}, [])], [Labels({}, [])], "positive")
    assert scores["micro"]["f1"] is None
    assert scores["macro"]["f1"] is None
    assert scores["macro"]["observations_scored"] == 0


def test_label_scores_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="got 2 drafts and 1 references"):
        label_scores([Labels({}, [])] * 2, [Labels({}, [])], "all")


def test_entity_similarity_weights():
    effusion = Entity("Pleural Effusion", "positive", "left")
    assert entity_similarity(effusion, effusion) == 1.0
    assert entity_similarity(effusion, Entity("Pleural Effusion", "positive", "right")) == 0.5
    assert entity_similarity(effusion, Entity("Pleural Effusion", "uncertain", None)) == 0.5
    assert entity_similarity(effusion, Entity("Pleural Effusion", "uncertain", "right")) == 0.25
    assert entity_similarity(effusion, Entity("Pleural Effusion", "negative", "left")) == 0.0
    assert entity_similarity(effusion, Entity("Edema", "positive", "left")) == 0.0


def test_finding_match_known_values():
    draft = label_text(DRAFT, "en")
    reference = label_text(REFERENCE, "en")
    # Positive only: draft {Cardiomegaly+, Pneumonia?}, reference {Cardiomegaly+, Effusion+}.
    # Precision (1 + 0)/2, recall (1 + 0)/2, harmonic mean 0.5.
    assert finding_match(draft, reference, positive_only=True) == pytest.approx(0.5)
    # All statuses: only Cardiomegaly matches on each side: precision 1/3, recall 1/3.
    assert finding_match(draft, reference, positive_only=False) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("draft", "reference", "expected"), [
    ("Left pleural effusion.", "Right pleural effusion.", 0.5),
    ("Possible pneumonia.", "Pneumonia.", 0.5),
    ("No pneumothorax.", "The lungs are clear.", 1.0),
    ("The lungs are clear.", "Pneumonia.", 0.0),
])
def test_finding_match_positive_cases(draft, reference, expected):
    score = finding_match(label_text(draft, "en"), label_text(reference, "en"), positive_only=True)
    assert score == pytest.approx(expected)


def test_finding_match_empty_draft_is_zero():
    reference = label_text("The lungs are clear.", "en")
    assert finding_match(label_text("", "en"), reference, positive_only=True, draft_empty=True) == 0.0


def test_finding_match_identical_chinese_is_one():
    text = "心影增大。左侧胸腔积液。"
    labels = label_text(text, "zh")
    assert finding_match(labels, labels, positive_only=True) == 1.0
    assert finding_match(labels, labels, positive_only=False) == 1.0
