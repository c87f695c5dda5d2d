"""De-identification with the PS3.15 basic profile and consistent UID mapping."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from imaging_factory import NIH_DX, RG1_J2K, RG1_RLE, image_dataset, phantom, require_shared_data
from pydicom import dcmread
from pydicom.dataset import Dataset

from engine.imaging import Deidentifier, load_image


@pytest.fixture(scope="module")
def rg1_pair():
    require_shared_data()
    return dcmread(RG1_J2K), dcmread(RG1_RLE)


def encoded(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_basic_profile_on_real_cr(rg1_pair):
    original, _ = rg1_pair
    result = Deidentifier(salt=b"site-secret").deidentify(original)
    ds = result.dataset
    assert ds.PatientName == ""
    assert ds.PatientID.startswith("ANON-")
    assert len(ds.PatientID) == 21
    assert ds.PatientBirthDate == ""
    assert ds.PatientSex == ""
    assert ds.StudyDate == ""
    assert ds.AccessionNumber == ""
    assert ds.ReferringPhysicianName == ""
    for keyword in (
        "OtherPatientIDs",
        "InstitutionName",
        "InstitutionalDepartmentName",
        "StationName",
        "DeviceSerialNumber",
        "SourceImageSequence",
        "ImageComments",
        "StudyDescription",
        "SeriesDate",
        "DerivationDescription",
        "ProcessingFunction",
        "TimezoneOffsetFromUTC",
    ):
        assert keyword not in ds, keyword
    assert ds.SOPClassUID == original.SOPClassUID
    assert ds.StudyInstanceUID != original.StudyInstanceUID
    assert ds.StudyInstanceUID.startswith("2.25.")
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.Manufacturer == "Philips Medical Systems"
    assert ds.BodyPartExamined == "CHEST"
    assert ds.ViewPosition == "PA"
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.LongitudinalTemporalInformationModified == "REMOVED"
    assert [item.CodeValue for item in ds.DeidentificationMethodCodeSequence] == ["113100"]
    assert ds.PixelData == original.PixelData
    assert result.warnings == []
    assert original.PatientName == "CompressedSamples^RG1"  # the input is unchanged

    data = encoded(ds)
    for identifier in (b"CompressedSamples", b"9RG1", b"19400305", b"Hamburg", b"26210", b"THORAVISION"):
        assert identifier not in data


def test_uids_consistent_within_run(rg1_pair):
    j2k, rle = rg1_pair
    deidentifier = Deidentifier()
    first, second = deidentifier.deidentify(j2k).dataset, deidentifier.deidentify(rle).dataset
    assert first.StudyInstanceUID == second.StudyInstanceUID
    assert first.SeriesInstanceUID == second.SeriesInstanceUID
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert first.PatientID == second.PatientID
    assert deidentifier.uid_map[str(j2k.StudyInstanceUID)] == first.StudyInstanceUID


def test_salt_controls_mapping(rg1_pair):
    original, _ = rg1_pair
    same_a = Deidentifier(salt=b"a").deidentify(original).dataset
    same_b = Deidentifier(salt=b"a").deidentify(original).dataset
    other = Deidentifier(salt=b"b").deidentify(original).dataset
    assert same_a.StudyInstanceUID == same_b.StudyInstanceUID
    assert same_a.PatientID == same_b.PatientID
    assert other.StudyInstanceUID != same_a.StudyInstanceUID
    assert other.PatientID != same_a.PatientID


def test_nested_sequences_cleaned():
    ds = image_dataset(phantom())
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = ds.SOPClassUID
    referenced.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    referenced.add_new(0x00081050, "PN", "Smith^Operator")  # Performing Physician's Name
    referenced.add_new(0x00400254, "LO", "Chest 2 views, Jane Doe")  # Performed Procedure Step Description
    ds.add_new(0x00081250, "SQ", [referenced])  # Related Series Sequence, not in the profile table
    ds.add_new(0x00091001, "LO", "private note")
    ds.add_new(0x60003000, "OW", bytes(8))
    deidentifier = Deidentifier(salt=b"x")
    out = deidentifier.deidentify(ds).dataset
    item = out[0x00081250].value[0]
    assert item.ReferencedSOPClassUID == ds.SOPClassUID
    assert item.ReferencedSOPInstanceUID == out.SOPInstanceUID
    assert 0x00081050 not in item
    assert 0x00400254 not in item
    assert 0x00091001 not in out
    assert 0x60003000 not in out


def as_date(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def test_date_shift_keeps_intervals():
    first = image_dataset(phantom(), StudyDate="20240301", ContentDate="20240302", StudyTime="101500")
    second = image_dataset(phantom(), StudyDate="20240310")
    deidentifier = Deidentifier(salt=b"x", shift_dates=True)
    shift = deidentifier.date_shift_days("PID-12345")
    out_first = deidentifier.deidentify(first).dataset
    out_second = deidentifier.deidentify(second).dataset
    assert -3650 <= shift <= -1
    assert (as_date(out_first.StudyDate) - date(2024, 3, 1)).days == shift
    assert (as_date(out_first.ContentDate) - as_date(out_first.StudyDate)).days == 1
    assert (as_date(out_second.StudyDate) - as_date(out_first.StudyDate)).days == 9
    assert out_first.StudyTime == "101500"
    assert out_first.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [item.CodeValue for item in out_first.DeidentificationMethodCodeSequence] == ["113100", "113107"]


def test_patient_characteristics_option():
    ds = image_dataset(phantom(), PatientSex="F", PatientAge="054Y")
    out = Deidentifier(retain_patient_characteristics=True).deidentify(ds).dataset
    assert (out.PatientSex, out.PatientAge) == ("F", "054Y")
    assert out.PatientName == ""
    assert [item.CodeValue for item in out.DeidentificationMethodCodeSequence] == ["113100", "113108"]


def test_secondary_capture_warns_burned_in_text():
    require_shared_data()
    result = Deidentifier().deidentify(dcmread(NIH_DX))
    assert result.warnings == [
        "the pixel data may show burned-in identifying text (it is a secondary capture); the basic profile "
        "does not clean pixel data, so review or mask the image before it leaves the site"
    ]
    assert result.dataset.PatientID != "Covid0000"


def test_deidentified_file_renders_identically(tmp_path):
    require_shared_data()
    target = tmp_path / "anon.dcm"
    warnings = Deidentifier().deidentify_file(RG1_RLE, target)
    assert warnings == []
    assert np.array_equal(load_image(target).display, load_image(RG1_RLE).display)
    assert b"CompressedSamples" not in target.read_bytes()
