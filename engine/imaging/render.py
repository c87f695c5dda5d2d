"""The DICOM greyscale display pipeline: modality LUT, VOI, polarity, 8-bit output.

The order follows DICOM PS3.4 N.2 (Grayscale Transformations): the modality
transform (Modality LUT or RescaleSlope/RescaleIntercept), then the VOI transform
(VOI LUT Sequence or WindowCenter/WindowWidth with VOILUTFunction), then the
polarity. MONOCHROME1 is inverted after the VOI step, because the window values in
the header refer to the stored, not yet inverted, values.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut

from engine.imaging.image import Window

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


def _first(value: object) -> object:
    if isinstance(value, (MultiValue, list, tuple)):
        return value[0] if len(value) else None
    return value


def _lut_values(item: Dataset) -> tuple[np.ndarray, int, int]:
    """Return (table, first mapped input value, bits per entry) of a LUT sequence item."""
    entries, first_mapped, bits = (int(v) for v in item.LUTDescriptor)
    entries = entries or 65536  # PS3.3 C.11.1.1.1: 0 means 2**16 entries
    data = item.LUTData
    if isinstance(data, (bytes, bytearray)):
        # OW data: 16-bit little-endian words, one per entry.
        table = np.frombuffer(data, dtype="<u2").astype(np.float64)
    else:
        table = np.asarray(data if isinstance(data, (list, MultiValue)) else [data], dtype=np.float64)
    return table[:entries], first_mapped, bits


def _look_up(values: np.ndarray, table: np.ndarray, first_mapped: int) -> np.ndarray:
    """Map values through a LUT, clamping inputs below or above the table to its ends."""
    index = np.clip(np.rint(values) - first_mapped, 0, len(table) - 1).astype(np.intp)
    return table[index]


def apply_modality(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Return modality values (float64) from stored values.

    A negative RescaleSlope flips the polarity. The window in the header is then
    given in the flipped units, so nothing else needs to change.
    """
    sequence = ds.get("ModalityLUTSequence")
    if sequence:
        table, first_mapped, _ = _lut_values(sequence[0])
        return _look_up(stored, table, first_mapped)
    return np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)


def window_linear(values: np.ndarray, centre: float, width: float, function: str) -> np.ndarray:
    """Apply a window per PS3.3 C.11.2.1.2 and return values in [0, 1]."""
    if function == "LINEAR_EXACT":
        return np.clip((values - centre) / width + 0.5, 0.0, 1.0)
    if function == "SIGMOID":
        # 1 / (1 + exp(-4 (x - c) / w)), written with tanh so that it cannot overflow.
        return 0.5 * (1.0 + np.tanh(2.0 * (values - centre) / width))
    # LINEAR: the -0.5 and width - 1 place the window edges on pixel-value centres.
    if width <= 1:
        return (values > centre - 0.5).astype(np.float64)
    return np.clip((values - (centre - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def _data_range(values: np.ndarray) -> tuple[np.ndarray, Window]:
    low, high = float(values.min()), float(values.max())
    span = high - low
    unit = (values - low) / span if span > 0 else np.zeros_like(values)
    return unit, Window("data_range", (low + high) / 2, span)


def apply_voi(values: np.ndarray, ds: Dataset, source: str) -> tuple[np.ndarray, Window, list[str]]:
    """Return (values in [0, 1], the window used, warnings) for modality values.

    A VOI LUT Sequence takes precedence over WindowCenter/WindowWidth. Without
    either, the full range of the values is shown.
    """
    warnings: list[str] = []
    sequence = ds.get("VOILUTSequence")
    if sequence:
        table, first_mapped, bits = _lut_values(sequence[0])
        full_scale = float((1 << bits) - 1)
        if table.max() > full_scale:
            warnings.append(
                f"{source}: the VOI LUT contains values above its declared {bits}-bit range; they were clamped"
            )
        unit = np.clip(_look_up(values, table, first_mapped) / full_scale, 0.0, 1.0)
        return unit, Window("voi_lut", None, None), warnings

    centre, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if centre is None or width is None:
        unit, window = _data_range(values)
        return unit, window, warnings
    centre, width = float(centre), float(width)
    function = str(ds.get("VOILUTFunction") or "LINEAR").strip().upper()
    if function not in VOI_FUNCTIONS:
        warnings.append(f"{source}: VOILUTFunction {function} is not defined by DICOM; LINEAR was used")
        function = "LINEAR"
    if width <= 0:
        warnings.append(
            f"{source}: WindowWidth {width:g} is not positive; the full range of the pixel values was shown"
        )
        unit, window = _data_range(values)
        return unit, window, warnings
    unit = window_linear(values, centre, width, function)
    return unit, Window("window", centre, width, function), warnings


def polarity_inverted(ds: Dataset, source: str) -> tuple[bool, list[str]]:
    """Return whether the VOI output must be inverted for display, and warnings.

    MONOCHROME1 (minimum shown white) and PresentationLUTShape INVERSE both call for
    one inversion. The DX IOD requires INVERSE together with MONOCHROME1, so a file
    carrying both is inverted once, not twice.
    """
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    shape = str(ds.get("PresentationLUTShape") or "").strip().upper()
    if photometric == "MONOCHROME1":
        if shape == "IDENTITY":
            return True, [
                f"{source}: the header combines MONOCHROME1 with PresentationLUTShape IDENTITY; "
                "the image was inverted as MONOCHROME1 requires, so check its polarity"
            ]
        return True, []
    if shape == "INVERSE":
        return True, [
            f"{source}: PresentationLUTShape INVERSE asks for inverted display of a "
            "MONOCHROME2 image; it is shown inverted, so check its polarity"
        ]
    return False, []


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """Quantise values in [0, 1] to np.uint8, rounding to the nearest level."""
    return np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def render_greyscale(stored: np.ndarray, ds: Dataset, source: str) -> tuple[np.ndarray, Window, list[str]]:
    """Return (display as np.uint8, window, warnings) for one greyscale frame of stored values."""
    values = apply_modality(stored, ds)
    unit, window, warnings = apply_voi(values, ds, source)
    inverted, polarity_warnings = polarity_inverted(ds, source)
    if inverted:
        unit = 1.0 - unit
    return to_uint8(unit), window, warnings + polarity_warnings
