"""`echo-cxr eval`: draft reports for a test set (or read existing drafts) and score them offline."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

MODES = ("ar", "multi-step", "one-step")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="score drafts against reference reports (offline metrics)",
        description="Draft a report for every study in --data with a checkpoint, or read drafts from "
        "--predictions, and score them: ROUGE-L, BLEU, CIDEr-D, SemScore, CheXpert-style label F1, "
        "FindingMatch, stability and speed. An R2Gen IU X-ray annotation file selects the literature "
        "protocol (test split, Findings, R2Gen cleaning, published baselines and the constant-report "
        "floor); any other file the ECHO protocol. Nothing is downloaded.",
    )
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="test set: project JSONL, ECHO evaluation JSON or R2Gen annotation JSON")
    parser.add_argument("--model", metavar="DIR", help="checkpoint folder (default: the bundled model in assets/)")
    parser.add_argument("--modes", metavar="LIST",
                        help="comma-separated decoding modes from ar, multi-step, one-step (default: the "
                        "checkpoint's own mode; with --predictions, every mode in the file)")
    parser.add_argument("--lang", choices=["en", "zh"],
                        help="evaluate only studies in this language; also the language of records without one "
                        "(default: every language in the data, English for files without languages)")
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N studies")
    parser.add_argument("--json", action="store_true", help="print the metrics of every mode as JSON")
    parser.add_argument("--out", metavar="DIR",
                        help="write samples.jsonl (id, reference, draft and scores per study) and metrics.json here")
    parser.add_argument("--predictions", metavar="FILE",
                        help="score the drafts in this JSONL file ({id, draft[, mode, language]} per line, or "
                        "`echo-cxr batch` output) instead of drafting with a model")
    parser.add_argument("--image-root", metavar="DIR",
                        help="folder that image paths in --data are relative to (default: the data file's folder, "
                        "its images/ subfolder for R2Gen annotations)")
    parser.add_argument("--chinese-tokens", choices=["jieba", "characters"], default="jieba",
                        help="how Chinese text is split for ROUGE-L, BLEU and CIDEr-D (default jieba words)")
    parser.add_argument("--text-only", action="store_true",
                        help="draft every study without its images, from the indication alone: the model's "
                             "language prior, for datasets whose images are missing")
    parser.add_argument("--no-semscore", action="store_true", help="skip SemScore (saves loading two embedding models)")
    parser.add_argument("--perplexity-model", metavar="DIR",
                        help="causal language model folder for response perplexity (skipped without it)")
    parser.add_argument("--ratescore-ner", metavar="DIR",
                        help="local RaTE-NER-Deberta folder; with --ratescore-encoder adds the official RaTEScore "
                        "in its positive-findings form (needs the ratescore package)")
    parser.add_argument("--ratescore-encoder", metavar="DIR", help="local BioLORD-2023-C folder for RaTEScore")
    parser.add_argument("--no-floor", action="store_true",
                        help="literature protocol: skip the constant-report floor (about 10 s on IU X-ray)")
    parser.add_argument("--floor-only", action="store_true",
                        help="literature protocol: print the published numbers and the constant-report floor "
                        "without drafting or reading predictions")
    parser.add_argument("--device", default="cpu", help="torch device for drafting and model metrics (default cpu)")
    parser.set_defaults(func=run)


def _parse_modes(text: str | None) -> list[str] | None:
    from app.cli import UserInputError

    if text is None:
        return None
    modes = [mode.strip() for mode in text.split(",") if mode.strip()]
    unknown = [mode for mode in modes if mode not in MODES]
    if not modes or unknown:
        raise UserInputError(f"invalid --modes {text!r}; give a comma-separated list from: {', '.join(MODES)}")
    return list(dict.fromkeys(modes))


def run(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.metrics.errors import EvaluationInputError, MetricUnavailableError

    if args.limit is not None and args.limit < 1:
        raise UserInputError(f"--limit must be a positive integer, got {args.limit}")
    if bool(args.ratescore_ner) != bool(args.ratescore_encoder):
        raise UserInputError("RaTEScore needs both --ratescore-ner and --ratescore-encoder folders")
    if args.text_only and (args.predictions or args.floor_only):
        raise UserInputError("--text-only drafts with a model; it cannot be combined with --predictions or --floor-only")
    if args.floor_only and (args.no_floor or args.predictions or args.model):
        raise UserInputError("--floor-only cannot be combined with --no-floor, --predictions or --model")
    modes = _parse_modes(args.modes)
    try:
        summary, samples = _evaluate(args, modes)
    except (EvaluationInputError, MetricUnavailableError) as error:
        raise UserInputError(str(error)) from error

    if args.out:
        _write_outputs(Path(args.out), summary, samples)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_tables(summary)
    return 0


def _select_studies(args: argparse.Namespace):
    from engine.metrics.records import load_dataset

    dataset = load_dataset(args.data, language=args.lang, image_root=args.image_root)
    studies = [study for study in dataset.studies if args.lang is None or study.language == args.lang]
    if args.limit is not None:
        studies = studies[: args.limit]
    if not studies:
        from engine.metrics.errors import EvaluationInputError

        raise EvaluationInputError(f"{args.data} has no studies to evaluate with --lang {args.lang}")
    return dataset, studies


def _pairs_from_predictions(args, studies, protocol, modes):
    from engine.metrics.errors import EvaluationInputError
    from engine.metrics.records import load_dataset, load_predictions
    from engine.metrics.runner import Pair

    predictions, failures = load_predictions(args.predictions)
    every_id = {study.id for study in load_dataset(args.data, language=args.lang, image_root=args.image_root).studies}
    unknown = [prediction.id for prediction in predictions if prediction.id not in every_id]
    if unknown:
        raise EvaluationInputError(f"prediction id {unknown[0]!r} ({len(unknown)} in all) is not a study in {args.data}; "
                                   "predictions are joined to references by id, so check that both files match")
    selected = {study.id: study for study in studies}
    file_modes = list(dict.fromkeys(prediction.mode for prediction in predictions))
    if modes is not None:
        missing = [mode for mode in modes if mode not in file_modes]
        if missing:
            raise EvaluationInputError(f"mode {missing[0]!r} has no predictions in {args.predictions}; "
                                       f"the file has: {', '.join(file_modes) or 'none'}")
    pairs_by_mode: dict[str, list] = {}
    skipped: dict[str, list] = {}
    for mode in modes or file_modes:
        chosen = [prediction for prediction in predictions if prediction.mode == mode and prediction.id in selected]
        pairs_by_mode[mode] = [
            Pair(prediction.id, mode, selected[prediction.id].language,
                 protocol.reference_text(selected[prediction.id]), prediction.draft,
                 prediction.language or selected[prediction.id].language, prediction.report)
            for prediction in chosen
        ]
        drafted = {prediction.id for prediction in chosen}
        skipped[mode] = [(study.id, "no prediction for this study") for study in studies if study.id not in drafted]
        if skipped[mode]:
            logger.warning("mode %s: %d of %d studies have no prediction and are not scored (first: %s)",
                           mode, len(skipped[mode]), len(studies), skipped[mode][0][0])
    for identifier, error in failures:
        logger.warning("prediction %s records a failure and is not scored: %s", identifier, error)
    return pairs_by_mode, skipped


def _pairs_from_model(args, studies, protocol, modes):
    from app.cli import UserInputError
    from engine.metrics.drafting import draft_studies
    from engine.pipeline import ReportGenerator

    try:
        generator = ReportGenerator.from_folder(args.model, device=args.device)
        modes = modes or [generator.model.settings.default_mode.value]
        for mode in modes:
            generator.decode_config(mode=mode)
    except (FileNotFoundError, ValueError) as error:
        raise UserInputError(str(error)) from error
    pairs_by_mode, skipped = {}, {}
    for mode in modes:
        run = draft_studies(generator, studies, mode, protocol, text_only=args.text_only)
        pairs_by_mode[mode] = run.pairs
        skipped[mode] = run.skipped
    model = {"name": generator.model.name, "hash": generator.model.checkpoint_hash}
    return pairs_by_mode, skipped, model


def _options(args):
    from engine.metrics.runner import EvaluationOptions

    options = EvaluationOptions(semscore=not args.no_semscore, device=args.device)
    if args.perplexity_model:
        from engine.metrics.perplexity import PerplexityScorer

        options.perplexity = PerplexityScorer(args.perplexity_model, device=args.device)
    if args.ratescore_ner:
        from engine.metrics.official_ratescore import OfficialRaTEScore

        options.ratescore = OfficialRaTEScore(args.ratescore_ner, args.ratescore_encoder, device=args.device)
    return options


def _environment(device: str) -> dict:
    import platform

    import torch

    return {"device": device, "machine": platform.machine(), "processor": platform.processor() or "unknown",
            "torch_threads": torch.get_num_threads(), "python": platform.python_version()}


def _evaluate(args: argparse.Namespace, modes: list[str] | None) -> tuple[dict, list[dict]]:
    from engine.metrics.errors import EvaluationInputError
    from engine.metrics.protocols import LITERATURE, PUBLISHED_IU_XRAY, constant_report_floor, protocol_for
    from engine.metrics.runner import evaluate_mode

    dataset, studies = _select_studies(args)
    protocol = protocol_for(dataset.format, args.chinese_tokens)
    if args.floor_only and protocol.name != LITERATURE:
        raise EvaluationInputError(f"--floor-only needs an R2Gen IU X-ray annotation file; {args.data} is "
                                   f"{dataset.format}")
    for study in studies:
        protocol.reference_text(study)
    options = _options(args)
    model = None
    if args.floor_only:
        pairs_by_mode, skipped = {}, {}
    elif args.predictions:
        pairs_by_mode, skipped = _pairs_from_predictions(args, studies, protocol, modes)
    else:
        pairs_by_mode, skipped, model = _pairs_from_model(args, studies, protocol, modes)

    results, samples = [], []
    for mode, pairs in pairs_by_mode.items():
        if not pairs:
            raise EvaluationInputError(f"mode {mode!r}: none of the {len(studies)} studies could be scored "
                                       f"(first reason: {skipped[mode][0][1] if skipped[mode] else 'none'}); "
                                       "check the image paths (--image-root) or the predictions file")
        result, mode_samples = evaluate_mode(pairs, protocol, options)
        result["skipped"] = {"count": len(skipped[mode]), "first": skipped[mode][:5]}
        results.append(result)
        samples.extend(mode_samples)

    summary = {
        "protocol": protocol.name,
        "data": str(args.data),
        "data_format": dataset.format,
        "studies": len(studies),
        "model": model,
        "predictions": str(args.predictions) if args.predictions else None,
        "environment": _environment(args.device),
        "modes": {result["mode"]: result for result in results},
    }
    if protocol.name == LITERATURE:
        summary["published"] = list(PUBLISHED_IU_XRAY)
        train = dataset.splits.get("train") or []
        if not args.no_floor and len(train) >= 2:
            summary["constant_report_floor"] = constant_report_floor(train, dataset.splits["test"])
    return summary, samples


def _write_outputs(folder: Path, summary: dict, samples: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "samples.jsonl").open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample, ensure_ascii=False) + "\n")
    (folder / "metrics.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %d per-study results and the metrics to %s", len(samples), folder)


def _print_tables(summary: dict) -> None:
    from engine.metrics.protocols import LITERATURE
    from engine.metrics.tables import detail_table, echo_table, literature_table

    results = list(summary["modes"].values())
    if summary["model"]:
        source = summary["model"]["name"]
    elif summary["predictions"]:
        source = f"predictions {summary['predictions']}"
    else:
        source = "nothing (floor only)"
    print(f"{summary['data']} ({summary['data_format']}, {summary['studies']} studies), drafts from {source}")
    if summary["protocol"] == LITERATURE:
        print(literature_table(results, summary.get("constant_report_floor")))
    else:
        print(echo_table(results))
    if results:
        print()
        print(detail_table(results))
    for result in results:
        if result["skipped"]["count"]:
            print(f"mode {result['mode']}: {result['skipped']['count']} studies skipped "
                  f"(first: {result['skipped']['first'][0][0]}: {result['skipped']['first'][0][1]})")
