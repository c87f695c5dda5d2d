"""Reader for ReXGradient-160K (a site points at its own copy).

The reader takes a metadata table, CSV, JSON or JSONL, or a folder of them. Column names are
matched case-insensitively: the study id from `id`, `study_id`, `StudyInstanceUid` or
`AccessionNumber`; the text from `Findings`, `Impression` and `Indication`; image paths from
`ImagePath` or `image_paths` (a list or a ";"-joined string); the split from `split`, or else
from the file name ("train", "valid"/"val", "test").
NOTE: the column names follow the public dataset card; a release with other names needs them
added to the `pick` calls below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from training.corpora.records import StudyRecord, normalize_split
from training.corpora.tables import pick, read_rows

SOURCE = "rexgradient"
_TABLE_SUFFIXES = (".csv", ".json", ".jsonl", ".csv.gz", ".json.gz", ".jsonl.gz")


def _split_from_name(name: str) -> str | None:
    lowered = name.lower()
    for token in ("train", "valid", "val", "test"):
        if token in lowered:
            return normalize_split(token)
    return None


def _image_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("["):
        return [str(item) for item in json.loads(text)]
    return [item.strip() for item in text.split(";") if item.strip()]


def read_rexgradient(path: Path) -> Iterator[StudyRecord]:
    """Yield one record per row of the metadata table(s) at `path`."""
    tables = (
        sorted(p for p in path.iterdir() if p.name.endswith(_TABLE_SUFFIXES)) if path.is_dir() else [path]
    )
    if not tables:
        raise FileNotFoundError(f"no ReXGradient metadata table (.csv/.json/.jsonl) under {path}")
    for table in tables:
        file_split = _split_from_name(table.name)
        for row in read_rows(table):
            study_id = pick(row, "id", "study_id", "StudyInstanceUid", "AccessionNumber")
            if not study_id:
                raise ValueError(
                    f"row without a study id in {table}: expected id, study_id or StudyInstanceUid"
                )
            split = normalize_split(pick(row, "split")) or file_split or "train"
            yield StudyRecord(
                study_id=f"rexgradient-{study_id}",
                source=SOURCE,
                split=split,
                images=_image_list(pick(row, "ImagePath", "image_paths", "images")),
                findings=pick(row, "Findings"),
                impression=pick(row, "Impression"),
                indication=pick(row, "Indication"),
            )
