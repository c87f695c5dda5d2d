"""Synthetic radiographs and DICOM files for the imaging tests.

The phantom is a 12-bit MONOCHROME2 "chest": dark lungs, a brighter mediastinum
and the brightest spine, on a darker background, with a gentle gradient so that no
region is constant. MONOCHROME1 twins store 4095 - value.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)

from engine.imaging import ImageInputError, load_image

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DICOM_DATA = SHARED_DATA / "dicom"

RG1_J2K = DICOM_DATA / "cr_chest_pa_mono1_j2k_lossy_RG1_J2KI.dcm"
RG1_RLE = DICOM_DATA / "derived" / "cr_chest_pa_mono1_rle_DERIVED.dcm"
NIH_DX = DICOM_DATA / "dx_chest_nih_mono2_uncompressed.dcm"
NIH_JPEG = DICOM_DATA / "derived" / "dx_chest_nih_mono2_jpeg_baseline_DERIVED.dcm"
TIBIA_J2K = DICOM_DATA / "cr_tibia_mono1_j2k_lossless_RG3_J2KR_nonchest.dcm"

PHANTOM_SHAPE = (96, 80)
MAX_12_BIT = 4095

# Regions of the phantom and of the real chest files, as fractions (row0, row1, col0, col1).
LUNG_LEFT = (0.35, 0.5, 0.15, 0.35)
LUNG_RIGHT = (0.35, 0.5, 0.62, 0.8)
MEDIASTINUM = (0.3, 0.55, 0.46, 0.54)
LOWER_MEDIASTINUM = (0.6, 0.75, 0.45, 0.55)


def require_shared_data() -> None:
    if not DICOM_DATA.is_dir():
        pytest.skip(
            f"shared test data not found at {DICOM_DATA} (expected a 'shared' folder beside the repository)"
        )


def region_mean(image: np.ndarray, region: tuple[float, float, float, float]) -> float:
    rows, columns = image.shape[:2]
    row0, row1, col0, col1 = region
    return float(image[int(row0 * rows) : int(row1 * rows), int(col0 * columns) : int(col1 * columns)].mean())


def phantom(shape: tuple[int, int] = PHANTOM_SHAPE) -> np.ndarray:
    """Return a uint16 MONOCHROME2 chest phantom with values in 0..4095."""
    rows, columns = shape
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float64)
    image = np.full(shape, 1800.0)
    image += 200.0 * y / rows  # gradient towards the abdomen
    for centre_x in (0.25 * columns, 0.71 * columns):
        lung = ((x - centre_x) / (0.16 * columns)) ** 2 + ((y - 0.45 * rows) / (0.3 * rows)) ** 2 <= 1
        image[lung] = 700.0 + 100.0 * y[lung] / rows
    image[:, int(0.42 * columns) : int(0.58 * columns)] = 2600.0 + 100.0 * y[:, :1] / rows
    image[:, int(0.48 * columns) : int(0.52 * columns)] = 3400.0
    image[:, :3] = 0.0  # collimator edge
    image[:, -3:] = MAX_12_BIT
    return np.rint(image).astype(np.uint16)


def image_dataset(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    signed: bool = False,
    study_uid: str | None = None,
    series_uid: str | None = None,
    view: str | None = "PA",
    **attributes: object,
) -> Dataset:
    """Return a native (Explicit VR Little Endian) CR data set holding the pixels."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ComputedRadiographyImageStorage
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID

    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    if view is not None:
        ds.ViewPosition = view
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-12345"

    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        ds.Rows, ds.Columns = pixels.shape[:2]
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
    elif pixels.ndim == 3:
        ds.NumberOfFrames, ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel = 1
    else:
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()

    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def save(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def bytes_without_preamble(ds: Dataset, *, with_file_meta: bool) -> bytes:
    """Return the data set encoded without the preamble and DICM marker (optionally with file meta)."""
    buffer = DicomBytesIO()
    if with_file_meta:
        write_file_meta_info(buffer, ds.file_meta, enforce_standard=False)
    buffer.is_little_endian = True
    buffer.is_implicit_VR = not with_file_meta
    dataset = Dataset()
    dataset.update(ds)
    write_dataset(buffer, dataset)
    return buffer.getvalue()


def gzip_file(path: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


def transcode_with_gdcm(source: Path, target: Path, syntax_name: str) -> Path:
    """Transcode a file with GDCM, for syntaxes that pydicom cannot encode (JPEG Lossless SV1)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    assert reader.Read(), f"GDCM failed to read {source.name}"
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax_name)))
    change.SetInput(reader.GetImage())
    assert change.Change(), f"GDCM failed to encode {syntax_name}"
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(target))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write(), f"GDCM failed to write {target.name}"
    return target


def load_error(path: Path, **kwargs: object) -> ImageInputError:
    """Return the ImageInputError that load_image raises for path."""
    with pytest.raises(ImageInputError) as caught:
        load_image(path, **kwargs)
    return caught.value


def png_bytes(image, **save_options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save_options)
    return buffer.getvalue()
