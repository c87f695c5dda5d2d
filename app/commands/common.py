"""Options and helpers shared by the drafting subcommands."""

from __future__ import annotations

import argparse

# Larger blocks are never trained; a block of thousands of masks makes each pass slow and memory-heavy.
MAX_BLOCK_SIZE = 64


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="DIR", help="checkpoint folder (default: the bundled model in assets/)")
    parser.add_argument("--mode", choices=["one-step", "multi-step", "ar"],
                        help="decoding mode (default: what the checkpoint was trained for)")
    parser.add_argument("--block-size", type=int, metavar="N",
                        help="tokens per block (default: the checkpoint's trained block size)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="report language (default en)")
    parser.add_argument("--no-fused-cache", action="store_true",
                        help="one-step mode: write each block's K/V with a separate pass (two passes per block)")
    parser.add_argument("--max-new-tokens", type=int, metavar="N",
                        help="cap on generated tokens (default: the checkpoint's, usually 512)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda or cuda:N (default cpu; batch under "
                        "accelerate launch: each process's own device)")


def load_generator(args: argparse.Namespace):
    """Load the checkpoint named by --model and its decoding config, mapping bad input to UserInputError."""
    from app.cli import UserInputError
    from engine.pipeline import ReportGenerator

    if args.block_size is not None and not 1 <= args.block_size <= MAX_BLOCK_SIZE:
        raise UserInputError(f"--block-size must be between 1 and {MAX_BLOCK_SIZE}, got {args.block_size}; "
                             "use the checkpoint's trained block size (4 or 8 for ECHO models)")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise UserInputError(f"--max-new-tokens must be a positive integer, got {args.max_new_tokens}")
    import torch

    try:
        device = torch.device(args.device)
    except RuntimeError as error:
        raise UserInputError(f"invalid --device {args.device!r}; use cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"--device {args.device} requested but this torch build sees no CUDA GPU; use --device cpu")
    try:
        generator = ReportGenerator.from_folder(args.model, device=args.device)
        config = generator.decode_config(mode=args.mode, block_size=args.block_size,
                                         max_new_tokens=args.max_new_tokens, fused_cache=not args.no_fused_cache)
    except (FileNotFoundError, ValueError) as error:
        raise UserInputError(str(error)) from error
    return generator, config
