"""Read PNG and JPEG files: screenshots, exports and photographs of films."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.imaging.checks import (
    ImagingLimits,
    check_declared_size,
    check_not_constant,
    colour_warning,
    noise_warning,
    saturation_warning,
)
from engine.imaging.errors import (
    CORRUPT_FILE,
    DECOMPRESSION_BOMB,
    TRUNCATED_FILE,
    UNSUPPORTED_PIXEL_FORMAT,
    ImageInputError,
    base_name,
)
from engine.imaging.image import StudyImage, Window
from engine.imaging.render import to_uint8

logger = logging.getLogger(__name__)

# The percentile window for high-bit-depth images: it ignores the 0.5% darkest and
# brightest pixels (labels, collimator edges) so that they do not compress the rest.
PERCENTILE_WINDOW = (0.5, 99.5)

HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
GREY_MODES = ("L", "1")
COLOUR_MODES = ("RGB", "RGBA", "RGBX", "LA", "P", "PA", "CMYK", "YCbCr", "La", "RGBa")


def _percentile_window(values: np.ndarray) -> tuple[np.ndarray, Window]:
    """Scale values to [0, 1] between two percentiles, clamping outside them."""
    low_percentile, high_percentile = PERCENTILE_WINDOW
    low, high = (float(v) for v in np.percentile(values, PERCENTILE_WINDOW))
    if high <= low:
        low, high = float(values.min()), float(values.max())
    unit = np.clip((values - low) / (high - low), 0.0, 1.0)
    return unit, Window(
        "percentile", (low + high) / 2, high - low, percentiles=(low_percentile, high_percentile)
    )


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite an image with transparency over black, the background of a radiograph."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _open(path: Path, content: io.BytesIO | None, source: str, limits: ImagingLimits) -> Image.Image:
    """Open an image lazily and check its declared size before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # ImagingLimits decides what is too large, so Pillow's warning (from 89.5 M pixels
            # in Pillow 12.3) is silenced. Its DecompressionBombError at twice that still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(content if content is not None else path)
    except Image.DecompressionBombError as error:
        raise ImageInputError(
            DECOMPRESSION_BOMB,
            source,
            "the image declares so many pixels that Pillow treats it as a decompression bomb",
            "Do not open this file; if it is a genuine image, downscale it first",
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(
            CORRUPT_FILE, source, "the image header is damaged and cannot be read", "Export the image again"
        ) from error
    try:
        check_declared_size(image.height, image.width, limits, source)
    except ImageInputError:
        image.close()
        raise
    return image


def _load(image: Image.Image, source: str) -> Image.Image:
    """Decode the pixels and apply the EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as error:
        raise ImageInputError(
            DECOMPRESSION_BOMB, source, "the image expands to too many pixels", "Do not open this file"
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Pillow reports a cut-off file as OSError("image file is truncated ...").
        truncated = "truncated" in str(error).lower()
        raise ImageInputError(
            TRUNCATED_FILE if truncated else CORRUPT_FILE,
            source,
            "the image data ends early" if truncated else "the image data is damaged and cannot be decoded",
            "Copy or export the image again",
        ) from error


def read_raster(
    path: Path, kind: str, limits: ImagingLimits, *, content: io.BytesIO | None = None
) -> StudyImage:
    """Read a PNG or JPEG file and return it rendered as 8-bit greyscale.

    8-bit greyscale is kept as stored. 16-bit greyscale is scaled with a percentile
    window, never clamped to 8 bits (which would turn it almost white). Colour is
    converted to luma after compositing any transparency over black.
    """
    source = base_name(path)
    image = _open(path, content, source, limits)
    size = (image.height, image.width)
    mode = image.mode
    image = _load(image, source)
    image_warnings: list[str] = []
    window: Window | None = None

    if image.mode in HIGH_DEPTH_MODES:
        values = np.asarray(image).astype(np.float64)
        check_not_constant(values, source, "image")
        unit, window = _percentile_window(values)
        display = to_uint8(unit)
    elif image.mode in GREY_MODES:
        display = np.asarray(image.convert("L"))
        check_not_constant(display, source, "image")
    elif image.mode in COLOUR_MODES:
        has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
        rgb_image = _flatten_alpha(image) if has_alpha else image.convert("RGB")
        rgb = np.asarray(rgb_image)
        colour = colour_warning(rgb, source)
        if colour:
            image_warnings.append(colour)
        display = np.asarray(rgb_image.convert("L"))
        check_not_constant(display, source, "image")
    else:
        raise ImageInputError(
            UNSUPPORTED_PIXEL_FORMAT,
            source,
            f"the image mode {image.mode} is not supported",
            "Save the image as 8-bit greyscale or RGB PNG",
        )

    for warning in (saturation_warning(display, source), noise_warning(display, source)):
        if warning:
            image_warnings.append(warning)
    logger.info("decoded %s: %s mode %s with Pillow", source, kind.upper(), mode)
    return StudyImage(
        display=np.ascontiguousarray(display, dtype=np.uint8),
        source=source,
        kind="png" if kind == "png" else "jpeg",
        view="UNKNOWN",
        window=window,
        photometric=mode,
        transfer_syntax=None,
        size=size,
        decoder="pillow",
        warnings=image_warnings,
    )
