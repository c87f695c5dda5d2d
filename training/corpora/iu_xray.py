"""Readers for the Indiana University chest X-ray collection (IU X-ray, Open-i).

Three layouts are read: the NLM XML archive (`NLMCXR_reports.tgz`, one `ecgen-radiology/<uid>.xml`
per report), the parsed `reports.jsonl` (one JSON object per report with `uid`, `image_ids`,
`findings`, `impression`, `indication`, `mesh_major`, `r2gen_split`, `r2gen_id`), and the R2Gen
split file (`annotation_r2gen.json`: {"train"|"val"|"test": [{"id", "report", "image_path",
"split"}]}). IU X-ray text is licensed CC BY-NC-ND 4.0: keep it inside the project.
"""

from __future__ import annotations

import json
import re
import tarfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

from training.corpora.records import StudyRecord, normalize_split

SOURCE = "iu_xray"
_UID_FROM_R2GEN_ID = re.compile(r"^CXR(\d+)_")


def _xml_report(root: ElementTree.Element, uid: int) -> dict:
    sections = {
        (node.get("Label") or "").lower(): (node.text or "").strip() for node in root.iter("AbstractText")
    }
    mesh = root.find("MeSH")
    return {
        "uid": uid,
        "image_ids": [node.get("id") for node in root.iter("parentImage")],
        "comparison": sections.get("comparison", ""),
        "indication": sections.get("indication", ""),
        "findings": sections.get("findings", ""),
        "impression": sections.get("impression", ""),
        "mesh_major": [node.text or "" for node in mesh.iter("major")] if mesh is not None else [],
        "mesh_automatic": [node.text or "" for node in mesh.iter("automatic")] if mesh is not None else [],
    }


def read_xml_archive(path: Path) -> Iterator[dict]:
    """Yield one dict per report of the NLM archive, in uid order, with the reports.jsonl fields."""
    with tarfile.open(path, "r:gz") as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".xml")]
        members.sort(key=lambda member: int(Path(member.name).stem))
        for member in members:
            handle = archive.extractfile(member)
            if handle is None:
                continue
            root = ElementTree.parse(handle).getroot()
            yield _xml_report(root, int(Path(member.name).stem))


def read_reports_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def study_id_from_r2gen(r2gen_id: str) -> str | None:
    """Return the study id that `read_iu_xray` gives an R2Gen study ("CXR2_IM-0652" -> "iu-2"), or None."""
    match = _UID_FROM_R2GEN_ID.match(r2gen_id)
    return f"iu-{int(match.group(1))}" if match else None


def read_r2gen_annotation(path: Path) -> dict[int, dict]:
    """Return {IU uid: annotation item} from an R2Gen split file, with "split" set on each item."""
    data = json.loads(path.read_text(encoding="utf-8"))
    by_uid: dict[int, dict] = {}
    for key, items in data.items():
        for item in items:
            match = _UID_FROM_R2GEN_ID.match(item["id"])
            if match is None:
                raise ValueError(f"invalid R2Gen id {item['id']!r} in {path}: expected CXR<uid>_...")
            split = normalize_split(item.get("split") or key)
            by_uid[int(match.group(1))] = {**item, "split": split}
    return by_uid


def read_iu_xray(root: Path, unsplit: str | None = "train") -> Iterator[StudyRecord]:
    """Yield the IU X-ray studies found under `root`.

    Reports come from `reports.jsonl` when present, else from `raw/NLMCXR_reports.tgz`. Splits
    come from `annotation_r2gen.json` when present, else from each report's `r2gen_split`.
    Studies outside the R2Gen split get `unsplit` ("train" by default; None skips them). The
    R2Gen test studies stay in "test". Image paths are the R2Gen `image_path` entries when the
    study is in the split file, else `images/<Open-i id>.png`.
    """
    reports_path = root / "reports.jsonl"
    archive_path = root / "raw" / "NLMCXR_reports.tgz"
    if reports_path.is_file():
        reports = read_reports_jsonl(reports_path)
    elif archive_path.is_file():
        reports = read_xml_archive(archive_path)
    else:
        raise FileNotFoundError(f"no IU X-ray reports under {root}: expected reports.jsonl or {archive_path}")
    annotation_path = root / "annotation_r2gen.json"
    annotation = read_r2gen_annotation(annotation_path) if annotation_path.is_file() else {}

    for report in reports:
        uid = int(report["uid"])
        item = annotation.get(uid)
        split = item["split"] if item else normalize_split(report.get("r2gen_split"))
        if split is None:
            split = unsplit
        if split is None:
            continue
        images = (
            list(item["image_path"]) if item else [f"images/{image}.png" for image in report["image_ids"]]
        )
        yield StudyRecord(
            study_id=f"iu-{uid}",
            source=SOURCE,
            split=split,
            images=images,
            findings=report.get("findings") or "",
            impression=report.get("impression") or "",
            indication=report.get("indication") or "",
        )
