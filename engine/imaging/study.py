"""Studies: files, folders and DICOMDIRs grouped by StudyInstanceUID, views ordered.

A folder export from PACS contains image files next to DICOMDIR indexes, reports
(SR), presentation states and text files. Those non-image files are skipped when a
folder is read. An image file that fails to load is an error unless skip_errors is
set, because a silently missing view changes the report.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import MediaStorageDirectoryStorage

from engine.imaging.checks import DEFAULT_LIMITS, ImagingLimits
from engine.imaging.errors import (
    CORRUPT_FILE,
    DICOMDIR_NOT_IMAGE,
    EMPTY_FILE,
    MULTIPLE_STUDIES,
    NO_IMAGES,
    NO_PIXEL_DATA,
    NOT_FOUND,
    TOO_LARGE,
    UNSUPPORTED_FORMAT,
    ImageInputError,
    base_name,
)
from engine.imaging.image import StudyImage
from engine.imaging.loader import load_image
from engine.imaging.sniff import read_head, sniff_bytes
from engine.imaging.views import VIEW_ORDER

logger = logging.getLogger(__name__)

PathInput = str | os.PathLike[str]

# Error codes that mark a file in a folder as "not an image" rather than a broken image.
_NOT_AN_IMAGE = frozenset({DICOMDIR_NOT_IMAGE, EMPTY_FILE, NO_PIXEL_DATA, UNSUPPORTED_FORMAT})


@dataclass(eq=False)
class Study:
    """The images of one study, frontal views first (PA, then AP), then lateral, then unknown."""

    images: list[StudyImage]
    study_uid: str | None
    warnings: list[str] = field(default_factory=list)
    """Study-level warnings followed by those of every image, without repeats."""

    @property
    def frontal(self) -> StudyImage | None:
        """The first PA or AP image, if any."""
        return next((image for image in self.images if image.is_frontal), None)

    @property
    def lateral(self) -> StudyImage | None:
        """The first lateral image, if any."""
        return next((image for image in self.images if image.view == "LATERAL"), None)

    def series(self) -> dict[str | None, list[StudyImage]]:
        """Return the images grouped by SeriesInstanceUID, in study order."""
        grouped: dict[str | None, list[StudyImage]] = {}
        for image in self.images:
            grouped.setdefault(image.series_uid, []).append(image)
        return grouped

    @classmethod
    def group_studies(
        cls,
        paths: PathInput | Sequence[PathInput],
        *,
        limits: ImagingLimits | None = None,
        skip_errors: bool = False,
    ) -> list[Study]:
        """Return one Study per study found in files, folders or DICOMDIRs (see group_studies)."""
        return group_studies(paths, limits=limits, skip_errors=skip_errors)


@dataclass
class _Collected:
    images: list[StudyImage]
    notes: list[str]
    """Messages about files that were skipped."""


def _is_dicomdir(path: Path) -> bool:
    if sniff_bytes(read_head(path)).format != "dicom":
        return False
    try:
        meta = dcmread(path, stop_before_pixels=True, specific_tags=["MediaStorageSOPClassUID"]).file_meta
    except (InvalidDicomError, OSError, ValueError, EOFError):
        return False
    return meta.get("MediaStorageSOPClassUID") == MediaStorageDirectoryStorage


def _dicomdir_files(path: Path) -> list[Path]:
    """Return the files a DICOMDIR references, in record order.

    The records are read directly rather than through pydicom.fileset.FileSet,
    which skips missing files with a warning that logs their full path.
    """
    source = base_name(path)
    try:
        records = dcmread(path).get("DirectoryRecordSequence") or []
        references = [record.ReferencedFileID for record in records if record.get("ReferencedFileID")]
    except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as error:
        raise ImageInputError(
            CORRUPT_FILE, source, "the DICOMDIR cannot be read", "Open the folder of images instead"
        ) from error
    root = path.parent.resolve()
    files: list[Path] = []
    for reference in references:
        components = [reference] if isinstance(reference, str) else list(reference)
        file = root.joinpath(*(str(component) for component in components))
        if not file.resolve().is_relative_to(root):
            raise ImageInputError(
                CORRUPT_FILE,
                source,
                "the DICOMDIR references a file outside its own folder",
                "Open the folder of images instead",
            )
        files.append(file)
    missing = [file for file in files if not file.is_file()]
    if missing:
        raise ImageInputError(
            NOT_FOUND,
            source,
            f"the DICOMDIR lists {len(missing)} file(s) that do not exist, the first is {missing[0].name}",
            "Copy the whole file set, with its folders, next to the DICOMDIR",
        )
    return files


def _walk(folder: Path) -> list[Path]:
    """Return the files below a folder in sorted order, skipping hidden files and folders."""
    files: list[Path] = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        files.extend(Path(root) / name for name in sorted(names) if not name.startswith("."))
    return files


def _expand(paths: PathInput | Sequence[PathInput], limits: ImagingLimits) -> list[tuple[Path, bool]]:
    """Return (file, discovered) for every input, expanding folders and DICOMDIRs.

    `discovered` is True for files found in a folder or listed by a DICOMDIR, as
    opposed to files the caller named.
    """
    inputs = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    expanded: list[tuple[Path, bool]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            expanded.extend((file, True) for file in _walk(path))
        elif path.is_file() and _is_dicomdir(path):
            expanded.extend((file, True) for file in _dicomdir_files(path))
        else:
            expanded.append((path, False))
        if len(expanded) > limits.max_folder_files:
            raise ImageInputError(
                TOO_LARGE,
                base_name(path),
                f"more than {limits.max_folder_files:,} files were found",
                "Point at the folder of one study, or raise ImagingLimits.max_folder_files",
            )
    return expanded


def _input_name(paths: PathInput | Sequence[PathInput]) -> str:
    """Return the base name of the input, or a count when several paths were given."""
    if isinstance(paths, (str, os.PathLike)):
        return base_name(paths)
    names = [base_name(path) for path in paths]
    return names[0] if len(names) == 1 else f"{len(names)} selected paths"


def _collect(paths: PathInput | Sequence[PathInput], limits: ImagingLimits, skip_errors: bool) -> _Collected:
    collected = _Collected([], [])
    seen: set[Path] = set()
    for path, discovered in _expand(paths, limits):
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        try:
            collected.images.append(load_image(path, limits=limits))
        except ImageInputError as error:
            if discovered and error.code in _NOT_AN_IMAGE:
                logger.debug("skipped %s, not an image: %s", error.source, error.code)
                continue
            if not skip_errors:
                raise
            logger.warning("skipped %s: %s", error.source, error.code)
            collected.notes.append(f"skipped {error}")
    if not collected.images:
        raise ImageInputError(
            NO_IMAGES,
            _input_name(paths),
            "no DICOM, PNG or JPEG image was found",
            "Point at the folder or files of a chest X-ray study",
        )
    return collected


def _merge_warnings(groups: Iterable[Iterable[str]]) -> list[str]:
    return list(dict.fromkeys(text for group in groups for text in group))


def _build_study(images: list[StudyImage], study_uid: str | None, notes: list[str]) -> Study:
    # sorted() is stable, so images of the same view keep their input order.
    ordered = sorted(images, key=lambda image: VIEW_ORDER[image.view])
    study_notes = list(notes)
    known_views = [image.view for image in ordered if image.view != "UNKNOWN"]
    if known_views and not any(image.is_frontal for image in ordered):
        study_notes.append(
            "the study has no frontal (PA or AP) view according to its headers; "
            "reports are drafted from frontal views"
        )
    return Study(ordered, study_uid, _merge_warnings([study_notes, *(image.warnings for image in ordered)]))


def load_study(
    paths: PathInput | Sequence[PathInput], *, limits: ImagingLimits | None = None, skip_errors: bool = False
) -> Study:
    """Load the images of one study from files, a folder or a DICOMDIR.

    Images without a StudyInstanceUID (PNG and JPEG) join the study as given.

    Raises:
        ImageInputError: an image failed to load (unless skip_errors is set), no
            image was found (code no_images), or the DICOM files belong to several
            studies (code multiple_studies). Use group_studies for such folders.
    """
    collected = _collect(paths, limits or DEFAULT_LIMITS, skip_errors)
    uids = list(dict.fromkeys(image.study_uid for image in collected.images if image.study_uid))
    if len(uids) > 1:
        raise ImageInputError(
            MULTIPLE_STUDIES,
            _input_name(paths),
            f"the files belong to {len(uids)} different studies (StudyInstanceUID)",
            "Select the files of one study, or group them with group_studies / inspect on the folder",
        )
    notes = list(collected.notes)
    loose = sum(1 for image in collected.images if not image.study_uid)
    if loose and len(collected.images) > 1:
        # NOTE: PNG and JPEG files carry no patient or study identity, so nothing proves that they
        # are views of one study. The radiologist has to confirm it.
        notes.append(
            f"{loose} of the {len(collected.images)} images carry no StudyInstanceUID, so they were drafted as one "
            "study without proof that they belong to one patient; check them, or draft each file on its own"
        )
    return _build_study(collected.images, uids[0] if uids else None, notes)


def group_studies(
    paths: PathInput | Sequence[PathInput], *, limits: ImagingLimits | None = None, skip_errors: bool = False
) -> list[Study]:
    """Group the images in files, folders or DICOMDIRs into studies.

    DICOM images are grouped by StudyInstanceUID, in order of first appearance.
    Each image without one (PNG, JPEG, or DICOM lacking the UID) forms its own
    study. With skip_errors, notes about skipped files go to every study, because
    a file that cannot be read cannot be assigned to one.

    NOTE: every image is decoded and kept in memory as 8-bit; a folder of
    thousands of radiographs needs gigabytes.
    """
    collected = _collect(paths, limits or DEFAULT_LIMITS, skip_errors)
    groups: dict[str, list[StudyImage]] = {}
    for index, image in enumerate(collected.images):
        key = f"uid:{image.study_uid}" if image.study_uid else f"file:{index}"
        groups.setdefault(key, []).append(image)
    return [_build_study(images, images[0].study_uid, collected.notes) for images in groups.values()]
