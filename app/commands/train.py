"""`echo-cxr train` and `echo-cxr registry`: run a training stage; list and promote registered models."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    from training.cli import add_train_arguments

    train = subparsers.add_parser(
        "train",
        help="run a training stage (cpt, rad, dcd) or site fine-tuning",
        description="Run one ECHO training stage in this process. For several processes or GPUs run "
        "`accelerate launch [options] -m training STAGE --config FILE` instead.",
    )
    add_train_arguments(train)
    train.set_defaults(func=run_train)

    registry = subparsers.add_parser("registry", help="list or promote fine-tuned models in a model registry")
    actions = registry.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="list the registered candidates, their status and metrics")
    listing.add_argument("registry", metavar="DIR", help="model registry folder")
    listing.add_argument("--json", action="store_true", help="print JSON in place of text")
    listing.set_defaults(func=run_registry_list)
    promote = actions.add_parser("promote", help="make a candidate the production model")
    promote.add_argument("registry", metavar="DIR", help="model registry folder")
    promote.add_argument("name", help="candidate name")
    promote.add_argument("--accept-regression", action="store_true",
                         help="promote even though the candidate scored below its base model on held-out studies")
    promote.set_defaults(func=run_registry_promote)


def run_train(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from training.cli import run_training, split_config_arguments

    try:
        summary = run_training(args.stage, *split_config_arguments(args))
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        raise UserInputError(str(error)) from error
    print(json.dumps(summary, indent=2, default=str))
    return 0


def run_registry_list(args: argparse.Namespace) -> int:
    from training.registry import ModelRegistry

    registry = ModelRegistry(args.registry)
    candidates = registry.candidates()
    if args.json:
        print(json.dumps({"production": registry.production, "candidates": [c.info for c in candidates]}, indent=2))
        return 0
    if not candidates:
        print(f"no candidates in {args.registry}")
    for candidate in candidates:
        metrics = candidate.info.get("metrics", {})
        scores = ", ".join(f"{role} rouge_l {values.get('rouge_l', float('nan')):.4f}"
                           for role, values in metrics.items())
        flag = " (below its base model)" if candidate.regressed else ""
        print(f"{candidate.name}: {candidate.info.get('status', '?')}; {scores or 'no metrics'}{flag}")
    return 0


def run_registry_promote(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from training.registry import ModelRegistry, RegressionError

    try:
        candidate = ModelRegistry(args.registry).promote(args.name, accept_regression=args.accept_regression)
    except (KeyError, RegressionError) as error:
        raise UserInputError(str(error.args[0])) from error
    print(f"{candidate.name} is now the production model of {args.registry}")
    return 0
