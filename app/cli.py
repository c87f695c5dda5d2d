"""The `echo-cxr` command: parse arguments, dispatch to a subcommand, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app.commands import COMMAND_MODULES
from app.errors import UserInputError

__all__ = ["UserInputError", "build_parser", "main"]

# Exit statuses shared by every subcommand.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2), like input errors."""

    def error(self, message: str) -> None:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="echo-cxr",
        description="Draft chest X-ray reports with one-step block diffusion. "
        "Every draft needs review and signature by a radiologist.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or EXIT_OK)
    except UserInputError as error:
        print(f"echo-cxr {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"echo-cxr {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
