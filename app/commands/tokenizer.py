"""`echo-cxr tokenizer build`: train the bilingual report tokenizer from corpus JSONL files."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokenizer", help="train the bilingual BPE tokenizer",
        description="Train a byte-level BPE tokenizer on English and Chinese reports from corpus JSONL files "
        "(written by `echo-cxr data build`) and save tokenizer.json into a folder.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    build = actions.add_parser("build", help="train and save a tokenizer")
    build.add_argument("corpus", nargs="+", metavar="FILE.jsonl", help="corpus files (use train and val only)")
    build.add_argument("--out", required=True, metavar="DIR", help="folder to write tokenizer.json into")
    build.add_argument("--vocab-size", type=int, default=4000, help="vocabulary size including special and "
                       "byte tokens (default 4000)")
    build.add_argument("--min-frequency", type=int, default=2, help="minimum pair count for a merge (default 2)")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from app.cli import UserInputError
    from engine.tokenizer import report_texts, train_bilingual_bpe

    missing = [path for path in args.corpus if not Path(path).is_file()]
    if missing:
        raise UserInputError(f"corpus file not found: {missing[0]}; run `echo-cxr data build` first")
    if args.vocab_size < 300:
        raise UserInputError(f"--vocab-size must be at least 300 (the special and byte tokens), got {args.vocab_size}")
    try:
        texts = list(report_texts(args.corpus))
    except ValueError as error:
        raise UserInputError(str(error)) from error
    if not texts:
        raise UserInputError("the corpus files contain no reports")
    tokenizer = train_bilingual_bpe(texts, vocab_size=args.vocab_size, min_frequency=args.min_frequency)
    tokenizer.save(args.out)
    english = [t for t in texts if t.startswith("Findings:")]
    chinese = [t for t in texts if t.startswith("所见：")]
    for name, group in (("English", english), ("Chinese", chinese)):
        if group:
            tokens = sum(len(tokenizer.encode(text)) for text in group)
            characters = sum(len(text) for text in group)
            print(f"{name}: {len(group)} reports, {tokens / len(group):.1f} tokens per report, "
                  f"{characters / tokens:.2f} characters per token")
    print(f"wrote {Path(args.out) / 'tokenizer.json'} ({tokenizer.vocab_size} tokens)")
    return 0
