"""Evaluation inputs: studies with reference reports, and predictions to score against them.

Three data formats are read:

- the project's JSONL: one study per line, {"study_id", "images": [paths], "findings",
  "impression", "language"}, optionally "clinical_context" (or "indication");
- the released ECHO evaluation JSON: a list of {"sample_id", "images": [relative paths],
  "ground_truth": {"findings", "impression"}}, with the language given by the caller;
- the R2Gen annotation JSON for IU X-ray: {"train"|"val"|"test": [{"id", "report",
  "image_path": [paths]}]}, where "report" is the Findings section, optionally with
  "indication" (not in R2Gen's file; scripts/r2gen_indications.py adds it from the IU XML).

Image paths are relative to `image_root`, which defaults to the data file's folder (its
"images" subfolder for R2Gen annotations, as in R2Gen's layout).

Predictions are JSONL with one draft per line: {"id", "draft"} plus optional "mode",
"language" and the engine's Report fields ("stop_reason", "generated_tokens", "forward_passes",
"timings_ms", "block_size", "warnings"), either at the top level or under "report". The
per-sample file that `echo-cxr eval --out` writes has this form. Every pair keeps its study id
from loading to output, so drafts and references are joined by id and never by position.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine.metrics.errors import EvaluationInputError
from engine.metrics.text import LANGUAGES

R2GEN_SPLITS = ("train", "val", "test")
REPORT_FIELDS = ("stop_reason", "generated_tokens", "forward_passes", "tokens_per_forward", "timings_ms",
                 "block_size", "warnings", "mode", "model")


@dataclass
class Study:
    """One study to evaluate: its reference sections, images and where it came from."""

    id: str
    language: str
    findings: str
    impression: str
    images: list[Path] = field(default_factory=list)
    clinical_context: str | None = None
    source: str = ""
    """File and line or index, for error messages."""


@dataclass
class Dataset:
    """Studies read from one data file."""

    path: Path
    format: str
    """"jsonl", "echo-json" or "r2gen"."""
    studies: list[Study]
    splits: dict[str, list[Study]] = field(default_factory=dict)
    """Every split of an R2Gen annotation file (empty for other formats)."""


@dataclass
class Prediction:
    """One draft to score, with the engine's report fields when it came from the engine."""

    id: str
    mode: str
    draft: str
    language: str | None = None
    report: dict = field(default_factory=dict)
    source: str = ""


