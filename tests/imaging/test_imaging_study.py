"""Studies: grouping by UID, view order, DICOMDIR, folders with other files, describe()."""

from __future__ import annotations

import json

import numpy as np
import pytest
from imaging_factory import DICOM_DATA, image_dataset, phantom, png_bytes, require_shared_data, save
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from engine.imaging import ImageInputError, Study, describe, group_studies, load_study
from engine.imaging.views import classify_view

FILE_SET_ATTRIBUTES = {
    "StudyDate": "20240101",
    "StudyTime": "120000",
    "StudyID": "1",
    "AccessionNumber": "A1",
}


def write_study(folder, views, *, study_uid=None, **attributes):
    """Write one file per view into folder and return the study UID."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    for index, view in enumerate(views):
        ds = image_dataset(phantom(), study_uid=study_uid, view=view, InstanceNumber=index + 1, **attributes)
        save(ds, folder / f"IM{index:04d}")
    return study_uid


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("PA", "PA"),
        ("AP", "AP"),
        ("LL", "LATERAL"),
        ("RL", "LATERAL"),
        ("LAT", "LATERAL"),
        ("RLD", "UNKNOWN"),
        ("", "UNKNOWN"),
    ],
)
def test_view_from_view_position(position, expected):
    ds = Dataset()
    ds.ViewPosition = position
    assert classify_view(ds) == expected


@pytest.mark.parametrize(
    ("meaning", "expected"),
    [
        ("postero-anterior", "PA"),
        ("antero-posterior", "AP"),
        ("left lateral", "LATERAL"),
        ("left lateral decubitus", "UNKNOWN"),
    ],
)
def test_view_from_view_code_sequence(meaning, expected):
    item = Dataset()
    item.CodeMeaning = meaning
    ds = Dataset()
    ds.ViewCodeSequence = [item]
    assert classify_view(ds) == expected


def test_folder_study_orders_frontal_first(tmp_path):
    study_uid = write_study(tmp_path / "study", ["LL", "AP", "PA"])
    (tmp_path / "study" / "README.TXT").write_text("exported by PACS\n")
    (tmp_path / "study" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    study = load_study(tmp_path / "study")
    assert isinstance(study, Study)
    assert study.study_uid == study_uid
    assert [image.view for image in study.images] == ["PA", "AP", "LATERAL"]
    assert [image.source for image in study.images] == ["IM0002", "IM0001", "IM0000"]
    assert study.frontal.source == "IM0002"
    assert study.lateral.source == "IM0000"
    assert study.warnings == []


def test_series_grouping(tmp_path):
    study_uid = generate_uid()
    frontal_series, lateral_series = generate_uid(), generate_uid()
    folder = tmp_path / "series"
    folder.mkdir()
    save(image_dataset(phantom(), study_uid=study_uid, series_uid=frontal_series, view="PA"), folder / "a")
    save(image_dataset(phantom(), study_uid=study_uid, series_uid=lateral_series, view="LL"), folder / "b")
    save(image_dataset(phantom(), study_uid=study_uid, series_uid=frontal_series, view="PA"), folder / "c")
    series = load_study(folder).series()
    assert list(series) == [frontal_series, lateral_series]
    assert [image.source for image in series[frontal_series]] == ["a", "c"]
    assert [image.source for image in series[lateral_series]] == ["b"]


def test_lateral_only_study_warns(tmp_path):
    write_study(tmp_path / "lat", ["LL"])
    study = load_study(tmp_path / "lat")
    assert study.frontal is None
    assert study.warnings == [
        "the study has no frontal (PA or AP) view according to its headers; reports are drafted from frontal views"
    ]


def test_dicomdir_study(tmp_path):
    study_uid = generate_uid()
    file_set = FileSet()
    for number, view in enumerate(["LL", "PA"], start=1):
        ds = image_dataset(
            phantom(),
            study_uid=study_uid,
            view=view,
            SeriesNumber=number,
            InstanceNumber=1,
            **FILE_SET_ATTRIBUTES,
        )
        file_set.add(ds)
    file_set.write(tmp_path / "export")
    dicomdir = tmp_path / "export" / "DICOMDIR"

    study = load_study(dicomdir)
    assert study.study_uid == study_uid
    assert [image.view for image in study.images] == ["PA", "LATERAL"]

    with pytest.raises(ImageInputError) as caught:
        from engine.imaging import load_image

        load_image(dicomdir)
    assert caught.value.code == "dicomdir_not_image"
    assert str(caught.value) == (
        "DICOMDIR: this is a DICOMDIR, an index of a DICOM file set, not an image. "
        "Load it as a study, or open the folder that contains it"
    )

    assert [image.view for image in load_study(tmp_path / "export").images] == ["PA", "LATERAL"]


def test_dicomdir_with_missing_file(tmp_path):
    file_set = FileSet()
    file_set.add(image_dataset(phantom(), SeriesNumber=1, InstanceNumber=1, **FILE_SET_ATTRIBUTES))
    file_set.write(tmp_path / "export")
    next((tmp_path / "export").rglob("IM*")).unlink()
    with pytest.raises(ImageInputError) as caught:
        load_study(tmp_path / "export" / "DICOMDIR")
    assert caught.value.code == "not_found"
    assert str(caught.value) == (
        "DICOMDIR: the DICOMDIR lists 1 file(s) that do not exist, the first is IM000000. "
        "Copy the whole file set, with its folders, next to the DICOMDIR"
    )


def test_two_studies_grouped_and_refused_as_one(tmp_path):
    first = write_study(tmp_path / "mixed" / "one", ["PA", "LL"])
    second = write_study(tmp_path / "mixed" / "two", ["AP"])
    studies = group_studies(tmp_path / "mixed")
    assert [study.study_uid for study in studies] == [first, second]
    assert [[image.view for image in study.images] for study in studies] == [["PA", "LATERAL"], ["AP"]]

    with pytest.raises(ImageInputError) as caught:
        load_study(tmp_path / "mixed")
    assert caught.value.code == "multiple_studies"
    assert str(caught.value) == (
        "mixed: the files belong to 2 different studies (StudyInstanceUID). "
        "Select the files of one study, or group them with group_studies / inspect on the folder"
    )
    assert Study.group_studies(tmp_path / "mixed")[1].study_uid == second


def test_raster_files_form_one_study_each(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(png_bytes(Image.fromarray((phantom() // 16).astype(np.uint8))))
    studies = group_studies(folder)
    assert [[image.source for image in study.images] for study in studies] == [["a.png"], ["b.png"]]
    assert [study.study_uid for study in studies] == [None, None]
    merged = load_study([folder / "a.png", folder / "b.png"])
    assert [image.source for image in merged.images] == ["a.png", "b.png"]
    assert merged.warnings == [
        "2 of the 2 images carry no StudyInstanceUID, so they were drafted as one study without proof that they "
        "belong to one patient; check them, or draft each file on its own"
    ]
    assert load_study(folder / "a.png").warnings == []


def test_corrupt_image_in_folder_raises_unless_skipped(tmp_path):
    write_study(tmp_path / "study", ["PA"])
    (tmp_path / "study" / "broken.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff")
    with pytest.raises(ImageInputError) as caught:
        load_study(tmp_path / "study")
    assert caught.value.code == "corrupt_file"
    study = load_study(tmp_path / "study", skip_errors=True)
    assert [image.source for image in study.images] == ["IM0000"]
    assert study.warnings == [
        "skipped broken.dcm: the DICOM header is damaged or incomplete and cannot be read. "
        "Copy or export the file again from PACS"
    ]


def test_empty_folder_has_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here\n")
    with pytest.raises(ImageInputError) as caught:
        load_study(tmp_path / "empty")
    assert caught.value.code == "no_images"
    assert str(caught.value) == (
        "empty: no DICOM, PNG or JPEG image was found. Point at the folder or files of a chest X-ray study"
    )


def test_folder_file_limit(tmp_path):
    from engine.imaging import ImagingLimits

    write_study(tmp_path / "study", ["PA", "LL", "AP"])
    with pytest.raises(ImageInputError) as caught:
        load_study(tmp_path / "study", limits=ImagingLimits(max_folder_files=2))
    assert caught.value.code == "too_large"
    assert str(caught.value) == (
        "study: more than 2 files were found. "
        "Point at the folder of one study, or raise ImagingLimits.max_folder_files"
    )


def test_study_warnings_deduplicated(tmp_path):
    write_study(tmp_path / "hand", ["PA", "LL"], BodyPartExamined="HAND")
    study = load_study(tmp_path / "hand")
    assert study.warnings == [
        "IM0000: BodyPartExamined is HAND, not chest; this model drafts chest X-ray reports only, "
        "so check that the right image was selected",
        "IM0001: BodyPartExamined is HAND, not chest; this model drafts chest X-ray reports only, "
        "so check that the right image was selected",
    ]


def test_describe_is_json_ready(tmp_path):
    study_uid = write_study(tmp_path / "study", ["LL", "PA"], WindowCenter=2000, WindowWidth=3000)
    summary = describe(load_study(tmp_path / "study"))
    assert json.loads(json.dumps(summary)) == summary
    assert summary["study_uid"] == study_uid
    assert summary["views"] == ["PA", "LATERAL"]
    frontal = summary["images"][0]
    assert frontal["source"] == "IM0001"
    assert frontal["kind"] == "dicom"
    assert frontal["transfer_syntax"] == "Explicit VR Little Endian"
    assert frontal["photometric"] == "MONOCHROME2"
    assert frontal["window"] == {
        "method": "window",
        "centre": 2000.0,
        "width": 3000.0,
        "function": "LINEAR",
        "percentiles": None,
    }
    assert frontal["size"] == [96, 80]
    assert frontal["instance_number"] == 2
    assert frontal["warnings"] == []


def test_real_files_group_into_three_studies():
    require_shared_data()
    studies = group_studies(DICOM_DATA)
    assert [len(study.images) for study in studies] == [2, 1, 2]
    assert [image.source for image in studies[0].images] == [
        "cr_chest_pa_mono1_j2k_lossy_RG1_J2KI.dcm",
        "cr_chest_pa_mono1_rle_DERIVED.dcm",
    ]
    assert studies[1].images[0].body_part == "EXTREMITY"
