"""Limits and plausibility checks shared by the DICOM and raster readers.

The errors here stop an image from reaching the model. The warnings only tell the
radiologist that the image may not be a chest radiograph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.imaging.errors import (
    CONSTANT_PIXELS,
    OUT_OF_RANGE,
    TOO_LARGE,
    ImageInputError,
)


@dataclass(frozen=True)
class ImagingLimits:
    """Size limits checked from headers before any pixel data is decoded."""

    max_pixels: int = 50_000_000
    """Largest rows * columns of one frame. A 43 cm detector at 100 um gives about
    4,300 x 4,300 (18.5 M pixels), so this leaves room for larger scans of films
    and for 48-megapixel phone photographs of them."""
    max_side: int = 20_000
    """Largest height or width in pixels."""
    max_file_bytes: int = 1 << 30
    """Largest file, and largest decompressed content of a .gz file, in bytes."""
    max_folder_files: int = 10_000
    """Most files examined when a folder is loaded as studies."""


DEFAULT_LIMITS = ImagingLimits()

# Terms in BodyPartExamined that mean the chest. DICOM defines CHEST; the others are
# older or local terms that PACS exports carry (THORAX, German BRUST, Spanish TORAX,
# Italian TORACE).
CHEST_BODY_PART_TERMS = ("CHEST", "THORAX", "THORACIC", "LUNG", "TORAX", "TORACE", "BRUST")

# Modalities that produce projection radiographs, plus the secondary capture and
# "other" modalities that scanned or converted films arrive with.
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG", "OT", "SC", "XC"})


def check_declared_size(rows: int, columns: int, limits: ImagingLimits, source: str) -> None:
    """Raise ImageInputError (too_large) when a header declares a frame beyond the limits."""
    if rows > limits.max_side or columns > limits.max_side or rows * columns > limits.max_pixels:
        raise ImageInputError(
            TOO_LARGE,
            source,
            f"the image is {columns} x {rows} pixels, over the limit of "
            f"{limits.max_pixels:,} pixels and {limits.max_side:,} pixels a side",
            "Downscale or crop the image, or raise ImagingLimits if the size is expected",
        )


def check_not_constant(pixels: np.ndarray, source: str, what: str) -> None:
    """Raise ImageInputError (constant_pixels) when every pixel has the same value.

    A decoder that fails silently (for example on a damaged JPEG 2000 stream) can
    return an all-zero frame, and a blank export looks the same.
    """
    if pixels.size == 0 or pixels.min() == pixels.max():
        value = pixels.flat[0] if pixels.size else "nothing"
        raise ImageInputError(
            CONSTANT_PIXELS,
            source,
            f"every pixel of the {what} has the same value ({value}), so it contains no image",
            "Export the image again; if it still fails, the original file is damaged",
        )


def check_stored_range(pixels: np.ndarray, bits_stored: int, signed: bool, source: str) -> None:
    """Raise ImageInputError (out_of_range) when decoded values do not fit BitsStored.

    Values outside the declared bit depth mean the decoder and the header disagree,
    so any window computed from the header would be wrong.
    """
    if signed:
        low, high = -(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1
    else:
        low, high = 0, (1 << bits_stored) - 1
    actual_low, actual_high = int(pixels.min()), int(pixels.max())
    if actual_low < low or actual_high > high:
        raise ImageInputError(
            OUT_OF_RANGE,
            source,
            f"decoded pixel values span {actual_low}..{actual_high}, outside the range "
            f"{low}..{high} that BitsStored {bits_stored} allows",
            "The header does not match the compressed data; export the image again from PACS",
        )


def body_part_warning(body_part: str | None, source: str) -> str | None:
    """Return a warning when BodyPartExamined is present and does not name the chest."""
    if not body_part:
        return None
    value = body_part.strip().upper()
    if any(term in value for term in CHEST_BODY_PART_TERMS):
        return None
    return (
        f"{source}: BodyPartExamined is {value}, not chest; this model drafts chest X-ray "
        "reports only, so check that the right image was selected"
    )


def modality_warning(modality: str | None, source: str) -> str | None:
    """Return a warning when the DICOM Modality is not a projection radiograph."""
    if not modality:
        return None
    value = modality.strip().upper()
    if value in RADIOGRAPH_MODALITIES:
        return None
    return (
        f"{source}: modality is {value}, not a projection radiograph (CR or DX); "
        "this model drafts chest X-ray reports only"
    )


def colour_fraction(rgb: np.ndarray) -> float:
    """Return the fraction of pixels whose channels differ by more than 48 of 255.

    Radiographs are grey, and photographs of films are at most slightly tinted.
    """
    channels = rgb[..., :3].astype(np.int16)
    chroma = channels.max(axis=-1) - channels.min(axis=-1)
    return float(np.count_nonzero(chroma > 48)) / chroma.size


COLOUR_FRACTION_LIMIT = 0.2
"""Share of strongly coloured pixels above which an image is flagged as not a radiograph."""


def colour_warning(rgb: np.ndarray, source: str) -> str | None:
    """Return a warning when a colour image is strongly coloured, unlike a radiograph."""
    fraction = colour_fraction(rgb)
    if fraction <= COLOUR_FRACTION_LIMIT:
        return None
    return (
        f"{source}: {fraction:.0%} of the pixels are strongly coloured, so this does not "
        "look like a radiograph; check that the right image was selected"
    )


def saturation_warning(display: np.ndarray, source: str) -> str | None:
    """Return a warning when the window maps most of the image to pure black or white."""
    black = float(np.count_nonzero(display == 0)) / display.size
    white = float(np.count_nonzero(display == 255)) / display.size
    if max(black, white) <= 0.9:
        return None
    colour = "black" if black > white else "white"
    return (
        f"{source}: {max(black, white):.0%} of the rendered image is pure {colour}; "
        "the window may not suit this image"
    )


NOISE_CORRELATION = 0.5
"""Adjacent-pixel correlation below which an image is flagged as noise. Radiographs are smooth:
NIH, COVID-19 collection and IU samples measured 0.87 to 0.999, random noise about 0."""


def noise_warning(display: np.ndarray, source: str) -> str | None:
    """Return a warning when neighbouring pixels are nearly uncorrelated, as in noise, unlike a radiograph."""
    if display.ndim != 2 or min(display.shape) < 2:
        return None
    left = display[:, :-1].astype(np.float64).ravel()
    right = display[:, 1:].astype(np.float64).ravel()
    if left.std() == 0 or right.std() == 0:
        return None
    correlation = float(np.corrcoef(left, right)[0, 1])
    if correlation >= NOISE_CORRELATION:
        return None
    return (
        f"{source}: neighbouring pixels are almost uncorrelated ({correlation:.2f}), as in noise, so this does "
        "not look like a radiograph and a draft from it is meaningless; check that the right image was selected"
    )
