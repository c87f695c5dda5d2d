"""The rendered image and its provenance: the contract shared by training and inference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from engine.imaging.model_input import VisionSpec, to_model_input

ImageKind = Literal["dicom", "png", "jpeg"]
View = Literal["PA", "AP", "LATERAL", "UNKNOWN"]
WindowMethod = Literal["window", "voi_lut", "data_range", "percentile"]

FRONTAL_VIEWS = ("PA", "AP")


@dataclass(frozen=True)
class Window:
    """The intensity window that turned stored values into the displayed 8-bit image.

    centre and width are in modality units (after RescaleSlope/Intercept) for DICOM
    and in stored units for 16-bit raster images. A VOI LUT has neither.
    """

    method: WindowMethod
    centre: float | None
    width: float | None
    function: str | None = None
    """VOILUTFunction for method "window": LINEAR, LINEAR_EXACT or SIGMOID."""
    percentiles: tuple[float, float] | None = None
    """Lower and upper percentile for method "percentile"."""

    def describe(self) -> str:
        """Return a one-line human-readable account of the window."""
        if self.method == "voi_lut":
            return "VOI LUT from the header"
        bounds = f"centre {self.centre:g}, width {self.width:g}"
        if self.method == "window":
            return f"{bounds} ({self.function}, from the header)"
        if self.method == "percentile" and self.percentiles is not None:
            low, high = self.percentiles
            return f"{bounds} (percentiles {low:g}-{high:g} of the pixel values)"
        return f"{bounds} (full range of the pixel values)"


@dataclass(eq=False)
class StudyImage:
    """One image as displayed to the radiologist, with its provenance and warnings."""

    display: np.ndarray = field(repr=False)
    """The windowed image, np.uint8 of shape (H, W), white = dense, for display, PDF and the model."""
    source: str
    """The file's base name."""
    kind: ImageKind
    view: View
    window: Window | None
    """None for 8-bit raster images, which are shown as stored."""
    photometric: str
    """DICOM PhotometricInterpretation, or the Pillow mode of a raster image."""
    transfer_syntax: str | None
    """The DICOM transfer syntax name, None for raster images."""
    size: tuple[int, int]
    """(rows, columns) of the stored image, before any EXIF rotation."""
    study_uid: str | None = None
    series_uid: str | None = None
    body_part: str | None = None
    modality: str | None = None
    instance_number: int | None = None
    decoder: str | None = None
    """The decoder that produced the pixels: a pydicom plugin name, "simpleitk" or "pillow"."""
    warnings: list[str] = field(default_factory=list)

    @property
    def is_frontal(self) -> bool:
        return self.view in FRONTAL_VIEWS

    def model_input(self, spec: VisionSpec) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Return (pixel_values, grid_thw) for the vision tower from the displayed image."""
        return to_model_input(self.display, spec)