def _text(value, field_name: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EvaluationInputError(f"{source}: {field_name} must be a string, got {type(value).__name__}")
    return value


def _identifier(value, field_name: str, source: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise EvaluationInputError(f"{source}: missing or invalid {field_name} {value!r}; give every record a "
                                   "non-empty string or integer id")
    return str(value)


def _language(value, default: str | None, source: str) -> str:
    language = value if value is not None else (default or "en")
    if language not in LANGUAGES:
        raise EvaluationInputError(f"{source}: unsupported language {language!r}; use one of: {', '.join(LANGUAGES)}")
    return language


def _image_paths(value, root: Path, source: str) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EvaluationInputError(f"{source}: 'images' must be a list of file paths")
    return [Path(item) if Path(item).is_absolute() else root / item for item in value]


def _read_jsonl(path: Path) -> list[tuple[str, dict]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            source = f"{path.name} line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvaluationInputError(f"{source}: invalid JSON ({error.msg}); fix or remove the line") from error
            if not isinstance(row, dict):
                raise EvaluationInputError(f"{source}: expected a JSON object, got {type(row).__name__}")
            rows.append((source, row))
    return rows


def _check_unique(studies: list[Study], path: Path) -> None:
    counts = Counter(study.id for study in studies)
    repeated = [identifier for identifier, count in counts.items() if count > 1]
    if repeated:
        raise EvaluationInputError(f"{path.name}: study id {repeated[0]!r} occurs {counts[repeated[0]]} times "
                                   f"({len(repeated)} ids repeat); every study needs a unique id, and a file "
                                   "that holds both languages of a study needs --lang en or --lang zh")


def _load_jsonl(path: Path, language: str | None, root: Path) -> list[Study]:
    studies = []
    for source, row in _read_jsonl(path):
        identifier = _identifier(row.get("study_id", row.get("id")), "'study_id'", source)
        if language is not None and row.get("language") not in (None, language):
            # `echo-cxr data build` writes both languages of a study under one id; --lang picks one.
            continue
        context = row.get("clinical_context", row.get("indication"))
        studies.append(Study(
            id=identifier,
            language=_language(row.get("language"), language, source),
            findings=_text(row.get("findings"), "'findings'", source),
            impression=_text(row.get("impression"), "'impression'", source),
            images=_image_paths(row.get("images"), root, source),
            clinical_context=_text(context, "'clinical_context'", source) or None,
            source=source,
        ))
    return studies


def _load_echo_json(path: Path, rows: list, language: str | None, root: Path) -> list[Study]:
    studies = []
    for index, row in enumerate(rows):
        source = f"{path.name} item {index}"
        if not isinstance(row, dict):
            raise EvaluationInputError(f"{source}: expected an object with sample_id, images and ground_truth")
        truth = row.get("ground_truth")
        if not isinstance(truth, dict):
            raise EvaluationInputError(f"{source}: missing 'ground_truth' object with 'findings' and 'impression'")
        studies.append(Study(
            id=_identifier(row.get("sample_id"), "'sample_id'", source),
            language=_language(row.get("language"), language, source),
            findings=_text(truth.get("findings"), "'ground_truth.findings'", source),
            impression=_text(truth.get("impression"), "'ground_truth.impression'", source),
            images=_image_paths(row.get("images"), root, source),
            source=source,
        ))
    return studies


def _load_r2gen(path: Path, data: dict, root: Path) -> dict[str, list[Study]]:
    splits = {}
    for split in R2GEN_SPLITS:
        studies = []
        for index, row in enumerate(data.get(split) or []):
            source = f"{path.name} {split}[{index}]"
            studies.append(Study(
                id=_identifier(row.get("id"), "'id'", source),
                language="en",
                findings=_text(row.get("report"), "'report'", source),
                impression="",
                images=_image_paths(row.get("image_path"), root, source),
                source=source,
                clinical_context=_text(row.get("indication"), "'indication'", source) or None,
            ))
        splits[split] = studies
    return splits


def load_dataset(path: str | Path, *, language: str | None = None, image_root: str | Path | None = None,
                 split: str = "test") -> Dataset:
    """Read a data file in any of the three formats; `language` fills in records without one."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(f"data file {path} not found; pass a JSONL or JSON file with --data")
    if path.suffix == ".jsonl":
        root = Path(image_root) if image_root else path.parent
        studies = _load_jsonl(path, language, root)
        dataset = Dataset(path, "jsonl", studies)
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise EvaluationInputError(f"{path.name}: invalid JSON ({error.msg} at line {error.lineno})") from error
        if isinstance(data, list):
            root = Path(image_root) if image_root else path.parent
            dataset = Dataset(path, "echo-json", _load_echo_json(path, data, language, root))
        elif isinstance(data, dict) and any(key in data for key in R2GEN_SPLITS):
            if language not in (None, "en"):
                raise EvaluationInputError(f"{path.name} is an R2Gen IU X-ray annotation, which is English only; "
                                           "drop --lang or use --lang en")
            root = Path(image_root) if image_root else path.parent / "images"
            splits = _load_r2gen(path, data, root)
            if split not in splits or not splits[split]:
                raise EvaluationInputError(f"{path.name} has no {split!r} split")
            dataset = Dataset(path, "r2gen", splits[split], splits)
        else:
            raise EvaluationInputError(
                f"{path.name}: unrecognised format; expected a list of ECHO samples "
                "(sample_id, images, ground_truth) or an R2Gen annotation with train/val/test keys"
            )
    _check_unique(dataset.studies, path)
    return dataset


def load_predictions(path: str | Path) -> tuple[list[Prediction], list[tuple[str, str]]]:
    """Read predictions JSONL; return (predictions, [(id, error)] of rows that record a failure).

    `echo-cxr batch` output is read too: its rows hold the draft under "report" ("text") and a
    study whose images failed has an "error" instead. Each (mode, id) may occur once.
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(f"predictions file {path} not found; pass a JSONL file with --predictions")
    predictions = []
    failures: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for source, row in _read_jsonl(path):
        identifier = _identifier(row.get("id", row.get("study_id", row.get("sample_id"))), "'id'", source)
        report = row.get("report") if isinstance(row.get("report"), dict) else {}
        draft = row.get("draft", row.get("text", report.get("text")))
        if draft is None and "error" in row:
            failures.append((identifier, str(row["error"])))
            continue
        if draft is None:
            raise EvaluationInputError(f"{source}: prediction {identifier!r} has no 'draft' text; "
                                       'write "draft": "" for an empty draft')
        details = {key: report[key] for key in REPORT_FIELDS if key in report}
        for key in REPORT_FIELDS:
            if key in row and key not in details:
                details[key] = row[key]
        mode = str(row.get("mode") or details.get("mode") or "predictions")
        language = row.get("draft_language", row.get("language", report.get("language")))
        if language is not None:
            language = _language(language, None, source)
        if (mode, identifier) in seen:
            raise EvaluationInputError(f"{source}: prediction {identifier!r} for mode {mode!r} occurs twice; "
                                       "keep one draft per study and mode")
        seen.add((mode, identifier))
        predictions.append(Prediction(identifier, mode, _text(draft, "'draft'", source), language, details, source))
    return predictions, failures
