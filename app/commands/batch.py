"""`echo-cxr batch`: draft many studies into a JSONL file, resumably, across processes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.commands.common import add_model_options, load_generator

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="draft many studies into a JSONL file",
        description="Draft reports for a folder of studies, a list file or an ECHO evaluation JSON file, in "
        "batches, appending one JSON line per study. A rerun skips studies already drafted. Under "
        "`accelerate launch` the studies are split across processes.",
    )
    parser.add_argument("input", metavar="INPUT", help="folder, list file or ECHO evaluation JSON file")
    parser.add_argument("--out", required=True, metavar="FILE.jsonl", help="output JSONL file (appended)")
    parser.add_argument("--batch-size", type=int, default=4, metavar="N", help="studies per batch (default 4)")
    add_model_options(parser)
    parser.set_defaults(func=run, device="auto")


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState
    from tqdm import tqdm

    from app.batch import append_jsonl, chunks, enumerate_studies, finished_ids, merge_parts
    from app.cli import UserInputError
    from engine.imaging import ImageInputError, load_study
    from engine.pipeline import DraftRequest

    if args.batch_size < 1:
        raise UserInputError(f"--batch-size must be a positive integer, got {args.batch_size}")
    import torch

    # Under `accelerate launch` each process takes its own device; on a machine without
    # CUDA the processes form one gloo group only when PartialState is created with cpu=True.
    use_cpu = args.device == "cpu" or (args.device == "auto" and not torch.cuda.is_available())
    state = PartialState(cpu=use_cpu)
    args.device = "cpu" if use_cpu else str(state.device)
    try:
        studies = enumerate_studies(args.input)
    except (FileNotFoundError, ValueError) as error:
        raise UserInputError(str(error)) from error

    if not studies:
        raise UserInputError(f"{args.input} names no study; pass a folder with images, a list file or an "
                             "ECHO evaluation JSON file")
    output = Path(args.out)
    output.parent.mkdir(parents=True, exist_ok=True)
    parts = [output.with_name(f"{output.name}.part{rank}") for rank in range(state.num_processes)]
    target = parts[state.process_index] if state.num_processes > 1 else output
    done = finished_ids([output, *parts])
    todo = [study for study in studies if study.study_id not in done][state.process_index::state.num_processes]
    if state.is_main_process:
        print(f"{len(studies)} studies, {len(done)} already drafted, {len(studies) - len(done)} to draft over "
              f"{state.num_processes} process(es)", file=sys.stderr)

    generator, config = load_generator(args)
    drafted = failed = 0
    for batch in tqdm(list(chunks(todo, args.batch_size)), desc="batches", disable=not state.is_main_process):
        records, requests, loaded = [], [], []
        for source in batch:
            try:
                study = load_study(list(source.paths))
            except ImageInputError as error:
                records.append({"study_id": source.study_id, "error": str(error), "code": error.code})
                continue
            request = DraftRequest.from_study(study, args.lang)
            try:
                generator.prepare(request)
            except ValueError as error:
                records.append({"study_id": source.study_id, "error": str(error), "code": "invalid_image"})
                continue
            requests.append(request)
            loaded.append((source, study))
        if requests:
            reports = generator.generate(requests, config)
            for (source, study), report in zip(loaded, reports, strict=True):
                records.append({
                    "study_id": source.study_id,
                    "images": [image.source for image in study.images],
                    "report": report.to_dict(),
                })
        append_jsonl(target, records)
        failed += sum(1 for record in records if "error" in record)
        drafted += sum(1 for record in records if "report" in record)

    if state.num_processes > 1:
        state.wait_for_everyone()
        if state.is_main_process:
            merge_parts(output, parts)
    print(f"process {state.process_index}: {drafted} drafted, {failed} failed"
          + (f" (see the lines with an error in {output.name}; a rerun retries them)" if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0
