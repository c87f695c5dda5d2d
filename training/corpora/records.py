"""The common record type of all corpora and the JSONL form the training stages read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")


@dataclass
class StudyRecord:
    """One imaging study with its report sections.

    `images` are paths relative to the data set root the reader was given. `split` is "train",
    "val" or "test". `normalized` holds the structured normalised form
    (`NormalizedReport.to_dict`) once the corpus builder has computed it.
    """

    study_id: str
    source: str
    split: str
    images: list[str] = field(default_factory=list)
    findings: str = ""
    impression: str = ""
    indication: str = ""
    language: str = "en"
    normalized: dict | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> StudyRecord:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def normalize_split(value: str | None) -> str | None:
    """Map split names used by the data sets ("validate", "valid", "validation", "dev") to ours."""
    if value is None:
        return None
    name = value.strip().lower()
    if name in {"validate", "valid", "validation", "dev"}:
        return "val"
    return name if name in SPLITS else None


def write_jsonl(records: Iterable[StudyRecord], path: Path) -> int:
    """Write records one JSON object per line and return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.to_json() + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[StudyRecord]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield StudyRecord.from_dict(json.loads(line))
