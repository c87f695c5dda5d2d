"""Image input: DICOM and raster readers, studies and views, rendering and de-identification.

Every reader returns a StudyImage whose `display` is the 8-bit greyscale image a
radiologist would see. Training, evaluation, the CLI and the app all build the
model input from it through `StudyImage.model_input`.
"""

from engine.imaging.checks import ImagingLimits
from engine.imaging.deid import DeidentifiedDataset, Deidentifier
from engine.imaging.describe import describe
from engine.imaging.errors import ImageInputError
from engine.imaging.image import StudyImage, Window
from engine.imaging.loader import load_image
from engine.imaging.model_input import VisionSpec
from engine.imaging.study import Study, group_studies, load_study

__all__ = [
    "Deidentifier",
    "DeidentifiedDataset",
    "ImageInputError",
    "ImagingLimits",
    "Study",
    "StudyImage",
    "VisionSpec",
    "Window",
    "describe",
    "group_studies",
    "load_image",
    "load_study",
]
