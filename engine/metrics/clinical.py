"""Clinical metrics built on the project's rule-based labeller (`engine.reports.labeller`).

CheXpert-style label scores compare the 14 observation labels of a draft with those of its
reference. Two label sets are scored:

- "all": a label is an (observation, status) pair with status positive, negative or
  uncertain, so a draft that says "no effusion" where the reference says "effusion" counts
  as one false positive and one false negative.
- "positive": only observations labelled positive count, as in CheXbert-style F1 scores.

Micro scores sum true positives, false positives and false negatives over all observations
and samples. Macro scores average the per-observation scores over the observations that occur
in a draft or a reference at least once; an observation seen on neither side has no score and
is left out. A score whose denominator is zero is 0 (as scikit-learn's zero_division=0), and a
whole score is None when neither side has any label of its kind.

FindingMatch is an entity-level score in the spirit of RaTEScore (Zhao et al., 2024), built on
the labeller's findings instead of a neural NER model. Each finding is an entity (observation,
status, laterality). Two entities match with weight:
  0 for different observations or for a negative against a positive or uncertain status,
  0.5 for positive against uncertain, 1 for the same status,
and the match weight is halved when both name a side and the sides differ. Precision is the
mean, over draft entities, of the best match among reference entities; recall is the same the
other way round, and the score is their harmonic mean. The positive variant ("FindingMatch+")
keeps only positive and uncertain findings, like the positive-findings RaTEScore of the ECHO
paper. Two reports without entities score 1 (they agree that nothing is found), one side
without entities scores 0, and an empty draft scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.metrics.text import is_empty_text

POSITIVE = "positive"
NEGATIVE = "negative"
UNCERTAIN = "uncertain"

LABEL_SETS = ("all", "positive")


def observation_names() -> tuple[str, ...]:
    """Return the 14 CheXpert observations in the labeller's order."""
    from engine.reports.label_rules import OBSERVATIONS

    return tuple(OBSERVATIONS)


@dataclass(frozen=True)
class Entity:
    """One labelled finding."""

    observation: str
    status: str
    laterality: str | None


@dataclass
class Labels:
    """What the labeller found in one text."""

    observations: dict[str, str]
    """Observation -> status, collapsed CheXpert-style (empty for an empty draft)."""
    entities: list[Entity]
    """Every finding in text order, one per mention."""

    def label_set(self, kind: str) -> set[tuple[str, str]]:
        if kind == "all":
            return set(self.observations.items())
        if kind == "positive":
            return {(name, status) for name, status in self.observations.items() if status == POSITIVE}
        raise ValueError(f"unknown label set {kind!r}; choose one of: {', '.join(LABEL_SETS)}")


def label_text(text: str, language: str) -> Labels:
    """Label one report; an empty text gets no labels at all (not "No Finding")."""
    if is_empty_text(text):
        return Labels({}, [])
    from engine.reports.labeller import label_report

    result = label_report(text, language)
    entities = [Entity(finding.observation, finding.status, finding.laterality) for finding in result.findings]
    return Labels(result.observations(), entities)


@dataclass
class PRF:
    """Precision, recall and F1, with the counts behind them."""

    precision: float | None
    recall: float | None
    f1: float | None
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def prf_from_counts(true_positives: int, false_positives: int, false_negatives: int) -> PRF:
    """Return precision, recall and F1; all None when every count is 0."""
    if true_positives + false_positives + false_negatives == 0:
        return PRF(None, None, None)
    predicted = true_positives + false_positives
    actual = true_positives + false_negatives
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1, true_positives, false_positives, false_negatives)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def label_scores(drafts: Sequence[Labels], references: Sequence[Labels], kind: str) -> dict:
    """Return micro and macro precision, recall and F1 and the per-observation scores."""
    if len(drafts) != len(references):
        raise ValueError(f"got {len(drafts)} drafts and {len(references)} references; "
                         "pass exactly one draft per reference, in the same order")
    counts = {name: [0, 0, 0] for name in observation_names()}
    for draft, reference in zip(drafts, references, strict=True):
        predicted = draft.label_set(kind)
        actual = reference.label_set(kind)
        for name, _status in predicted & actual:
            counts.setdefault(name, [0, 0, 0])[0] += 1
        for name, _status in predicted - actual:
            counts.setdefault(name, [0, 0, 0])[1] += 1
        for name, _status in actual - predicted:
            counts.setdefault(name, [0, 0, 0])[2] += 1

    per_observation = {name: prf_from_counts(*values) for name, values in counts.items()}
    micro = prf_from_counts(*(sum(values[index] for values in counts.values()) for index in range(3)))
    scored = [score for score in per_observation.values() if score.f1 is not None]
    macro = {
        "precision": _mean([score.precision for score in scored]),
        "recall": _mean([score.recall for score in scored]),
        "f1": _mean([score.f1 for score in scored]),
        "observations_scored": len(scored),
    }
    return {
        "label_set": kind,
        "micro": micro.to_dict(),
        "macro": macro,
        "per_observation": {name: score.to_dict() for name, score in per_observation.items()},
    }


def _status_weight(first: str, second: str) -> float:
    if first == second:
        return 1.0
    if NEGATIVE in (first, second):
        return 0.0
    return 0.5


def entity_similarity(first: Entity, second: Entity) -> float:
    """Return the match weight of two findings (see the module docstring)."""
    if first.observation != second.observation:
        return 0.0
    weight = _status_weight(first.status, second.status)
    if first.laterality and second.laterality and first.laterality != second.laterality:
        weight *= 0.5
    return weight


def _directional(source: list[Entity], target: list[Entity]) -> float:
    return sum(max(entity_similarity(entity, other) for other in target) for entity in source) / len(source)


def finding_match(draft: Labels, reference: Labels, *, positive_only: bool, draft_empty: bool = False) -> float:
    """Return the FindingMatch score of one pair (FindingMatch+ when positive_only)."""
    if draft_empty:
        return 0.0
    draft_entities = draft.entities
    reference_entities = reference.entities
    if positive_only:
        draft_entities = [entity for entity in draft_entities if entity.status != NEGATIVE]
        reference_entities = [entity for entity in reference_entities if entity.status != NEGATIVE]
    if not draft_entities and not reference_entities:
        return 1.0
    if not draft_entities or not reference_entities:
        return 0.0
    precision = _directional(draft_entities, reference_entities)
    recall = _directional(reference_entities, draft_entities)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
