"""Build the image-text corpus of the bundled model from NIH ChestX-ray14, the COVID-19 image data
collection and the IU X-ray images, next to the IU X-ray text corpus of `echo-cxr data build`.

NIH and COVID-19 images come without radiology reports, so their reports are derived from the image
labels with LABEL_SENTENCES (one Findings sentence and one Impression sentence per label, region
defaults for everything else). COVID-19 records also take the sentences of the case notes that
describe a chest radiograph. Every report goes through `engine.reports.normalize` and is written in
English, and in Chinese where the lexicon covers every sentence.

Writes into OUT:
- train.jsonl, val.jsonl: IU text-only records, the IU images outside the R2Gen test split with
  their own reports, NIH and COVID-19 image records;
- nih_test.jsonl: the patient-disjoint NIH test part, which contains the patients of the NIH images
  in assets/samples/; nih_test_en.jsonl and nih_test_zh.jsonl split it by language, because
  `echo-cxr eval` needs unique study ids and both languages of a study share one;
- iu_test_images_en.jsonl, iu_test_images_zh.jsonl: the IU R2Gen test studies whose images are
  here (evaluation only);
- nih_split.csv: file, patient_id, split and NIH labels of every NIH image;
- labels.jsonl: one line per training image (path, label vector over LABELS) for vision pretraining.

Usage: python scripts/bundled_corpus.py --data ../shared/data --iu-corpus IU_DIR --out OUT
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import Counter
from pathlib import Path

from engine.reports.normalize import NotCoveredError, normalize_report
from engine.reports.templates import DEFAULT_IMPRESSION, REGION_DEFAULTS

# NIH ChestX-ray14 label -> (Findings sentence, Impression sentence). Every sentence is in the
# Chinese lexicon and the labeller reads it as the label's finding.
LABEL_SENTENCES: dict[str, tuple[str, str]] = {
    "Pneumonia": ("There is airspace opacity in the lung fields, which may represent pneumonia.",
                  "Airspace opacity, which may represent pneumonia."),
    "Consolidation": ("There is focal consolidation.", "Consolidation."),
    "Infiltration": ("There are bilateral interstitial opacities.", "Interstitial opacities."),
    "Atelectasis": ("There is bibasilar atelectasis.", "Bibasilar atelectasis."),
    "Edema": ("There is pulmonary edema.", "Pulmonary edema."),
    "Effusion": ("There is a small pleural effusion.", "Small bilateral pleural effusions."),
    "Pneumothorax": ("There is a pneumothorax.", "Pneumothorax."),
    "Emphysema": ("The lungs are hyperexpanded.", "Emphysema."),
    "Nodule": ("There is a pulmonary nodule.", "Pulmonary nodule."),
    "Mass": ("There is a lung mass.", "There is a lung mass."),
    "Pleural_Thickening": ("There is pleural thickening.", "Pleural thickening."),
    "Fibrosis": ("Pulmonary fibrosis.", "Pulmonary fibrosis."),
    "Cardiomegaly": ("The heart is enlarged.", "Cardiomegaly."),
    "Hernia": ("There is a hiatal hernia.", "Hiatal hernia."),
}
LABELS = tuple(LABEL_SENTENCES) + ("COVID-19",)

# COVID-19 collection finding -> the NIH-style labels whose sentences describe it.
COVID_FINDINGS: dict[str, tuple[str, ...]] = {
    "COVID-19": ("Infiltration", "Pneumonia"),
    "COVID-19, ARDS": ("Infiltration", "Pneumonia", "Edema"),
    "SARS": ("Infiltration", "Pneumonia"),
    "ARDS": ("Infiltration", "Edema"),
    "No Finding": (),
}
VIRAL = ("COVID-19", "SARS", "Influenza", "Varicella")
# NIH patients of the images in assets/samples/, kept in the test part so the samples are unseen.
SAMPLE_PATIENTS = ("61", "1280")
RADIOGRAPH_WORDS = re.compile(r"\b(?:x-?ray|radiograph\w*|cxr|chest film)\b", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def labels_to_report(labels: list[str]) -> tuple[str, str]:
    """Return (findings, impression) text for a set of NIH labels; no label gives the normal report."""
    known = [label for label in LABEL_SENTENCES if label in labels]
    if not known:
        return " ".join(REGION_DEFAULTS.values()), DEFAULT_IMPRESSION
    findings = [LABEL_SENTENCES[label][0] for label in known]
    impression = [LABEL_SENTENCES[label][1] for label in known] or [DEFAULT_IMPRESSION]
    return " ".join(findings), " ".join(impression)


def records_for(study_id: str, images: list[str], findings: str, impression: str, *, source: str, split: str,
                stats: Counter, labels: list[str] | None = None) -> list[dict]:
    """Normalise one report and return its English record and, where the lexicon covers it, Chinese."""
    report = normalize_report(findings, impression)
    records = []
    for language in ("en", "zh"):
        try:
            normalized = report.to_dict(language)
        except NotCoveredError:
            stats[f"{source}.zh_not_covered"] += 1
            continue
        records.append({
            "study_id": study_id, "images": images, "findings": normalized["findings"],
            "impression": normalized["impression"], "language": language, "normalized": normalized,
            "source": source, "split": split, "labels": labels or [],
        })
        stats[f"{source}.{split}.{language}"] += 1
    return records


def nih_records(root: Path, test_images: int, seed: int, stats: Counter) -> tuple[list, list, list, list]:
    """Split NIH by patient and return (train records, test records, split rows, label rows)."""
    with (root / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    patients = sorted({row["patient_id"] for row in rows})
    random.Random(seed).shuffle(patients)
    per_patient = Counter(row["patient_id"] for row in rows)
    test_patients = set(SAMPLE_PATIENTS)
    count = sum(per_patient[patient] for patient in test_patients)
    for patient in patients:
        if count >= test_images:
            break
        test_patients.add(patient)
        count += per_patient[patient]
    train, test, split_rows, label_rows = [], [], [], []
    for row in rows:
        labels = [label for label in row["finding_labels"].split("|") if label != "No Finding"]
        split = "test" if row["patient_id"] in test_patients else "train"
        path = str((root / "images" / row["file"]).resolve())
        findings, impression = labels_to_report(labels)
        records = records_for(f"nih-{row['file'].removesuffix('.png')}", [path], findings, impression,
                              source="nih_cxr14", split=split, stats=stats, labels=labels)
        (test if split == "test" else train).extend(records)
        split_rows.append({"file": row["file"], "patient_id": row["patient_id"], "split": split,
                           "finding_labels": row["finding_labels"]})
        if split == "train":
            label_rows.append({"path": path, "labels": [int(label in labels) for label in LABELS]})
    return train, test, split_rows, label_rows


def radiograph_sentences(notes: str) -> list[str]:
    """Return the note sentences that describe a chest radiograph (weak report text)."""
    return [sentence.strip() for sentence in SENTENCE_END.split(notes or "")
            if RADIOGRAPH_WORDS.search(sentence) and len(sentence.split()) <= 40]


def covid_records(root: Path, stats: Counter) -> tuple[list, list]:
    """Return (train records, label rows) for the COVID-19 collection images with a known finding and a licence."""
    records, label_rows = [], []
    with (root / "reports.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    for item in items:
        finding = item.get("finding") or ""
        if finding in ("todo", "", "Unknown"):
            stats["covid.skipped_unlabelled"] += 1
            continue
        if not (item.get("license") or "").strip():
            # No licence stated: internal research use only, so kept out of weights that ship in assets/.
            stats["covid.skipped_no_licence"] += 1
            continue
        labels = list(COVID_FINDINGS.get(finding, ("Pneumonia",)))
        path = str((root / "images" / item["file"]).resolve())
        notes = radiograph_sentences(item.get("clinical_notes") or "")
        findings, impression = labels_to_report(labels)
        built = []
        if notes:
            try:
                built = records_for(f"covid-{item['file'].removesuffix('.png')}", [path],
                                    findings + " " + " ".join(notes), impression, source="covid_cxr",
                                    split="train", stats=stats, labels=labels)
            except ValueError:
                stats["covid.notes_rejected"] += 1
        if not built:
            built = records_for(f"covid-{item['file'].removesuffix('.png')}", [path], findings, impression,
                                source="covid_cxr", split="train", stats=stats, labels=labels)
        records.extend(built)
        vector = [int(label in labels) for label in LABELS]
        vector[LABELS.index("COVID-19")] = int(any(name in finding for name in VIRAL))
        label_rows.append({"path": path, "labels": vector})
    return records, label_rows


def iu_image_records(data: Path, stats: Counter) -> tuple[list, list]:
    """Return (train, val) records for the IU images outside the R2Gen test split, with their own reports."""
    root = data / "iu_xray"
    images = {path.stem: path.resolve() for path in (root / "images").glob("*.png")}
    train, val = [], []
    with (root / "reports.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            mine = [str(images[name]) for name in item.get("image_ids") or [] if name in images]
            split = item.get("r2gen_split")
            if not mine or split not in ("train", "val") or not (item.get("findings") or item.get("impression")):
                continue
            records = records_for(f"iu-image-{item['uid']}", mine, item.get("findings") or "",
                                  item.get("impression") or "", source="iu_xray_images", split=split, stats=stats)
            (train if split == "train" else val).extend(records)
    return train, val


def iu_test_image_records(data: Path, iu_corpus: Path) -> list[dict]:
    """Return the R2Gen test records of the IU corpus whose images are here, with those image paths.

    For evaluation only: these studies never enter training.
    """
    root = data / "iu_xray"
    images = {path.stem: str(path.resolve()) for path in (root / "images").glob("*.png")}
    views: dict[str, list[str]] = {}
    with (root / "reports.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            found = [images[name] for name in item.get("image_ids") or [] if name in images]
            if found and item.get("r2gen_split") == "test":
                views[f"iu-{item['uid']}"] = found
    with (iu_corpus / "test.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return [{**record, "images": views[record["study_id"]]} for record in records if record["study_id"] in views]


def text_only(path: Path) -> list[dict]:
    """Return the records of an `echo-cxr data build` file with their (absent) images removed."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    for record in records:
        record["images"] = []
    return records


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="shared data folder (nih_cxr14_256, covid_cxr, ...)")
    parser.add_argument("--iu-corpus", type=Path, required=True, help="output folder of `echo-cxr data build --iu`")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--nih-test-images", type=int, default=150, help="NIH images held out (whole patients)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the NIH patient split")
    args = parser.parse_args()

    stats: Counter = Counter()
    args.out.mkdir(parents=True, exist_ok=True)
    nih_train, nih_test, split_rows, nih_labels = nih_records(args.data / "nih_cxr14_256", args.nih_test_images,
                                                              args.seed, stats)
    covid_train, covid_labels = covid_records(args.data / "covid_cxr", stats)
    iu_train, iu_val = iu_image_records(args.data, stats)
    train = text_only(args.iu_corpus / "train.jsonl") + iu_train + nih_train + covid_train
    val = text_only(args.iu_corpus / "val.jsonl") + iu_val

    write_jsonl(args.out / "train.jsonl", train)
    write_jsonl(args.out / "val.jsonl", val)
    write_jsonl(args.out / "nih_test.jsonl", nih_test)
    # `echo-cxr eval` needs unique study ids, and both languages of a study share one.
    iu_test = iu_test_image_records(args.data, args.iu_corpus)
    for language in ("en", "zh"):
        write_jsonl(args.out / f"nih_test_{language}.jsonl", [r for r in nih_test if r["language"] == language])
        write_jsonl(args.out / f"iu_test_images_{language}.jsonl", [r for r in iu_test if r["language"] == language])
    write_jsonl(args.out / "labels.jsonl", nih_labels + covid_labels)
    with (args.out / "nih_split.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "patient_id", "split", "finding_labels"])
        writer.writeheader()
        writer.writerows(split_rows)
    for key in sorted(stats):
        print(f"{key}: {stats[key]}")
    print(f"train: {len(train)} records, val: {len(val)}, nih_test: {len(nih_test)}")


if __name__ == "__main__":
    main()
