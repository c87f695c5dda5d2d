"""`echo-cxr data build`: write the normalised train/val/test corpus from local data set copies."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="build training corpora from local data set copies")
    commands = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    commands.required = True
    build = commands.add_parser(
        "build",
        help="write train/val/test JSONL with normalised English and Chinese reports",
        description="Read each given data set from its local copy, normalise every report and write "
        "OUT/train.jsonl, OUT/val.jsonl and OUT/test.jsonl. Nothing is downloaded.",
    )
    build.add_argument("--out", type=Path, required=True, help="output folder")
    build.add_argument("--iu", type=Path, help="IU X-ray folder (reports.jsonl or raw/NLMCXR_reports.tgz)")
    build.add_argument(
        "--iu-unsplit",
        choices=("train", "skip"),
        default="train",
        help="where IU X-ray studies outside the R2Gen split go (default: train)",
    )
    build.add_argument("--mimic", type=Path, help="MIMIC-CXR root (split CSV and files/)")
    build.add_argument("--mimic-reports", type=Path, help="MIMIC-CXR report root, when apart from --mimic")
    build.add_argument("--chexpert-plus", type=Path, help="CheXpert-Plus CSV or its folder")
    build.add_argument("--rexgradient", type=Path, help="ReXGradient-160K metadata table or folder")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from training.corpora.build import build_corpus
    from training.corpora.chexpert_plus import read_chexpert_plus
    from training.corpora.iu_xray import read_iu_xray
    from training.corpora.mimic_cxr import read_mimic_cxr
    from training.corpora.rexgradient import read_rexgradient

    readers = []
    sources = {
        "--iu": args.iu,
        "--mimic": args.mimic,
        "--chexpert-plus": args.chexpert_plus,
        "--rexgradient": args.rexgradient,
    }
    for option, path in sources.items():
        if path is not None and not path.exists():
            raise UserInputError(f"{option} path not found: {path}")
    if args.iu:
        unsplit = None if args.iu_unsplit == "skip" else "train"
        readers.append(lambda: read_iu_xray(args.iu, unsplit=unsplit))
    if args.mimic:
        readers.append(lambda: read_mimic_cxr(args.mimic, args.mimic_reports))
    if args.chexpert_plus:
        readers.append(lambda: read_chexpert_plus(args.chexpert_plus))
    if args.rexgradient:
        readers.append(lambda: read_rexgradient(args.rexgradient))
    if not readers:
        raise UserInputError(
            "no data set given: pass at least one of --iu, --mimic, --chexpert-plus, --rexgradient"
        )
    try:
        stats = build_corpus(readers, args.out)
    except (FileNotFoundError, ValueError) as error:
        raise UserInputError(str(error)) from error
    for key in sorted(stats):
        print(f"{key}: {stats[key]}")
    return 0
