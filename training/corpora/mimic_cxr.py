"""Reader for MIMIC-CXR (PhysioNet, credentialed access: a site points at its own copy).

Expected layout under the root (the MIMIC-CXR-JPG and report releases, version 2.0.0):

    mimic-cxr-2.0.0-split.csv[.gz]      dicom_id,study_id,subject_id,split (train/validate/test)
    mimic-cxr-2.0.0-metadata.csv[.gz]   optional; dicom_id,...,ViewPosition,... (used for image order)
    files/pXX/pXXXXXXXX/sXXXXXXXX.txt   free-text report with FINDINGS: and IMPRESSION: headers
    files/pXX/pXXXXXXXX/sXXXXXXXX/<dicom_id>.jpg   images

The reports may sit under another root (`reports_root`), as in the separate report archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from engine.reports.sections import split_sections
from training.corpora.records import StudyRecord, normalize_split
from training.corpora.tables import find_file, read_rows

SOURCE = "mimic_cxr"
_VIEW_ORDER = {"PA": 0, "AP": 1, "LATERAL": 2, "LL": 3}


def _study_dir(subject_id: str, study_id: str) -> str:
    return f"files/p{subject_id[:2]}/p{subject_id}/s{study_id}"


def read_mimic_cxr(root: Path, reports_root: Path | None = None) -> Iterator[StudyRecord]:
    """Yield one record per study that has a report file, in split-file order."""
    split_path = find_file(root, "mimic-cxr-2.0.0-split.csv")
    if split_path is None:
        raise FileNotFoundError(f"mimic-cxr-2.0.0-split.csv not found under {root}")
    reports_root = reports_root or root
    metadata_path = find_file(root, "mimic-cxr-2.0.0-metadata.csv")
    views = (
        {row["dicom_id"]: row.get("ViewPosition", "") for row in read_rows(metadata_path)}
        if metadata_path
        else {}
    )

    studies: dict[str, dict] = {}
    for row in read_rows(split_path):
        study = studies.setdefault(
            row["study_id"], {"subject_id": row["subject_id"], "split": row["split"], "dicom_ids": []}
        )
        study["dicom_ids"].append(row["dicom_id"])

    for study_id, study in studies.items():
        directory = _study_dir(study["subject_id"], study_id)
        report_path = reports_root / f"{directory}.txt"
        if not report_path.is_file():
            continue
        sections = split_sections(report_path.read_text(encoding="utf-8"))
        dicom_ids = sorted(
            study["dicom_ids"], key=lambda dicom: (_VIEW_ORDER.get(views.get(dicom, ""), 9), dicom)
        )
        yield StudyRecord(
            study_id=f"mimic-{study_id}",
            source=SOURCE,
            split=normalize_split(study["split"]) or "train",
            images=[f"{directory}/{dicom}.jpg" for dicom in dicom_ids],
            findings=sections.get("findings", ""),
            impression=sections.get("impression", ""),
            indication=sections.get("indication", ""),
        )
