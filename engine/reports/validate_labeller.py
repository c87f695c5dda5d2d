"""Measure the labeller's agreement with the MeSH tags of IU X-ray reports.

Run: `python -m engine.reports.validate_labeller [--reports PATH]`, where PATH is the parsed
IU X-ray `reports.jsonl` (one JSON object per report with `findings`, `impression` and
`mesh_major`). It prints a Markdown table of per-observation precision, recall, F1 and Cohen's
kappa. A report counts as positive for an observation when one of its MeSH major terms maps to
it (see `MESH_TO_OBSERVATION`), and as labelled positive when the labeller's collapsed status is
positive or uncertain. Reports whose only tag is "No Indexing" are skipped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.reports.label_rules import NO_FINDING, OBSERVATIONS
from engine.reports.labeller import NEGATIVE, label_report

# MeSH major heading (the part before the first "/") -> observation. Headings with an
# attribute filter only count when one of the listed attributes is present, so
# "Mediastinum/prominent" counts but "Mediastinum/lymph nodes" does not.
MESH_TO_OBSERVATION: dict[str, tuple[str, frozenset[str] | None]] = {
    "normal": (NO_FINDING, None),
    "Cardiomegaly": ("Cardiomegaly", None),
    "Cardiac Shadow": ("Cardiomegaly", frozenset({"enlarged"})),
    "Mediastinum": ("Enlarged Cardiomediastinum", frozenset({"prominent", "enlarged", "widened"})),
    "Opacity": ("Lung Opacity", None),
    "Infiltrate": ("Lung Opacity", None),
    "Airspace Disease": ("Lung Opacity", None),
    "Density": ("Lung Opacity", frozenset({"lung"})),
    "Cicatrix": ("Lung Opacity", frozenset({"lung"})),
    "Markings": ("Lung Opacity", frozenset({"interstitial"})),
    "Nodule": ("Lung Lesion", None),
    "Mass": ("Lung Lesion", None),
    "Pulmonary Edema": ("Edema", None),
    "Pulmonary Congestion": ("Edema", None),
    "Heart Failure": ("Edema", None),
    "Consolidation": ("Consolidation", None),
    "Pneumonia": ("Pneumonia", None),
    "Pulmonary Atelectasis": ("Atelectasis", None),
    "Pneumothorax": ("Pneumothorax", None),
    "Hydropneumothorax": ("Pneumothorax", None),
    "Pleural Effusion": ("Pleural Effusion", None),
    "Thickening": ("Pleural Other", frozenset({"pleura"})),
    "Fractures, Bone": ("Fracture", None),
    "Catheters, Indwelling": ("Support Devices", None),
    "Implanted Medical Device": ("Support Devices", None),
    "Medical Device": ("Support Devices", None),
    "Tube, Inserted": ("Support Devices", None),
    "Stents": ("Support Devices", None),
    "Surgical Instruments": ("Support Devices", None),
}


@dataclass(frozen=True)
class Agreement:
    """Confusion counts of one observation over a set of reports."""

    observation: str
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def support(self) -> int:
        return self.true_positive + self.false_negative

    @property
    def precision(self) -> float:
        predicted = self.true_positive + self.false_positive
        return self.true_positive / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def kappa(self) -> float:
        """Cohen's kappa between the MeSH tags and the labeller (binary)."""
        n = self.true_positive + self.false_positive + self.false_negative + self.true_negative
        observed = (self.true_positive + self.true_negative) / n
        tag_yes = (self.true_positive + self.false_negative) / n
        label_yes = (self.true_positive + self.false_positive) / n
        expected = tag_yes * label_yes + (1 - tag_yes) * (1 - label_yes)
        return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def mesh_observations(mesh_terms: Iterable[str]) -> set[str]:
    """Map MeSH major terms such as "Pleural Effusion/left/small" to CheXpert observations."""
    observations = set()
    for term in mesh_terms:
        heading, *attributes = term.split("/")
        mapped = MESH_TO_OBSERVATION.get(heading)
        if mapped is None:
            continue
        observation, required = mapped
        if required is None or required & {attribute.strip().lower() for attribute in attributes}:
            observations.add(observation)
    return observations


def labelled_observations(text: str) -> set[str]:
    """Return the observations the labeller finds positive or uncertain in an English report."""
    collapsed = label_report(text).observations()
    return {observation for observation, status in collapsed.items() if status != NEGATIVE}


def measure_agreement(reports: Iterable[dict]) -> list[Agreement]:
    """Compare labeller output with MeSH tags on IU X-ray report records."""
    counts = {observation: [0, 0, 0, 0] for observation in OBSERVATIONS}
    for report in reports:
        if report["mesh_major"] == ["No Indexing"]:
            continue
        text = " ".join(part for part in (report.get("findings"), report.get("impression")) if part)
        tagged = mesh_observations(report["mesh_major"])
        labelled = labelled_observations(text)
        for observation, cell in counts.items():
            index = {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}[
                (observation in tagged, observation in labelled)
            ]
            cell[index] += 1
    return [Agreement(observation, *cell) for observation, cell in counts.items()]


def format_table(agreements: list[Agreement], reports: int) -> str:
    lines = [
        f"IU X-ray reports compared: {reports}",
        "",
        "| observation | MeSH positives | labelled positives | precision | recall | F1 | kappa |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in agreements:
        labelled = row.true_positive + row.false_positive
        lines.append(
            f"| {row.observation} | {row.support} | {labelled} | {row.precision:.3f} | {row.recall:.3f} "
            f"| {row.f1:.3f} | {row.kappa:.3f} |"
        )
    return "\n".join(lines)


def load_reports(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "iu_xray" / "reports.jsonl"
    parser.add_argument("--reports", type=Path, default=default, help="IU X-ray reports.jsonl")
    args = parser.parse_args(argv)
    reports = [report for report in load_reports(args.reports) if report["mesh_major"] != ["No Indexing"]]
    print(format_table(measure_agreement(reports), len(reports)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
