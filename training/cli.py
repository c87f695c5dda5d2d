"""Command-line entry of the training stages, shared by `echo-cxr train` and `python -m training`.

`python -m training STAGE --config FILE [key=value ...]` is the form to run under
`accelerate launch`, which starts one such process per device.
"""

from __future__ import annotations

import argparse
import json

STAGES = ("cpt", "rad", "dcd", "finetune")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage", choices=STAGES,
                        help="cpt (ECHO-AR), rad (ECHO-Base), dcd (ECHO, one step per block) or finetune (site data)")
    # --config takes the overrides after the file too: argparse cannot match positionals that
    # follow an option once the stage has been read.
    parser.add_argument("--config", nargs="+", metavar=("FILE", "KEY=VALUE"),
                        help="YAML file of the stage's config fields, then fields that replace its values, "
                        "e.g. --config rad.yaml max_steps=100 learning_rate=1e-5")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config fields given without a file, or before --config")


def split_config_arguments(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """Return (config file or None, overrides) from the parsed train arguments."""
    if args.config is None:
        return None, list(args.overrides)
    return args.config[0], list(args.overrides) + list(args.config[1:])


def run_training(stage: str, config_path: str | None, overrides: list[str]) -> dict:
    """Load the stage's config and run it; return its summary (finetune: the candidate's information)."""
    from training.config import load_config

    config = load_config(stage, config_path, overrides)
    if stage == "finetune":
        from training.finetune import run_finetune

        return run_finetune(config)
    from training.stages import run_stage

    return run_stage(stage, config)


def main(argv: list[str] | None = None) -> int:
    import logging

    parser = argparse.ArgumentParser(prog="python -m training", description="Run one ECHO training stage.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = run_training(args.stage, *split_config_arguments(args))
    print(json.dumps(summary, indent=2, default=str))
    return 0
