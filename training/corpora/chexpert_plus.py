"""Reader for CheXpert-Plus (Stanford AIMI; a site points at its own copy).

CheXpert-Plus ships one CSV row per image (`df_chexpert_plus_240401.csv`). The columns read
are `path_to_image` ("train/patient00001/study1/view1_frontal.jpg"), `split` ("train" or
"valid"), `section_findings`, `section_impression` and `section_clinical_history` (or
`section_history`). Rows of one study share the folder of `path_to_image` and become one record.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from training.corpora.records import StudyRecord, normalize_split
from training.corpora.tables import pick, read_rows

SOURCE = "chexpert_plus"
DEFAULT_CSV = "df_chexpert_plus_240401.csv"


def read_chexpert_plus(path: Path) -> Iterator[StudyRecord]:
    """Yield one record per study from the CheXpert-Plus CSV, or from DEFAULT_CSV in a folder."""
    csv_path = path / DEFAULT_CSV if path.is_dir() else path
    if not csv_path.is_file():
        raise FileNotFoundError(f"CheXpert-Plus CSV not found: {csv_path}")
    studies: dict[str, StudyRecord] = {}
    for row in read_rows(csv_path):
        image = pick(row, "path_to_image")
        study_id = str(PurePosixPath(image).parent)
        record = studies.get(study_id)
        if record is None:
            record = StudyRecord(
                study_id=f"chexpert-{study_id.replace('/', '-')}",
                source=SOURCE,
                split=normalize_split(pick(row, "split", default="train")) or "train",
                findings=pick(row, "section_findings"),
                impression=pick(row, "section_impression"),
                indication=pick(row, "section_clinical_history", "section_history"),
            )
            studies[study_id] = record
        record.images.append(image)
    yield from studies.values()
