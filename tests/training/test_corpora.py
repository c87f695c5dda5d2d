import io
import json
import tarfile
from pathlib import Path

import pytest

from training.corpora.build import build_corpus
from training.corpora.chexpert_plus import read_chexpert_plus
from training.corpora.echo_eval import read_echo_eval, write_echo_eval
from training.corpora.iu_xray import read_iu_xray, read_r2gen_annotation, read_xml_archive
from training.corpora.mimic_cxr import read_mimic_cxr
from training.corpora.records import StudyRecord, read_jsonl
from training.corpora.rexgradient import read_rexgradient

IU_XML = """<?xml version="1.0" encoding="utf-8"?>
<eCitation><uId id="CXR{uid}"/>
<MedlineCitation><Article><Abstract>
<AbstractText Label="COMPARISON">None.</AbstractText>
<AbstractText Label="INDICATION">{indication}</AbstractText>
<AbstractText Label="FINDINGS">{findings}</AbstractText>
<AbstractText Label="IMPRESSION">{impression}</AbstractText>
</Abstract></Article></MedlineCitation>
<MeSH><major>{mesh}</major></MeSH>
<parentImage id="CXR{uid}_IM-0001-1001"><caption>PA</caption></parentImage>
<parentImage id="CXR{uid}_IM-0001-2001"><caption>Lateral</caption></parentImage>
</eCitation>
"""

IU_STUDIES = {
    1: ("Cough", "The lungs are clear. XXXX sternotomy wires.", "No acute disease.", "normal"),
    2: (
        "Dyspnea",
        "Mild cardiomegaly. Small left pleural effusion.",
        "Cardiomegaly and effusion.",
        "Cardiomegaly",
    ),
    3: ("Pain", "Heart size normal. No pneumothorax.", "Normal chest.", "normal"),
}


def _write_iu(root: Path, with_jsonl: bool) -> None:
    (root / "raw").mkdir(parents=True)
    with tarfile.open(root / "raw" / "NLMCXR_reports.tgz", "w:gz") as archive:
        for uid, (indication, findings, impression, mesh) in IU_STUDIES.items():
            data = IU_XML.format(
                uid=uid, indication=indication, findings=findings, impression=impression, mesh=mesh
            )
            info = tarfile.TarInfo(f"ecgen-radiology/{uid}.xml")
            info.size = len(data.encode())
            archive.addfile(info, io.BytesIO(data.encode()))
    annotation = {
        "train": [
            {"id": "CXR1_IM-0001", "report": "", "image_path": ["CXR1_IM-0001/0.png"], "split": "train"}
        ],
        "val": [],
        "test": [{"id": "CXR2_IM-0001", "report": "", "image_path": ["CXR2_IM-0001/0.png"], "split": "test"}],
    }
    (root / "annotation_r2gen.json").write_text(json.dumps(annotation))
    if with_jsonl:
        lines = [
            {
                "uid": 1,
                "image_ids": ["CXR1_IM-0001-1001"],
                "findings": "Lungs clear.",
                "impression": "Normal.",
                "indication": "Cough",
                "r2gen_split": "train",
                "r2gen_id": "CXR1_IM-0001",
            },
        ]
        (root / "reports.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_iu_xml_archive_fields(tmp_path):
    _write_iu(tmp_path, with_jsonl=False)
    reports = list(read_xml_archive(tmp_path / "raw" / "NLMCXR_reports.tgz"))
    assert [report["uid"] for report in reports] == [1, 2, 3]
    assert reports[1]["findings"] == "Mild cardiomegaly. Small left pleural effusion."
    assert reports[1]["impression"] == "Cardiomegaly and effusion."
    assert reports[1]["indication"] == "Dyspnea"
    assert reports[1]["mesh_major"] == ["Cardiomegaly"]
    assert reports[1]["image_ids"] == ["CXR2_IM-0001-1001", "CXR2_IM-0001-2001"]


def test_iu_reader_uses_r2gen_split(tmp_path):
    _write_iu(tmp_path, with_jsonl=False)
    records = {record.study_id: record for record in read_iu_xray(tmp_path)}
    assert records["iu-1"].split == "train"
    assert records["iu-1"].images == ["CXR1_IM-0001/0.png"]
    assert records["iu-2"].split == "test"
    assert records["iu-3"].split == "train"
    assert records["iu-3"].images == ["images/CXR3_IM-0001-1001.png", "images/CXR3_IM-0001-2001.png"]
    assert records["iu-2"].source == "iu_xray"
    assert "iu-3" not in {r.study_id for r in read_iu_xray(tmp_path, unsplit=None)}


def test_iu_reader_prefers_reports_jsonl(tmp_path):
    _write_iu(tmp_path, with_jsonl=True)
    records = list(read_iu_xray(tmp_path))
    assert len(records) == 1
    assert (records[0].study_id, records[0].findings, records[0].impression) == (
        "iu-1",
        "Lungs clear.",
        "Normal.",
    )


def test_r2gen_annotation_invalid_id(tmp_path):
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps({"train": [{"id": "bad", "report": "", "image_path": []}]}))
    with pytest.raises(ValueError, match="invalid R2Gen id 'bad'"):
        read_r2gen_annotation(path)


