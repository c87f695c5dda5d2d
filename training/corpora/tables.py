"""Small helpers for reading the CSV and JSON tables that the corpora ship."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file, decompressing it when the name ends in ".gz"."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def find_file(root: Path, *names: str) -> Path | None:
    """Return the first of `names` (or its ".gz" copy) that exists under `root`."""
    for name in names:
        for candidate in (root / name, root / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_rows(path: Path) -> Iterator[dict]:
    """Yield the rows of a CSV, JSON (a list, or an object of objects keyed by id) or JSONL file."""
    name = path.name.removesuffix(".gz")
    with open_text(path) as handle:
        if name.endswith(".csv"):
            yield from csv.DictReader(handle)
        elif name.endswith(".jsonl"):
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        elif name.endswith(".json"):
            data = json.load(handle)
            if isinstance(data, dict):
                for key, value in data.items():
                    yield {"id": key, **value} if isinstance(value, dict) else {"id": key, "value": value}
            else:
                yield from data
        else:
            raise ValueError(f"unsupported table format {path}: expected .csv, .json or .jsonl")


def pick(row: dict, *names: str, default: str = "") -> str:
    """Return the first non-empty value among `names`, matching column names case-insensitively."""
    lowered = {str(key).lower(): value for key, value in row.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, ""):
            return str(value).strip() if not isinstance(value, list) else value
    return default
