"""`echo-cxr normalize` and `echo-cxr label`: normalise or label a report read on stdin."""

from __future__ import annotations

import argparse
import json
import re
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    normalize = subparsers.add_parser(
        "normalize",
        help="rewrite a report (stdin) into seven-region Findings and an Impression",
        description="Read a raw report on stdin (FINDINGS:/IMPRESSION: headers optional; text without "
        "headers is read as Findings) and print the normalised report.",
    )
    normalize.add_argument(
        "--lang", choices=("en", "zh", "both"), default="en", help="output language (default: en)"
    )
    normalize.add_argument("--json", action="store_true", help="print JSON with the structured regions")
    normalize.set_defaults(func=run_normalize)

    label = subparsers.add_parser(
        "label",
        help="list the CheXpert observations found in a report (stdin)",
        description="Read a report on stdin and print each observation with its status.",
    )
    label.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default: en)")
    label.add_argument("--json", action="store_true", help="print JSON with every finding and its span")
    label.set_defaults(func=run_label)


def _read_stdin(command: str) -> str:
    from app.cli import UserInputError

    text = sys.stdin.read()
    if not text.strip():
        raise UserInputError(f"no report text on standard input: pipe a report, e.g. `echo-cxr {command} < report.txt`")
    return text


def run_normalize(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.reports.normalize import EmptyReportError, NotCoveredError, normalize_text

    text = _read_stdin("normalize")
    if re.search(r"[\u4e00-\u9fff]", text):
        raise UserInputError("normalize reads English source reports, and the input contains Chinese characters; "
                             "pass the English report and use --lang zh or --lang both for the Chinese rendering")
    try:
        report = normalize_text(text)
    except EmptyReportError as error:
        raise UserInputError(f"{error}: the input has no sentence with words") from error
    languages = ("en", "zh") if args.lang == "both" else (args.lang,)
    try:
        if args.json:
            output = {lang: report.to_dict(lang) for lang in languages}
            print(
                json.dumps(
                    output if len(languages) > 1 else output[languages[0]], ensure_ascii=False, indent=2
                )
            )
        else:
            print("\n\n".join(report.to_text(lang) for lang in languages))
    except NotCoveredError as error:
        print(f"echo-cxr normalize: not covered: {error}", file=sys.stderr)
        return 1
    return 0


def run_label(args: argparse.Namespace) -> int:
    from engine.reports.labeller import label_report

    result = label_report(_read_stdin("label"), lang=args.lang)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    for observation, status in result.observations().items():
        sides = sorted(
            {
                f.laterality
                for f in result.findings
                if f.observation == observation and f.status == status and f.laterality
            }
        )
        suffix = f" ({', '.join(sides)})" if sides else ""
        print(f"{observation}: {status}{suffix}")
    return 0
