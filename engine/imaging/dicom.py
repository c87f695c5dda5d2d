"""Read one DICOM file: parse, validate the header, decode the first frame, render.

Decoders (pydicom 3.0.2 plugins, chosen for licences a hospital can ship):

| transfer syntax | decoder (licence) |
|---|---|
| uncompressed, deflated | pydicom (MIT) |
| RLE Lossless | pylibjpeg-rle (MIT), pydicom |
| JPEG Baseline / Extended | Pillow (MIT-CMU), python-gdcm |
| JPEG Lossless P14 and SV1 | python-gdcm (Apache-2.0 wrapper of GDCM, BSD-3-Clause) |
| JPEG-LS lossless / near-lossless | pyjpegls (MIT, CharLS BSD-3-Clause), python-gdcm |
| JPEG 2000, HTJ2K | pylibjpeg-openjpeg (MIT, OpenJPEG BSD-2-Clause), pylibjpeg (MIT) |
| anything the above fail on | SimpleITK (Apache-2.0, bundles GDCM) |

NOTE: pylibjpeg-libjpeg would also decode JPEG Lossless, but it is GPL-3.0, so it
is deliberately not a dependency; python-gdcm covers those syntaxes instead.
python-gdcm 3.2.6 wheels also bundle OpenSSL 1.1.1 (per the wheel's SBOM), whose
licence requires redistributions to retain an acknowledgement of the OpenSSL Project.
"""

from __future__ import annotations

import io
import logging
import struct
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, get_decoder
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)

from engine.imaging import sitk_reader
from engine.imaging.checks import (
    ImagingLimits,
    body_part_warning,
    check_declared_size,
    check_not_constant,
    check_stored_range,
    colour_warning,
    modality_warning,
    noise_warning,
    saturation_warning,
)
from engine.imaging.errors import (
    CORRUPT_FILE,
    DECODE_FAILED,
    DICOMDIR_NOT_IMAGE,
    NO_PIXEL_DATA,
    TOO_LARGE,
    TRUNCATED_FILE,
    UNSUPPORTED_COMPRESSION,
    UNSUPPORTED_PIXEL_FORMAT,
    ImageInputError,
    base_name,
)
from engine.imaging.image import StudyImage
from engine.imaging.render import render_greyscale, to_uint8
from engine.imaging.views import classify_view

logger = logging.getLogger(__name__)

# Plugins tried in this order; pydicom's own order for a syntax decides among the rest.
PLUGIN_PREFERENCE = ("pylibjpeg", "pyjpegls", "pydicom", "pillow", "gdcm")

GREYSCALE_PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2")
COLOUR_PHOTOMETRICS = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR")

# Exceptions pydicom raises on malformed headers.
_PARSE_ERRORS = (
    InvalidDicomError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    KeyError,
    IndexError,
    TypeError,
)


def _read_bytes(path: Path, content: io.BytesIO | None, limits: ImagingLimits) -> io.BytesIO:
    """Return the file content in memory, within limits.max_file_bytes.

    pydicom parses from memory, so none of its messages can carry the file's path.
    """
    if content is not None:
        return content
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise ImageInputError(
            TOO_LARGE,
            base_name(path),
            f"the file is {size:,} bytes, over the limit of {limits.max_file_bytes:,} bytes",
            "Check that this is a single radiograph, or raise ImagingLimits.max_file_bytes",
        )
    return io.BytesIO(path.read_bytes())


