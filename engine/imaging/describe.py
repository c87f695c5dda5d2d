"""JSON-ready summaries of images and studies, for `echo-cxr inspect --json` and logs."""

from __future__ import annotations

from typing import Any

from engine.imaging.image import StudyImage
from engine.imaging.study import Study


def _describe_image(image: StudyImage) -> dict[str, Any]:
    window = image.window
    return {
        "source": image.source,
        "kind": image.kind,
        "transfer_syntax": image.transfer_syntax,
        "photometric": image.photometric,
        "decoder": image.decoder,
        "window": None
        if window is None
        else {
            "method": window.method,
            "centre": window.centre,
            "width": window.width,
            "function": window.function,
            "percentiles": list(window.percentiles) if window.percentiles else None,
        },
        "size": list(image.size),
        "display_size": list(image.display.shape),
        "view": image.view,
        "modality": image.modality,
        "body_part": image.body_part,
        "study_uid": image.study_uid,
        "series_uid": image.series_uid,
        "instance_number": image.instance_number,
        "warnings": list(image.warnings),
    }


def describe(item: StudyImage | Study) -> dict[str, Any]:
    """Return a summary of an image or a study built from str, int, float, None, lists and dicts."""
    if isinstance(item, StudyImage):
        return _describe_image(item)
    if isinstance(item, Study):
        return {
            "study_uid": item.study_uid,
            "views": [image.view for image in item.images],
            "images": [_describe_image(image) for image in item.images],
            "warnings": list(item.warnings),
        }
    raise TypeError(f"describe expects a StudyImage or a Study, got {type(item).__name__}")
