"""Measure how many IU X-ray reports the Chinese lexicon translates in full after normalisation.

Run: `python -m engine.reports.lexicon_zh.coverage [--data DIR] [--split train] [--top N]`,
where DIR holds `annotation_r2gen.json` and `reports.jsonl`. Findings come from the R2Gen
annotation and impressions from reports.jsonl (matched on `r2gen_id`). It prints the share of
reports whose every normalised sentence translates, then the N most frequent sentences that do
not. Reports that normalise to nothing are counted as not covered.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.reports.normalize import EmptyReportError, normalize_report


@dataclass
class Coverage:
    reports: int
    covered: int
    missing: Counter

    @property
    def ratio(self) -> float:
        return self.covered / self.reports if self.reports else 0.0


def r2gen_reports(data_dir: Path, split: str) -> list[tuple[str, str]]:
    """Return (findings, impression) pairs of one R2Gen split of IU X-ray."""
    annotation = json.loads((data_dir / "annotation_r2gen.json").read_text(encoding="utf-8"))
    impressions = {}
    with (data_dir / "reports.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            report = json.loads(line)
            if report.get("r2gen_id"):
                impressions[report["r2gen_id"]] = report.get("impression") or ""
    return [(item["report"], impressions.get(item["id"], "")) for item in annotation[split]]


def measure_coverage(reports: list[tuple[str, str]]) -> Coverage:
    missing: Counter = Counter()
    covered = 0
    for findings, impression in reports:
        try:
            normalized = normalize_report(findings, impression)
        except EmptyReportError:
            continue
        absent = normalized.missing_zh()
        missing.update(absent)
        covered += not absent
    return Coverage(len(reports), covered, missing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "iu_xray"
    parser.add_argument(
        "--data", type=Path, default=default, help="folder with annotation_r2gen.json and reports.jsonl"
    )
    parser.add_argument(
        "--split", default="train", choices=("train", "val", "test"), help="R2Gen split (default: train)"
    )
    parser.add_argument(
        "--top", type=int, default=20, help="how many uncovered sentences to list (default: 20)"
    )
    args = parser.parse_args(argv)
    result = measure_coverage(r2gen_reports(args.data, args.split))
    print(
        f"R2Gen {args.split}: {result.covered}/{result.reports} reports fully translated ({result.ratio:.1%})"
    )
    for sentence, count in result.missing.most_common(args.top):
        print(f"{count:5d}  {sentence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
