"""`echo-cxr inspect`: show how an image, a folder or a DICOMDIR is read and rendered."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show how an image file, folder or DICOMDIR is read",
        description="Print the file type, transfer syntax, photometric interpretation, window, size, "
        "view, study grouping and warnings of each image, as the model would receive it.",
    )
    parser.add_argument("path", type=Path, help="DICOM, PNG or JPEG file, a folder of them, or a DICOMDIR")
    parser.add_argument(
        "--png",
        type=Path,
        metavar="OUT",
        help="write the rendered 8-bit image to OUT; when PATH contains several images, "
        "OUT is a folder and each image is written there as <file name>.png (<file name>.2.png and so on "
        "when several files share a name)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object in place of text")
    parser.set_defaults(func=run)


def _format_image(summary: dict, indent: str) -> list[str]:
    from engine.imaging.image import Window

    window = summary["window"]
    if window is None:
        window_text = "none (8-bit image shown as stored)"
    else:
        percentiles = tuple(window["percentiles"]) if window["percentiles"] else None
        window_text = Window(
            window["method"], window["centre"], window["width"], window["function"], percentiles
        ).describe()
    syntax = summary["transfer_syntax"] or "not DICOM"
    rows, columns = summary["size"]
    return [
        f"{indent}{summary['source']}",
        f"{indent}  file type:       {summary['kind'].upper()} (decoded with {summary['decoder']})",
        f"{indent}  transfer syntax: {syntax}",
        f"{indent}  photometric:     {summary['photometric']}",
        f"{indent}  window:          {window_text}",
        f"{indent}  size:            {columns} x {rows} pixels (width x height)",
        f"{indent}  view:            {summary['view']}",
        f"{indent}  body part:       {summary['body_part'] or 'not stated'}",
    ]


def _format_studies(studies: list[dict]) -> str:
    lines = [f"{len(studies)} study" if len(studies) == 1 else f"{len(studies)} studies"]
    for study in studies:
        views = ", ".join(study["views"])
        lines.append(
            f"study {study['study_uid'] or '(no StudyInstanceUID)'}: {len(study['images'])} image(s): {views}"
        )
        for image in study["images"]:
            lines.extend(_format_image(image, "  "))
        warnings = study["warnings"]
        lines.append("  warnings:        " + ("none" if not warnings else warnings[0]))
        lines.extend("                   " + warning for warning in warnings[1:])
    return "\n".join(lines)


def _write_pngs(images: list, out: Path) -> list[Path]:
    from PIL import Image

    if len(images) == 1:
        targets = [out]
    else:
        out.mkdir(parents=True, exist_ok=True)
        targets = []
        for image in images:
            # Files from different subfolders can share a name (0.png, 1.png); number the repeats.
            target = out / f"{image.source}.png"
            count = 1
            while target in targets:
                count += 1
                target = out / f"{image.source}.{count}.png"
            targets.append(target)
    for image, target in zip(images, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.display).save(target)
    return targets


def run(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.imaging import ImageInputError, describe, group_studies

    try:
        studies = group_studies(args.path)
    except ImageInputError as error:
        raise UserInputError(str(error)) from error

    summaries = [describe(study) for study in studies]
    written: list[Path] = []
    if args.png is not None:
        try:
            written = _write_pngs([image for study in studies for image in study.images], args.png)
        except OSError as error:
            raise UserInputError(f"cannot write {args.png.name}: {error.strerror}") from error

    if args.json:
        print(json.dumps({"studies": summaries, "png": [str(path) for path in written]}, indent=2))
    else:
        print(_format_studies(summaries))
        for path in written:
            print(f"wrote {path}")
    return 0
