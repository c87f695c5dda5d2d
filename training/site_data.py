"""A site's reviewed studies turned into a de-identified training set and a held-out set.

Accepted inputs:

- a folder with one sub-folder per study, holding the study's images (.png, .jpg, .jpeg,
  .dcm, .dicom; frontal first by file name) and report.json ({findings, impression,
  language?, indication?}) or report.txt ("Findings: ... Impression: ...");
- a file in the released ECHO evaluation JSON format: a list of {sample_id, images,
  ground_truth: {findings, impression}}, image paths relative to the file's folder.

De-identification: study ids are replaced by "site-NNNN"; DICOM files go through
`engine.imaging.Deidentifier` (DICOM PS3.15 basic profile) and raster images are re-encoded
as PNG from their pixels, so no header or metadata chunk is copied. Report text loses
dates, times, numbers of five or more digits, e-mail addresses and the names after
"Dr.". Burned-in text in the pixels is not removed: the Deidentifier's warnings are kept in
deid_report.json for review.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from engine.results import split_sections
from training.data import ReportRecord, load_view, write_records

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".dicom")
DICOM_SUFFIXES = (".dcm", ".dicom")

_SCRUB_RULES = [
    (re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"), "[date]"),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?", re.IGNORECASE), "[time]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b(Drs?\.?|Doctor)\s+[A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?"), r"\1 [name]"),
    (re.compile(r"\d{5,}"), "[number]"),
]


def scrub_report_text(text: str) -> str:
    """Remove dates, times, long numbers, e-mail addresses and doctors' names from report text."""
    for pattern, replacement in _SCRUB_RULES:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class SiteStudy:
    """One reviewed study as found at the site, before de-identification."""

    images: list[Path]
    findings: str
    impression: str
    language: str
    indication: str = ""


def read_site_studies(source: Path, default_language: str) -> list[SiteStudy]:
    """Read reviewed studies from a folder of study folders or an ECHO evaluation JSON file."""
    if source.is_file():
        return _read_echo_eval(source, default_language)
    if not source.is_dir():
        raise FileNotFoundError(f"site data not found: {source}; pass a folder of studies or an ECHO JSON file")
    studies = []
    for folder in sorted(path for path in source.iterdir() if path.is_dir()):
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            logger.warning("skipping %s: no images", folder.name)
            continue
        if (folder / "report.json").is_file():
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            findings, impression = report.get("findings", ""), report.get("impression", "")
            language = report.get("language", default_language)
            indication = report.get("indication", "")
        elif (folder / "report.txt").is_file():
            findings, impression = split_sections((folder / "report.txt").read_text(encoding="utf-8"))
            language, indication = default_language, ""
        else:
            logger.warning("skipping %s: no report.json or report.txt", folder.name)
            continue
        studies.append(SiteStudy(images, findings, impression, language, indication))
    return studies


def _read_echo_eval(path: Path, language: str) -> list[SiteStudy]:
    from training.corpora.echo_eval import read_echo_eval

    studies = []
    for record in read_echo_eval(path, source="site", language=language):
        images = [Path(p) if Path(p).is_absolute() else path.parent / p for p in record.images]
        studies.append(SiteStudy(images, record.findings, record.impression, record.language))
    return studies


def _copy_image(source: Path, destination_stem: Path, deidentifier, warnings: list[str]) -> Path:
    """Write a de-identified copy of one image and return its path."""
    if source.suffix.lower() in DICOM_SUFFIXES:
        destination = destination_stem.with_suffix(".dcm")
        for warning in deidentifier.deidentify_file(source, destination):
            warnings.append(f"{destination.name}: {warning}")
        return destination
    destination = destination_stem.with_suffix(".png")
    Image.fromarray(load_view(source)).save(destination)
    return destination


def build_site_dataset(source: Path, output: Path, *, language: str, heldout_fraction: float,
                       seed: int) -> tuple[Path, Path, dict]:
    """De-identify the site's studies into `output` and split them; return (train, held-out, report)."""
    from engine.imaging import Deidentifier

    studies = read_site_studies(source, language)
    if len(studies) < 2:
        raise ValueError(f"{source} has {len(studies)} usable studies; fine-tuning needs at least 2 "
                         "(one to train on, one to hold out)")
    (output / "images").mkdir(parents=True, exist_ok=True)
    deidentifier = Deidentifier()
    warnings: list[str] = []
    records = []
    for number, study in enumerate(studies, start=1):
        study_id = f"site-{number:04d}"
        images = [_copy_image(path, output / "images" / f"{study_id}-{view}", deidentifier, warnings)
                  for view, path in enumerate(study.images)]
        records.append(ReportRecord(
            study_id=study_id, images=[str(path.relative_to(output)) for path in images],
            findings=scrub_report_text(study.findings), impression=scrub_report_text(study.impression),
            language=study.language, indication=scrub_report_text(study.indication), source="site",
        ))

    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    heldout_count = min(len(records) - 1, max(1, round(len(records) * heldout_fraction)))
    heldout = sorted(order[:heldout_count])
    train = sorted(order[heldout_count:])
    train_path, heldout_path = output / "train.jsonl", output / "heldout.jsonl"
    write_records([records[i] for i in train], train_path)
    write_records([records[i] for i in heldout], heldout_path)
    report = {"studies": len(records), "train": len(train), "heldout": len(heldout), "image_warnings": warnings}
    (output / "deid_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return train_path, heldout_path, report
