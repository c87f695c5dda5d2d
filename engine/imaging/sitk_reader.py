"""SimpleITK (GDCM) as the second DICOM decoder, used where no pydicom plugin decodes a file.

SimpleITK does not hand back what the file stores, and two of its changes must be
undone before the shared display pipeline runs:

* Its GDCMImageIO applies RescaleSlope/RescaleIntercept. The result is read as
  float64, so that no integer output type limits its range, and the rescale is
  undone here to recover stored values.
* It inverts MONOCHROME1 data to MONOCHROME2 (stored s becomes 2**BitsStored - 1 - s
  unsigned, -1 - s signed) but still reports MONOCHROME1. Inverting again in the
  pipeline would show bone black, so this inversion is undone here. Measured with
  SimpleITK 2.5.7; other versions may behave differently, and a test guards this.

It reads the file from disk, so it cannot serve content that exists only in memory
(a decompressed .dcm.gz).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)

try:
    import SimpleITK as sitk
except ImportError:  # SimpleITK is a pinned dependency, but the reader stays optional.
    sitk = None


class SimpleITKDecodeError(RuntimeError):
    """SimpleITK could not decode a file."""


def is_available() -> bool:
    """Return whether SimpleITK can be used as a fallback decoder."""
    return sitk is not None


def read_stored_frame(path: Path, ds: Dataset) -> np.ndarray:
    """Decode the first frame of a DICOM file and return its stored pixel values.

    The result matches what pydicom decodes: (rows, columns) for greyscale as
    int64, (rows, columns, samples) for colour. `ds` is the file's header, read by
    pydicom, which supplies the photometric interpretation, bits and rescale.

    Raises:
        SimpleITKDecodeError: SimpleITK is missing or failed on the file.
    """
    if sitk is None:
        raise SimpleITKDecodeError("SimpleITK is not installed")
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    reader.SetOutputPixelType(sitk.sitkVectorFloat64 if samples > 1 else sitk.sitkFloat64)
    try:
        image = reader.Execute()
    except RuntimeError as error:
        # The ITK message contains the full path, which may contain PHI, so only the fact is kept.
        raise SimpleITKDecodeError("SimpleITK failed to decode the file") from error

    pixels = sitk.GetArrayFromImage(image)
    if samples > 1:
        # (frames, rows, columns, samples) or (rows, columns, samples)
        return np.rint(pixels[0] if pixels.ndim == 4 else pixels).astype(np.int64)
    if pixels.ndim == 3:
        pixels = pixels[0]

    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    stored = (pixels - intercept) / slope
    if str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1":
        bits_stored = int(ds.BitsStored)
        if int(ds.get("PixelRepresentation", 0) or 0):
            stored = -1.0 - stored
        else:
            stored = float((1 << bits_stored) - 1) - stored
    logger.debug("SimpleITK %s decoded %s", sitk.Version_VersionString(), ds.file_meta.TransferSyntaxUID.name)
    return np.rint(stored).astype(np.int64)