def _parse(data: io.BytesIO, source: str, force: bool) -> tuple[Dataset, list[str]]:
    """Parse a data set and return it with the texts of the warnings pydicom raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(data, force=force)
        except _PARSE_ERRORS as error:
            logger.debug("pydicom failed to parse %s: %s", source, type(error).__name__)
            raise ImageInputError(
                CORRUPT_FILE,
                source,
                "the DICOM header is damaged or incomplete and cannot be read",
                "Copy or export the file again from PACS",
            ) from error
    return ds, [str(warning.message) for warning in caught]


def _preamble_warnings(ds: Dataset, source: str, no_preamble: bool) -> list[str]:
    """Set a missing transfer syntax from how the data set was parsed, and return warnings."""
    warnings_out = []
    if no_preamble:
        warnings_out.append(
            f"{source}: the file has no DICOM preamble or DICM marker; it was recognised by its content"
        )
    if not isinstance(getattr(ds, "file_meta", None), FileMetaDataset):
        ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit, little_endian = ds.original_encoding
        if implicit is not False:
            syntax = ImplicitVRLittleEndian
        else:
            syntax = ExplicitVRLittleEndian if little_endian is not False else ExplicitVRBigEndian
        ds.file_meta.TransferSyntaxUID = syntax
        warnings_out.append(
            f"{source}: the file meta information has no transfer syntax; it was read as {syntax.name}"
        )
    return warnings_out


def _header_int(ds: Dataset, keyword: str, source: str) -> int:
    value = ds.get(keyword)
    if value is None or value == "":
        raise ImageInputError(
            CORRUPT_FILE,
            source,
            f"the DICOM header lacks {keyword}, which every image needs",
            "Export the image again from PACS",
        )
    return int(value)


def _validate_header(ds: Dataset, source: str, limits: ImagingLimits, read_warnings: list[str]) -> None:
    """Raise ImageInputError for headers this reader cannot turn into an image."""
    if ds.file_meta.get("MediaStorageSOPClassUID") == MediaStorageDirectoryStorage:
        raise ImageInputError(
            DICOMDIR_NOT_IMAGE,
            source,
            "this is a DICOMDIR, an index of a DICOM file set, not an image",
            "Load it as a study, or open the folder that contains it",
        )
    if "SOPClassUID" not in ds and "MediaStorageSOPClassUID" not in ds.file_meta:
        # Every DICOM object names its SOP class; a parse that found none read garbage.
        raise ImageInputError(
            CORRUPT_FILE,
            source,
            "the DICOM header is damaged or incomplete and cannot be read",
            "Copy or export the file again from PACS",
        )
    if "PixelData" not in ds:
        # NOTE: pydicom reports a file cut inside its encapsulated pixel data only with
        # this warning text (pydicom 3.0.2); another version may word it differently.
        if any("End of file" in text for text in read_warnings):
            raise ImageInputError(
                TRUNCATED_FILE,
                source,
                "the file ends before its pixel data is complete",
                "The copy is truncated; copy or export it again from PACS",
            )
        other = (
            "float pixel data"
            if ("FloatPixelData" in ds or "DoubleFloatPixelData" in ds)
            else "no pixel data"
        )
        raise ImageInputError(
            NO_PIXEL_DATA,
            source,
            f"the DICOM file contains {other}, so it is not a radiograph image (SOP class "
            f"{UID(str(ds.get('SOPClassUID', ''))).name or 'missing'})",
            "Select the image files of the study, not reports or presentation states",
        )

    rows = _header_int(ds, "Rows", source)
    columns = _header_int(ds, "Columns", source)
    check_declared_size(rows, columns, limits, source)

    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in GREYSCALE_PHOTOMETRICS + COLOUR_PHOTOMETRICS:
        raise ImageInputError(
            UNSUPPORTED_PIXEL_FORMAT,
            source,
            f"PhotometricInterpretation {photometric or 'is missing, which'} is not supported",
            "Export the image as MONOCHROME2 or RGB",
        )
    bits_allocated = _header_int(ds, "BitsAllocated", source)
    if bits_allocated not in (8, 16, 32):
        raise ImageInputError(
            UNSUPPORTED_PIXEL_FORMAT,
            source,
            f"BitsAllocated {bits_allocated} is not supported (only 8, 16 or 32)",
            "Export the image again as an 8- or 16-bit radiograph",
        )

    is_native = not ds.file_meta.TransferSyntaxUID.is_compressed
    if is_native:
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        expected = rows * columns * samples * frames * bits_allocated // 8
        if photometric == "YBR_FULL_422":
            expected = expected * 2 // 3
        if len(ds.PixelData) < expected:
            raise ImageInputError(
                TRUNCATED_FILE,
                source,
                f"the pixel data has only {len(ds.PixelData):,} of the {expected:,} bytes the header declares",
                "The copy is truncated; copy or export it again from PACS",
            )


def _ordered_plugins(available: tuple[str, ...]) -> list[str]:
    preferred = [name for name in PLUGIN_PREFERENCE if name in available]
    return preferred + [name for name in available if name not in preferred]


class _DecoderLogSilencer(logging.Filter):
    """Drop pydicom's decoder log records in the threads that are inside `silenced()`.

    pydicom logs every failed decoder plugin with a full traceback at ERROR level. The failures
    are collected and raised as one ImageInputError below, so the tracebacks are only noise. A
    thread-local flag, not the logger's level, keeps concurrent decodes from changing what other
    threads log.
    """

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self._local, "active", False)

    @contextmanager
    def silenced(self):
        # pydicom 3.0 logs plugin failures on the decoder module's own logger.
        logging.getLogger("pydicom.pixels.decoders.base").addFilter(self)  # no-op once added
        previous = getattr(self._local, "active", False)
        self._local.active = True
        try:
            yield
        finally:
            self._local.active = previous


_DECODER_LOG = _DecoderLogSilencer()


def _decode_with_pydicom(ds: Dataset, source: str) -> tuple[np.ndarray, str, list[str]] | None:
    """Return (first frame, plugin, decoder warnings), or None when no pydicom plugin applies.

    Raises:
        ImageInputError: every applicable plugin failed.
    """
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        return None
    plugins = [""] if not syntax.is_compressed else _ordered_plugins(tuple(decoder.available_plugins))
    if not plugins:
        return None

    failures: list[str] = []
    for plugin in plugins:
        with warnings.catch_warnings(record=True) as caught, _DECODER_LOG.silenced():
            warnings.simplefilter("always")
            try:
                pixels, _ = decoder.as_array(ds, index=0, decoding_plugin=plugin)
            # Decoder plugins raise RuntimeError, ValueError and others on damaged data;
            # each failure is recorded and the next plugin is tried.
            except Exception as error:  # noqa: BLE001
                failures.append(f"{plugin or 'pydicom'}: {type(error).__name__}")
                continue
        texts = [" ".join(str(w.message).split())[:200] for w in caught]
        return pixels, plugin or "pydicom", texts
    logger.info("all pydicom plugins failed on %s (%s): %s", source, syntax.name, "; ".join(failures))
    raise ImageInputError(
        DECODE_FAILED,
        source,
        f"the {syntax.name} pixel data could not be decoded; the file is probably truncated or damaged",
        "Export the image again from PACS",
    )


def _decode_first_frame(
    ds: Dataset, path: Path, in_memory: bool, source: str
) -> tuple[np.ndarray, str, list[str]]:
    """Decode the first frame with pydicom, falling back to SimpleITK.

    Returns (stored values, decoder name, decoder warnings).
    """
    syntax = ds.file_meta.TransferSyntaxUID
    pydicom_error: ImageInputError | None = None
    try:
        decoded = _decode_with_pydicom(ds, source)
    except ImageInputError as error:
        decoded, pydicom_error = None, error
    if decoded is not None:
        return decoded

    if sitk_reader.is_available() and not in_memory:
        try:
            return sitk_reader.read_stored_frame(path, ds), "simpleitk", []
        except sitk_reader.SimpleITKDecodeError:
            logger.info("SimpleITK also failed on %s (%s)", source, syntax.name)
    if pydicom_error is not None:
        raise pydicom_error
    raise ImageInputError(
        UNSUPPORTED_COMPRESSION,
        source,
        f"unsupported compression: {syntax.name} ({syntax}); no installed decoder reads it",
        "Export the image uncompressed or as JPEG 2000, JPEG-LS or JPEG Lossless",
    )


def _render_colour(pixels: np.ndarray, ds: Dataset, source: str) -> tuple[np.ndarray, list[str]]:
    """Return the luma of a colour frame as np.uint8, with warnings."""
    photometric = str(ds.PhotometricInterpretation).strip().upper()
    full_scale = (1 << int(ds.get("BitsStored") or 8)) - 1
    if photometric == "PALETTE COLOR":
        try:
            pixels = apply_color_lut(pixels, ds)
        except (ValueError, AttributeError, KeyError) as error:
            raise ImageInputError(
                UNSUPPORTED_PIXEL_FORMAT,
                source,
                "the palette colour lookup table is missing or invalid",
                "Export the image as MONOCHROME2 or RGB",
            ) from error
        # pydicom returns palette colours at the LUT's own depth: 8 or 16 bits.
        full_scale = 255 if pixels.dtype == np.uint8 else 65535
    if pixels.ndim != 3 or pixels.shape[-1] < 3:
        raise ImageInputError(
            UNSUPPORTED_PIXEL_FORMAT,
            source,
            f"the header declares {photometric}, but the pixel data has shape {pixels.shape}",
            "Export the image again as MONOCHROME2 or RGB",
        )
    if pixels.dtype != np.uint8:
        pixels = to_uint8(pixels.astype(np.float64) / full_scale)
    rgb = pixels[..., :3]

    warnings_out = [f"{source}: a colour DICOM image was converted to greyscale"]
    colour = colour_warning(rgb, source)
    if colour:
        warnings_out.append(colour)
    # ITU-R BT.601 luma, the weights Pillow's convert("L") uses for raster images.
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.rint(luma).clip(0, 255).astype(np.uint8), warnings_out


def read_dicom(
    path: Path, limits: ImagingLimits, *, no_preamble: bool = False, content: io.BytesIO | None = None
) -> StudyImage:
    """Read one DICOM file and return the rendered first frame.

    Args:
        path: the file; only its base name appears in messages.
        limits: size limits, checked from the header before decoding.
        no_preamble: the file lacks the preamble and DICM marker, so it is read with force.
        content: the file's bytes when they exist only in memory (a decompressed .dcm.gz).
    """
    source = base_name(path)
    data = _read_bytes(path, content, limits)
    ds, read_warnings = _parse(data, source, force=no_preamble)
    try:
        return _render_dataset(ds, path, source, limits, no_preamble, content is not None, read_warnings)
    except ImageInputError:
        raise
    except _PARSE_ERRORS as error:
        # pydicom converts element values when they are first used, so an invalid
        # value (WindowCenter "abc", a non-integer InstanceNumber) surfaces here.
        logger.debug("invalid header value in %s", source, exc_info=True)
        raise ImageInputError(
            CORRUPT_FILE,
            source,
            f"the DICOM header contains an invalid value ({type(error).__name__})",
            "Export the image again from PACS",
        ) from error


def _render_dataset(
    ds: Dataset,
    path: Path,
    source: str,
    limits: ImagingLimits,
    no_preamble: bool,
    in_memory: bool,
    read_warnings: list[str],
) -> StudyImage:
    image_warnings = _preamble_warnings(ds, source, no_preamble)
    _validate_header(ds, source, limits, read_warnings)

    syntax = ds.file_meta.TransferSyntaxUID
    photometric = str(ds.PhotometricInterpretation).strip().upper()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        image_warnings.append(
            f"{source}: the file contains {frames} frames; only the first is shown and used"
        )

    pixels, decoder, decoder_warnings = _decode_first_frame(ds, path, in_memory, source)
    logger.info("decoded %s: %s with %s", source, syntax.name, decoder)
    image_warnings += [f"{source}: decoder warning: {text}" for text in decoder_warnings]

    check_not_constant(pixels, source, "decoded image")
    if photometric in GREYSCALE_PHOTOMETRICS:
        if pixels.ndim != 2:
            raise ImageInputError(
                UNSUPPORTED_PIXEL_FORMAT,
                source,
                f"a {photometric} image decoded to shape {pixels.shape}, not one plane",
                "Export the image again from PACS",
            )
        bits_stored = int(ds.get("BitsStored") or ds.BitsAllocated)
        check_stored_range(pixels, bits_stored, bool(int(ds.get("PixelRepresentation", 0) or 0)), source)
        display, window, render_warnings = render_greyscale(pixels, ds, source)
        image_warnings += render_warnings
    else:
        display, colour_warnings = _render_colour(pixels, ds, source)
        window = None
        image_warnings += colour_warnings
    check_not_constant(display, source, "rendered image")

    for warning in (
        saturation_warning(display, source),
        noise_warning(display, source),
        body_part_warning(ds.get("BodyPartExamined"), source),
        modality_warning(ds.get("Modality"), source),
    ):
        if warning:
            image_warnings.append(warning)

    instance_number = ds.get("InstanceNumber")
    return StudyImage(
        display=display,
        source=source,
        kind="dicom",
        view=classify_view(ds),
        window=window,
        photometric=photometric,
        transfer_syntax=syntax.name,
        size=(int(ds.Rows), int(ds.Columns)),
        study_uid=str(ds.StudyInstanceUID) if ds.get("StudyInstanceUID") else None,
        series_uid=str(ds.SeriesInstanceUID) if ds.get("SeriesInstanceUID") else None,
        body_part=str(ds.BodyPartExamined).strip().upper() if ds.get("BodyPartExamined") else None,
        modality=str(ds.Modality).strip().upper() if ds.get("Modality") else None,
        instance_number=int(instance_number) if instance_number not in (None, "") else None,
        decoder=decoder,
        warnings=image_warnings,
    )
