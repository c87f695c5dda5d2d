"""Recognise an input file by its content, never by its name.

PACS exports are often named like I0000001 with no extension, some DICOM files lack
the 128-byte preamble and "DICM" marker, and some arrive gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.imaging.checks import ImagingLimits
from engine.imaging.errors import (
    CORRUPT_FILE,
    EMPTY_FILE,
    NOT_FOUND,
    TOO_LARGE,
    UNSUPPORTED_FORMAT,
    ImageInputError,
    base_name,
)

FileFormat = Literal["dicom", "dicom_no_preamble", "png", "jpeg", "gzip", "unknown"]

SNIFF_BYTES = 132
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
GZIP_SIGNATURE = b"\x1f\x8b"

# Little-endian tag groups that a DICOM data set without preamble can start with:
# the file meta group (0002) or, with no file meta, the identifying group (0008).
_BARE_DICOM_GROUPS = (b"\x02\x00", b"\x08\x00")

# Signatures of formats that users upload by mistake, named in the error message.
_KNOWN_OTHER_FORMATS = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP or other)"),
)


@dataclass(frozen=True)
class SniffResult:
    format: FileFormat
    description: str
    """The detected kind of content in words, for messages."""


def _looks_like_bare_dicom(head: bytes) -> bool:
    """Return whether head starts with a plausible DICOM element of group 0002 or 0008.

    The element number must be small, and the next bytes must be either a two-letter
    VR (explicit VR) or a 32-bit length (implicit VR) that fits in a header.
    """
    if len(head) < 8 or head[:2] not in _BARE_DICOM_GROUPS:
        return False
    element = int.from_bytes(head[2:4], "little")
    if element > 0x0100:
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():
        return True
    length = int.from_bytes(head[4:8], "little")
    return length < 0x10000


def sniff_bytes(head: bytes) -> SniffResult:
    """Classify content from its first SNIFF_BYTES bytes."""
    if len(head) >= SNIFF_BYTES and head[128:132] == b"DICM":
        return SniffResult("dicom", "DICOM")
    if head.startswith(PNG_SIGNATURE):
        return SniffResult("png", "PNG")
    if head.startswith(JPEG_SIGNATURE):
        return SniffResult("jpeg", "JPEG")
    if head.startswith(GZIP_SIGNATURE):
        return SniffResult("gzip", "gzip-compressed")
    if _looks_like_bare_dicom(head):
        return SniffResult("dicom_no_preamble", "DICOM without preamble")
    for signature, description in _KNOWN_OTHER_FORMATS:
        if head.startswith(signature):
            return SniffResult("unknown", description)
    if head and all(byte in b"\t\n\r" or 32 <= byte < 127 for byte in head):
        return SniffResult("unknown", "a text file")
    return SniffResult("unknown", "an unrecognised file")


def read_head(path: Path) -> bytes:
    """Return the first SNIFF_BYTES bytes of a file, raising ImageInputError if unreadable."""
    source = base_name(path)
    if not path.exists():
        raise ImageInputError(NOT_FOUND, source, "the file does not exist", "Check the path")
    if path.is_dir():
        raise ImageInputError(
            NOT_FOUND, source, "this is a folder, not an image file", "Load a folder as a study instead"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as error:
        raise ImageInputError(
            NOT_FOUND, source, f"the file cannot be read ({error.strerror})", "Check its permissions"
        ) from error
    if not head:
        raise ImageInputError(EMPTY_FILE, source, "the file is empty (0 bytes)", "Copy or export it again")
    return head


def unsupported_format_error(source: str, description: str) -> ImageInputError:
    return ImageInputError(
        UNSUPPORTED_FORMAT,
        source,
        f"not a DICOM, PNG or JPEG image (the content looks like {description})",
        "Export the radiograph as DICOM, PNG or JPEG",
    )


def gunzip_limited(path: Path, limits: ImagingLimits) -> bytes:
    """Return the decompressed content of a gzip file, refusing more than max_file_bytes."""
    source = base_name(path)
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                total += len(chunk)
                if total > limits.max_file_bytes:
                    raise ImageInputError(
                        TOO_LARGE,
                        source,
                        f"the gzip content is larger than the limit of {limits.max_file_bytes:,} bytes",
                        "Decompress it yourself and check what it contains",
                    )
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise ImageInputError(
            CORRUPT_FILE,
            source,
            "the gzip data is damaged or incomplete and cannot be decompressed",
            "Copy the file again, or decompress it yourself",
        ) from error
    return b"".join(chunks)


def open_content(path: Path, limits: ImagingLimits) -> tuple[SniffResult, io.BytesIO | None]:
    """Sniff a file and return (result, decompressed content or None).

    A gzip file is decompressed in memory, within limits.max_file_bytes, and its
    content is sniffed again; nested gzip is rejected. For other files the content
    is None and readers open the path themselves.
    """
    head = read_head(path)
    result = sniff_bytes(head)
    if result.format != "gzip":
        return result, None
    content = gunzip_limited(path, limits)
    inner = sniff_bytes(content[:SNIFF_BYTES])
    if inner.format in ("gzip", "unknown"):
        raise unsupported_format_error(base_name(path), f"a gzip-compressed file holding {inner.description}")
    return inner, io.BytesIO(content)
