"""Read and write the JSON format of the released ECHO evaluation files.

A file is a JSON list of objects:
{"sample_id": str, "images": [relative paths], "ground_truth": {"findings": str, "impression": str}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from training.corpora.records import StudyRecord


def read_echo_eval(path: Path, source: str = "echo_eval", language: str = "en") -> list[StudyRecord]:
    """Read an ECHO evaluation file as test-split records."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"invalid ECHO evaluation file {path}: expected a JSON list of samples")
    records = []
    for index, sample in enumerate(data):
        missing = {"sample_id", "images", "ground_truth"} - set(sample)
        if missing:
            raise ValueError(f"sample {index} in {path} is missing {sorted(missing)}")
        truth = sample["ground_truth"]
        records.append(
            StudyRecord(
                study_id=str(sample["sample_id"]),
                source=source,
                split="test",
                images=list(sample["images"]),
                findings=truth.get("findings", ""),
                impression=truth.get("impression", ""),
                language=language,
            )
        )
    return records


def write_echo_eval(records: Iterable[StudyRecord], path: Path) -> int:
    """Write records in the ECHO evaluation format and return how many were written."""
    samples = [
        {
            "sample_id": record.study_id,
            "images": list(record.images),
            "ground_truth": {"findings": record.findings, "impression": record.impression},
        }
        for record in records
    ]
    path.write_text(json.dumps(samples, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(samples)
