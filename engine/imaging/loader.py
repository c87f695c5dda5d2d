"""load_image: one file in, one rendered StudyImage out, whatever its format or name."""

from __future__ import annotations

import os
from pathlib import Path

from engine.imaging.checks import DEFAULT_LIMITS, ImagingLimits
from engine.imaging.dicom import read_dicom
from engine.imaging.errors import base_name
from engine.imaging.image import StudyImage
from engine.imaging.raster import read_raster
from engine.imaging.sniff import open_content, unsupported_format_error


def load_image(path: str | os.PathLike[str], *, limits: ImagingLimits | None = None) -> StudyImage:
    """Read a DICOM, PNG or JPEG file (optionally gzip-compressed) and render it.

    The format is recognised from the content, so files without an extension or
    without the DICOM preamble are read too.

    Raises:
        ImageInputError: the file cannot be used. `code` gives the reason, and the
            message names the file by its base name and gives the next step.
    """
    path = Path(path)
    limits = limits or DEFAULT_LIMITS
    sniffed, content = open_content(path, limits)
    if sniffed.format in ("dicom", "dicom_no_preamble"):
        image = read_dicom(path, limits, no_preamble=sniffed.format == "dicom_no_preamble", content=content)
    elif sniffed.format in ("png", "jpeg"):
        image = read_raster(path, sniffed.format, limits, content=content)
    else:
        raise unsupported_format_error(base_name(path), sniffed.description)
    if content is not None:
        image.warnings.insert(
            0, f"{image.source}: the file was gzip-compressed and was decompressed in memory"
        )
    return image
