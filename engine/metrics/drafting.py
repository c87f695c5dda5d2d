"""Draft a report for each study with the engine, one study per call (batch size 1, as TPS needs)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.metrics.protocols import Protocol
from engine.metrics.records import Study
from engine.metrics.runner import Pair

logger = logging.getLogger(__name__)


class ImageUnavailable(Exception):
    """The images of a study are missing or unreadable; the study is skipped."""


@dataclass
class DraftRun:
    """Pairs drafted in one mode, and the studies skipped for want of images."""

    pairs: list[Pair]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(study id, reason) of each skipped study."""


def load_images(paths: list[Path]) -> list[np.ndarray]:
    """Load a study's views as 8-bit greyscale arrays, in the given order."""
    if not paths:
        raise ImageUnavailable("the study lists no images")
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ImageUnavailable(f"image not found: {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    try:
        from engine.imaging import load_study
    except ImportError:
        load_study = None
    if load_study is not None:
        try:
            study = load_study([str(path) for path in paths])
        except (OSError, ValueError) as error:
            raise ImageUnavailable(f"images could not be read: {error}") from error
        return [image.display for image in study.images]

    from PIL import Image, UnidentifiedImageError

    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("L"), dtype=np.uint8))
        except (OSError, UnidentifiedImageError) as error:
            raise ImageUnavailable(f"image {path} could not be read: {error}") from error
    return images


def draft_studies(generator, studies: list[Study], mode: str, protocol: Protocol, *,
                  text_only: bool = False) -> DraftRun:
    """Draft every study that has readable images; skipped studies are logged and counted.

    With text_only every study is drafted from its clinical context alone and no image is read.
    """
    from engine.pipeline import DraftRequest

    config = generator.decode_config(mode=mode)
    run = DraftRun([])
    for study in studies:
        reference = protocol.reference_text(study)
        images: list[np.ndarray] = []
        try:
            if not text_only:
                images = load_images(study.images)
        except ImageUnavailable as error:
            run.skipped.append((study.id, str(error)))
            logger.debug("skipping study %s: %s", study.id, error)
            continue
        request = DraftRequest(images=images, language=study.language, clinical_context=study.clinical_context,
                               text_only=text_only)
        report = generator.generate([request], config)[0]
        details = report.to_dict()
        run.pairs.append(Pair(study.id, mode, study.language, reference, report.text, study.language,
                              {key: details[key] for key in ("stop_reason", "generated_tokens", "forward_passes",
                                                             "tokens_per_forward", "timings_ms", "block_size",
                                                             "low_confidence_tokens", "warnings", "mode", "model")}))
    if run.skipped:
        logger.warning("mode %s: skipped %d of %d studies without readable images (first: %s: %s)", mode,
                       len(run.skipped), len(studies), run.skipped[0][0], run.skipped[0][1])
    return run
