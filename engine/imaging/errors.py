"""The one exception type of the image input, with machine-readable codes.

Messages name the file by its base name only, because a full path can contain a
patient's name. They never quote header values for the same reason.
"""

from __future__ import annotations

import os
from pathlib import Path

# Machine-readable error codes, one per kind of problem.
NOT_FOUND = "not_found"
EMPTY_FILE = "empty_file"
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_FILE = "corrupt_file"
TRUNCATED_FILE = "truncated_file"
NO_PIXEL_DATA = "no_pixel_data"
DICOMDIR_NOT_IMAGE = "dicomdir_not_image"
UNSUPPORTED_COMPRESSION = "unsupported_compression"
UNSUPPORTED_PIXEL_FORMAT = "unsupported_pixel_format"
DECODE_FAILED = "decode_failed"
CONSTANT_PIXELS = "constant_pixels"
OUT_OF_RANGE = "out_of_range"
TOO_LARGE = "too_large"
DECOMPRESSION_BOMB = "decompression_bomb"
NO_IMAGES = "no_images"
MULTIPLE_STUDIES = "multiple_studies"

ERROR_CODES = frozenset(
    {
        NOT_FOUND,
        EMPTY_FILE,
        UNSUPPORTED_FORMAT,
        CORRUPT_FILE,
        TRUNCATED_FILE,
        NO_PIXEL_DATA,
        DICOMDIR_NOT_IMAGE,
        UNSUPPORTED_COMPRESSION,
        UNSUPPORTED_PIXEL_FORMAT,
        DECODE_FAILED,
        CONSTANT_PIXELS,
        OUT_OF_RANGE,
        TOO_LARGE,
        DECOMPRESSION_BOMB,
        NO_IMAGES,
        MULTIPLE_STUDIES,
    }
)


def base_name(path: str | os.PathLike[str]) -> str:
    """Return the last component of a path, the only part of it that messages may show."""
    return Path(path).name or str(path)


class ImageInputError(ValueError):
    """An input image or study that cannot be used.

    `code` is one of ERROR_CODES, `source` the base name of the file or folder, and
    the message reads "<source>: <problem>. <what to do>" on one line.
    """

    def __init__(self, code: str, source: str, problem: str, action: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown image input error code {code!r}")
        self.code = code
        self.source = source
        self.problem = problem
        self.action = action
        super().__init__(f"{source}: {problem}. {action}")
