"""`echo-cxr generate`: draft one report for one study (several views form one study)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from app.commands.common import add_model_options, load_generator


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate", help="draft a report for one study",
        description="Draft a chest X-ray report for one study from PNG, JPEG or DICOM files (for example a "
        "frontal and a lateral view). The draft streams block by block on a terminal. Every draft must be "
        "reviewed and signed by a radiologist before clinical use.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or a study folder")
    add_model_options(parser)
    parser.add_argument("--context", metavar="TEXT", help="clinical context (indication) added to the prompt")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.imaging import ImageInputError, load_study
    from engine.pipeline import DraftRequest
    from engine.results import StreamEvent

    started = time.perf_counter()
    try:
        study = load_study(args.images)
    except ImageInputError as error:
        raise UserInputError(str(error)) from error
    load_ms = (time.perf_counter() - started) * 1000
    generator, config = load_generator(args)
    request = DraftRequest.from_study(study, args.lang, args.context)
    try:
        generator.prepare(request)
    except ValueError as error:
        raise UserInputError(f"{study.images[0].source}: {error}") from error

    stream = sys.stdout.isatty() and not args.json
    report, streamed = None, ""
    if stream:
        print(f"[{report_notice(args.lang)}]", flush=True)
    for item in generator.stream([request], config):
        if isinstance(item, StreamEvent):
            if stream:
                sys.stdout.write(printable(item.text[len(streamed):]))
                sys.stdout.flush()
                streamed = item.text
        else:
            report = item
    report.timings_ms.image = round(report.timings_ms.image + load_ms, 3)
    report.timings_ms.total = round(report.timings_ms.total + load_ms, 3)

    if args.json:
        data = report.to_dict()
        data["images"] = [{"source": image.source, "view": image.view} for image in study.images]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if stream:
        print()
        if report.text != streamed:
            print("\n[final draft, repeated sentences removed]\n" + printable(report.text))
    else:
        print(f"[{report.notice}]")
        print(printable(report.text))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{report.mode}, block {report.block_size}: {report.generated_tokens} tokens, "
          f"{report.forward_passes} passes ({report.tokens_per_forward:.2f} tokens/pass), "
          f"{report.timings_ms.total:.0f} ms, model {report.model['name']} {report.model['hash']}", file=sys.stderr)
    return 0


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(text: str) -> str:
    """Return model text safe to write to a terminal: control characters other than newline and tab removed."""
    return _CONTROL.sub("", text)


def report_notice(language: str) -> str:
    from engine.results import DRAFT_NOTICE

    return DRAFT_NOTICE[language]

