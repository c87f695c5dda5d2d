"""Copy a trained checkpoint into assets/ with its weights stored in bfloat16.

bfloat16 halves the files; `engine.checkpoint.load_checkpoint` loads them as float32 on the CPU.

Usage: python scripts/ship_checkpoint.py SOURCE_CHECKPOINT DEST_FOLDER [--name NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

import torch

from engine.checkpoint import load_checkpoint, save_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="checkpoint folder written by `echo-cxr train`")
    parser.add_argument("dest", type=Path, help="folder to write (replaced when it exists)")
    parser.add_argument("--name", help="model name stored in the ECHO settings; default: the folder name")
    args = parser.parse_args()

    model, tokenizer = load_checkpoint(args.source)
    settings = dataclasses.replace(model.settings, name=args.name or args.dest.name)
    if args.dest.exists():
        shutil.rmtree(args.dest)
    save_checkpoint(model.hf.to(torch.bfloat16), tokenizer, settings, args.dest)
    size = sum(path.stat().st_size for path in args.dest.iterdir())
    print(f"wrote {args.dest} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
