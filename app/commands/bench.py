"""`echo-cxr bench`: time every decoding mode on the same studies in one process."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="time AR, multi-step, one-step and one-step fused decoding",
        description="Time autoregressive, multi-step, one-step unfused and one-step fused decoding on the same "
        "studies, interleaved in one process, and print tokens per forward, decode tokens/s, latency, speedups "
        "and the per-pass cost curve with the limits it implies.",
    )
    parser.add_argument("--model", help="checkpoint folder (default: the bundled model)")
    parser.add_argument("--ar-model", help="autoregressive checkpoint of the same size for the AR arm "
                        "(default: the same weights decoded autoregressively)")
    parser.add_argument("--random-init", action="store_true",
                        help="time a randomly initialised model of the bundled size instead of a checkpoint")
    parser.add_argument("--block-size", type=int, default=8, help="tokens per block (default 8)")
    parser.add_argument("--studies", type=int, default=4, help="studies per repeat (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per study and arm (default 3)")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="tokens per report (default 128)")
    parser.add_argument("--natural-eos", action="store_true",
                        help="stop at the end token instead of forcing --max-new-tokens tokens")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.benchmark import BenchConfig, format_table, random_generator, result_json, run_benchmark
    from engine.pipeline import ReportGenerator

    if args.block_size < 1 or args.studies < 1 or args.repeats < 1 or args.max_new_tokens < 1:
        raise UserInputError("--block-size, --studies, --repeats and --max-new-tokens must be positive integers")
    config = BenchConfig(block_size=args.block_size, studies=args.studies, repeats=args.repeats,
                         max_new_tokens=args.max_new_tokens, natural_eos=args.natural_eos, threads=args.threads)
    notes = []
    if args.random_init:
        generator = random_generator(block_size=args.block_size)
        notes.append("randomly initialised model of the bundled size with a forced report length; "
                     "speed depends on size, not on weights")
    else:
        try:
            generator = ReportGenerator.from_folder(args.model)
        except (FileNotFoundError, ValueError) as error:
            raise UserInputError(f"{error}; or pass --random-init to time an untrained model") from error
    ar_generator = ReportGenerator.from_folder(args.ar_model) if args.ar_model else None
    if ar_generator is None:
        notes.append("AR arm decodes the same weights autoregressively (same size and per-pass cost)")
    result = run_benchmark(generator, config, ar_generator=ar_generator, notes=notes)
    print(result_json(result) if args.json else format_table(result))
    return 0
