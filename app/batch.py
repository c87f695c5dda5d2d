"""High-volume drafting: enumerate studies, skip finished ones, decode in batches, append JSONL.

INPUT is one of:
- a folder: each subfolder is one study; loose files directly in the folder are grouped
  into studies by StudyInstanceUID (DICOM), and each PNG or JPEG is its own study;
- a list file (.txt or .tsv): one study per line, either "PATH[,PATH...]" or
  "STUDY_ID<TAB>PATH[,PATH...]", paths relative to the list file; "#" starts a comment;
- a file in the released ECHO evaluation JSON format: a list of objects with
  `sample_id` and `images` (paths relative to the JSON file).

Each output line contains the study id, its image file names and the report, or an
`error` for a study that could not be read. Studies with a report in the output are
skipped on a rerun, so an interrupted job resumes; failed studies are retried. Started
with `accelerate launch`, each process drafts every N-th study into its own part file,
and the main process appends the parts to the output at the end.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Loose files in an input folder that count as studies; "" admits PACS exports named like I0000001.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".gz", ""}


@dataclass(frozen=True)
class StudySource:
    """One study to draft: a stable id and its files."""

    study_id: str
    paths: tuple[Path, ...]


def enumerate_studies(source: str | Path) -> list[StudySource]:
    """Return the studies named by a folder, a list file or an ECHO evaluation JSON file."""
    source = Path(source)
    if source.is_dir():
        return _folder_studies(source)
    if not source.is_file():
        raise FileNotFoundError(f"batch input {source} not found; pass a folder, a list file or an ECHO JSON file")
    if source.suffix.lower() == ".json":
        return _echo_json_studies(source)
    return _list_file_studies(source)


def _folder_studies(folder: Path) -> list[StudySource]:
    studies = []
    loose = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    for path in loose:
        studies.append(StudySource(path.stem, (path,)))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        studies.append(StudySource(sub.name, (sub,)))
    return studies


def _list_file_studies(path: Path) -> list[StudySource]:
    studies = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "\t" in line:
            study_id, files = line.split("\t", 1)
        else:
            study_id, files = None, line
        paths = tuple((path.parent / item.strip()) for item in files.split(",") if item.strip())
        if not paths:
            raise ValueError(f"{path.name} line {number} names no image; write PATH[,PATH...] per line")
        studies.append(StudySource(study_id or paths[0].stem, paths))
    return studies


def _echo_json_studies(path: Path) -> list[StudySource]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path.name} is not a list of samples; the ECHO evaluation format is a JSON list of "
                         "objects with sample_id and images")
    studies = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or "images" not in item:
            raise ValueError(f"{path.name} item {index} has no 'images' list")
        sample_id = str(item.get("sample_id", index))
        studies.append(StudySource(sample_id, tuple(path.parent / image for image in item["images"])))
    return studies


def finished_ids(paths: list[Path]) -> set[str]:
    """Return the ids of studies that already have a report in any of the given JSONL files."""
    done: set[str] = set()
    for path in paths:
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    logger.warning("ignoring a truncated line in %s (an interrupted write)", path.name)
                    continue
                if "report" in record:
                    done.add(record["study_id"])
    return done


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def append_jsonl(path: Path, records: list[dict]) -> None:
    """Append records and flush them to disk, so an interruption loses at most the batch in flight.

    A file whose last line was cut off by an interruption gets a newline first, so the
    partial line stays on its own and is skipped when the file is read.
    """
    cut_line = False
    if path.is_file() and path.stat().st_size > 0:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            cut_line = handle.read(1) != b"\n"
    with open(path, "a", encoding="utf-8") as handle:
        if cut_line:
            handle.write("\n")
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def merge_parts(output: Path, parts: list[Path]) -> int:
    """Append part files to the output, skipping studies already there, and delete the parts."""
    done = finished_ids([output])
    merged = 0
    for part in parts:
        if not part.is_file():
            continue
        records = []
        with open(part, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("study_id") in done and "report" in record:
                    continue
                records.append(record)
                if "report" in record:
                    done.add(record["study_id"])
        append_jsonl(output, records)
        merged += len(records)
        part.unlink()
    return merged
