"""`echo-cxr inspect` through app.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest
from imaging_factory import image_dataset, phantom, save
from PIL import Image
from pydicom.uid import generate_uid

import app.cli
from engine.imaging import load_image


@pytest.fixture(autouse=True)
def only_inspect_command(monkeypatch):
    # The parser imports every listed command module; this test needs only inspect.
    monkeypatch.setattr(app.cli, "COMMAND_MODULES", ["app.commands.inspect"])


@pytest.fixture
def study_folder(tmp_path):
    study_uid = generate_uid()
    folder = tmp_path / "study"
    folder.mkdir()
    save(
        image_dataset(phantom(), study_uid=study_uid, view="LL", WindowCenter=2000, WindowWidth=3000),
        folder / "lat.dcm",
    )
    save(
        image_dataset(phantom(), study_uid=study_uid, view="PA", WindowCenter=2000, WindowWidth=3000),
        folder / "pa.dcm",
    )
    return folder, study_uid


def test_inspect_file_text(tmp_path, capsys):
    path = save(
        image_dataset(phantom(), WindowCenter=2000, WindowWidth=3000, StudyInstanceUID="1.2.3.4"),
        tmp_path / "pa.dcm",
    )
    assert app.cli.main(["inspect", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        "1 study",
        "study 1.2.3.4: 1 image(s): PA",
        "  pa.dcm",
        "    file type:       DICOM (decoded with pydicom)",
        "    transfer syntax: Explicit VR Little Endian",
        "    photometric:     MONOCHROME2",
        "    window:          centre 2000, width 3000 (LINEAR, from the header)",
        "    size:            80 x 96 pixels (width x height)",
        "    view:            PA",
        "    body part:       CHEST",
        "  warnings:        none",
    ]


def test_inspect_folder_json(study_folder, capsys):
    folder, study_uid = study_folder
    assert app.cli.main(["inspect", str(folder), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["png"] == []
    assert len(output["studies"]) == 1
    study = output["studies"][0]
    assert study["study_uid"] == study_uid
    assert study["views"] == ["PA", "LATERAL"]
    assert [image["source"] for image in study["images"]] == ["pa.dcm", "lat.dcm"]
    assert study["images"][0]["window"]["centre"] == 2000.0


def test_inspect_writes_png(tmp_path, capsys):
    path = save(image_dataset(phantom(), WindowCenter=2000, WindowWidth=3000), tmp_path / "pa.dcm")
    out = tmp_path / "rendered.png"
    assert app.cli.main(["inspect", str(path), "--png", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {out}"
    assert np.array_equal(np.asarray(Image.open(out)), load_image(path).display)


def test_inspect_folder_writes_png_per_image(study_folder, tmp_path, capsys):
    folder, _ = study_folder
    out = tmp_path / "pngs"
    assert app.cli.main(["inspect", str(folder), "--png", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["lat.dcm.png", "pa.dcm.png"]
    assert "wrote" in capsys.readouterr().out


def test_inspect_corrupt_file_exits_2(tmp_path, capsys):
    path = tmp_path / "broken.dcm"
    path.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff")
    assert app.cli.main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "echo-cxr inspect: error: broken.dcm: the DICOM header is damaged or incomplete and cannot be read. "
        "Copy or export the file again from PACS\n"
    )


def test_inspect_text_file_exits_2(tmp_path, capsys):
    path = tmp_path / "report.dcm"
    path.write_text("FINDINGS: normal.\n")
    assert app.cli.main(["inspect", str(path)]) == 2
    assert capsys.readouterr().err == (
        "echo-cxr inspect: error: report.dcm: not a DICOM, PNG or JPEG image (the content looks like a text "
        "file). Export the radiograph as DICOM, PNG or JPEG\n"
    )


def test_inspect_missing_path_exits_2(tmp_path, capsys):
    assert app.cli.main(["inspect", str(tmp_path / "nothing.dcm")]) == 2
    assert (
        capsys.readouterr().err
        == "echo-cxr inspect: error: nothing.dcm: the file does not exist. Check the path\n"
    )


def test_inspect_png_keeps_files_with_same_name(tmp_path):
    import shutil
    from pathlib import Path

    from app.cli import main

    samples = Path(__file__).resolve().parents[2] / "assets" / "samples"
    for folder, name in (("s1", "nih_00001280_004_no_finding.png"), ("s2", "nih_00000061_015_pneumonia.png")):
        (tmp_path / "in" / folder).mkdir(parents=True)
        shutil.copy(samples / name, tmp_path / "in" / folder / "0.png")
    assert main(["inspect", str(tmp_path / "in"), "--png", str(tmp_path / "out")]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["0.png.2.png", "0.png.png"]