def _write_mimic(root: Path) -> None:
    (root / "mimic-cxr-2.0.0-split.csv").write_text(
        "dicom_id,study_id,subject_id,split\n"
        "d2,50000001,10000032,train\n"
        "d1,50000001,10000032,train\n"
        "d3,50000002,10000032,validate\n"
        "d4,50000003,11000011,test\n"
        "d5,50000004,11000011,train\n"
    )
    (root / "mimic-cxr-2.0.0-metadata.csv").write_text(
        "dicom_id,subject_id,study_id,ViewPosition\nd1,10000032,50000001,PA\nd2,10000032,50000001,LATERAL\n"
    )
    reports = {
        "p10/p10000032/s50000001.txt": "FINAL REPORT\n INDICATION: Cough.\n FINDINGS:\n The lungs are clear.\n"
        " IMPRESSION:\n No acute process.\n",
        "p10/p10000032/s50000002.txt": "FINDINGS: Small right pleural effusion.\nIMPRESSION: Effusion.",
        "p11/p11000011/s50000003.txt": "IMPRESSION: Mild cardiomegaly.",
    }
    for relative, text in reports.items():
        path = root / "files" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_mimic_reader_layout(tmp_path):
    _write_mimic(tmp_path)
    records = list(read_mimic_cxr(tmp_path))
    assert [r.study_id for r in records] == ["mimic-50000001", "mimic-50000002", "mimic-50000003"]
    first = records[0]
    assert first.images == ["files/p10/p10000032/s50000001/d1.jpg", "files/p10/p10000032/s50000001/d2.jpg"]
    assert (first.findings, first.impression, first.indication) == (
        "The lungs are clear.",
        "No acute process.",
        "Cough.",
    )
    assert [r.split for r in records] == ["train", "val", "test"]
    assert records[2].findings == ""


def test_mimic_reader_missing_split_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="mimic-cxr-2.0.0-split.csv not found"):
        list(read_mimic_cxr(tmp_path))


def test_chexpert_plus_groups_images_by_study(tmp_path):
    path = tmp_path / "df_chexpert_plus_240401.csv"
    path.write_text(
        "path_to_image,split,section_findings,section_impression,section_clinical_history\n"
        "train/patient00001/study1/view1_frontal.jpg,train,Mild cardiomegaly.,Cardiomegaly.,Dyspnea\n"
        "train/patient00001/study1/view2_lateral.jpg,train,Mild cardiomegaly.,Cardiomegaly.,Dyspnea\n"
        "valid/patient00002/study1/view1_frontal.jpg,valid,,No acute process.,\n"
    )
    records = list(read_chexpert_plus(tmp_path))
    assert [r.study_id for r in records] == [
        "chexpert-train-patient00001-study1",
        "chexpert-valid-patient00002-study1",
    ]
    assert records[0].images == [
        "train/patient00001/study1/view1_frontal.jpg",
        "train/patient00001/study1/view2_lateral.jpg",
    ]
    assert (records[0].findings, records[0].impression, records[0].indication) == (
        "Mild cardiomegaly.",
        "Cardiomegaly.",
        "Dyspnea",
    )
    assert records[1].split == "val"


def test_rexgradient_csv_and_json(tmp_path):
    (tmp_path / "train_metadata.csv").write_text(
        "id,Findings,Impression,Indication,ImagePath\ns1,The lungs are clear.,Normal.,Cough,a/1.png;a/2.png\n"
    )
    (tmp_path / "test_metadata.json").write_text(
        json.dumps(
            {"s2": {"Findings": "Small left effusion.", "Impression": "Effusion.", "ImagePath": ["b/1.png"]}}
        )
    )
    records = {r.study_id: r for r in read_rexgradient(tmp_path)}
    assert records["rexgradient-s1"].split == "train"
    assert records["rexgradient-s1"].images == ["a/1.png", "a/2.png"]
    assert records["rexgradient-s1"].indication == "Cough"
    assert records["rexgradient-s2"].split == "test"
    assert records["rexgradient-s2"].images == ["b/1.png"]
    assert records["rexgradient-s2"].findings == "Small left effusion."


def test_echo_eval_round_trip(tmp_path):
    records = [StudyRecord("s1", "mimic_cxr", "test", ["a/1.jpg"], "The lungs are clear.", "Normal.")]
    path = tmp_path / "eval.json"
    assert write_echo_eval(records, path) == 1
    data = json.loads(path.read_text())
    assert data == [
        {
            "sample_id": "s1",
            "images": ["a/1.jpg"],
            "ground_truth": {"findings": "The lungs are clear.", "impression": "Normal."},
        }
    ]
    back = read_echo_eval(path)
    assert (back[0].study_id, back[0].images, back[0].findings, back[0].split) == (
        "s1",
        ["a/1.jpg"],
        "The lungs are clear.",
        "test",
    )


def test_echo_eval_rejects_missing_field(tmp_path):
    path = tmp_path / "eval.json"
    path.write_text(json.dumps([{"sample_id": "s1", "images": []}]))
    with pytest.raises(ValueError, match=r"sample 0 .* missing \['ground_truth'\]"):
        read_echo_eval(path)


def test_build_corpus_splits_and_languages(tmp_path):
    _write_iu(tmp_path / "iu", with_jsonl=False)
    stats = build_corpus([lambda: read_iu_xray(tmp_path / "iu")], tmp_path / "out")
    train = list(read_jsonl(tmp_path / "out" / "train.jsonl"))
    test = list(read_jsonl(tmp_path / "out" / "test.jsonl"))
    assert [(r.study_id, r.language) for r in test] == [("iu-2", "en"), ("iu-2", "zh")]
    assert {r.study_id for r in train} == {"iu-1", "iu-3"}
    assert (tmp_path / "out" / "val.jsonl").read_text() == ""
    english = test[0]
    assert english.findings.startswith("The thorax is symmetric. The mediastinum and trachea are midline. ")
    assert "Small left pleural effusion." in english.findings
    assert english.normalized["regions"][3]["sentences"] == ["Mild cardiomegaly."]
    chinese = test[1]
    assert chinese.findings.startswith("胸廓对称。纵隔及气管居中。")
    assert chinese.normalized["language"] == "zh"
    assert stats["test.en"] == 1
    assert stats["train.en"] == 2
