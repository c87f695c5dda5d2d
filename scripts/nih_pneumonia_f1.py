"""Score pneumonia vs no finding on the held-out NIH ChestX-ray14 images from drafted reports.

Reads the samples.jsonl that `echo-cxr eval --out DIR` writes for runs/bundled/corpus/nih_test.jsonl.
A draft counts as pneumonia when the project's labeller finds Pneumonia positive or uncertain in it
(the label-derived training reports say "may represent pneumonia", which the labeller reads as
uncertain). The truth is the image's NIH label. Prints, per language, the F1 of the pneumonia class,
accuracy, the F1 of always predicting the majority class, the share of distinct drafts, and the
one-sided p-value of Fisher's exact test that drafts saying pneumonia are not more frequent for the
pneumonia images than by chance (small p: the drafts depend on the image).
It also counts the drafts that the engine flagged as possibly incoherent (low token confidence or a
back-to-back repetition), the rare drafts (fewer than 5 identical copies in the group), and how
many rare drafts were flagged.

Usage: python scripts/nih_pneumonia_f1.py EVAL_OUT/samples.jsonl runs/bundled/corpus/nih_test.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from math import comb
from pathlib import Path

from engine.reports.labeller import NEGATIVE, label_report

RARE_COPIES = 5
"""A draft with fewer identical copies than this in its group counts as rare."""


def says_pneumonia(draft: str, language: str) -> bool:
    return any(finding.observation == "Pneumonia" and finding.status != NEGATIVE
               for finding in label_report(draft, language).findings)


def f1(truth: list[bool], predicted: list[bool]) -> float:
    true_positive = sum(t and p for t, p in zip(truth, predicted, strict=True))
    false_positive = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    false_negative = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    denominator = 2 * true_positive + false_positive + false_negative
    return 2 * true_positive / denominator if denominator else 0.0


def fisher_greater(truth: list[bool], predicted: list[bool]) -> float:
    """Return the one-sided Fisher exact p-value for more true positives than the margins imply."""
    total, positives, called = len(truth), sum(truth), sum(predicted)
    observed = sum(t and p for t, p in zip(truth, predicted, strict=True))
    tail = sum(comb(positives, k) * comb(total - positives, called - k)
               for k in range(observed, min(positives, called) + 1))
    return tail / comb(total, called)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", type=Path, help="samples.jsonl from `echo-cxr eval --out`")
    parser.add_argument("test", type=Path, help="nih_test.jsonl from scripts/bundled_corpus.py")
    args = parser.parse_args()

    truth_by_id = {}
    for line in args.test.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        truth_by_id[record["study_id"]] = "Pneumonia" in record["labels"]
    groups: dict[str, list[tuple[bool, bool, str]]] = defaultdict(list)
    for line in args.samples.read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        language = sample["language"]
        flagged = any("may be incoherent" in warning for warning in sample.get("report", {}).get("warnings", []))
        groups[(sample.get("mode", ""), language)].append(
            (truth_by_id[sample["id"]], says_pneumonia(sample["draft"], language), sample["draft"], flagged))
    result = {}
    for (mode, language), rows in sorted(groups.items()):
        truth = [row[0] for row in rows]
        predicted = [row[1] for row in rows]
        copies = Counter(row[2] for row in rows)
        rare = [row for row in rows if copies[row[2]] < RARE_COPIES]
        majority = sum(truth) * 2 >= len(truth)
        result[f"{mode}/{language}"] = {
            "studies": len(rows),
            "pneumonia_share": round(sum(truth) / len(rows), 3),
            "predicted_pneumonia_share": round(sum(predicted) / len(rows), 3),
            "pneumonia_f1": round(f1(truth, predicted), 3),
            "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(rows), 3),
            "majority_class": "pneumonia" if majority else "no finding",
            "majority_pneumonia_f1": round(f1(truth, [majority] * len(rows)), 3),
            "majority_accuracy": round(max(sum(truth), len(rows) - sum(truth)) / len(rows), 3),
            "distinct_draft_share": round(len({row[2] for row in rows}) / len(rows), 3),
            "fisher_p_value": float(f"{fisher_greater(truth, predicted):.3g}"),
            "flagged_incoherent": sum(row[3] for row in rows),
            "rare_drafts": len(rare),
            "rare_drafts_flagged": sum(row[3] for row in rare),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
