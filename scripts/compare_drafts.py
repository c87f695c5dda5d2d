"""Compare two sets of drafts of the same studies with ROUGE-L, for example a one-step student
against its multi-step teacher.

Reads two samples.jsonl files written by `echo-cxr eval --out` and scores each study's draft in
the first against its draft in the second, with the eval's word tokens (English words, jieba
words for Chinese). Prints the mean ROUGE-L x100, the share of identical drafts and the count.

Usage: python scripts/compare_drafts.py CANDIDATE/samples.jsonl REFERENCE/samples.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.metrics.lexical import rouge_l
from engine.metrics.text import tokenizer_for


def read_drafts(path: Path) -> dict[str, tuple[str, str]]:
    """Return {study id: (language, draft)}."""
    drafts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        drafts[sample["id"]] = (sample["language"], sample["draft"])
    return drafts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidate", type=Path, help="samples.jsonl of the drafts to score")
    parser.add_argument("reference", type=Path, help="samples.jsonl of the drafts to score against")
    args = parser.parse_args()

    candidates, references = read_drafts(args.candidate), read_drafts(args.reference)
    shared = sorted(set(candidates) & set(references))
    if not shared:
        raise SystemExit(f"no study id occurs in both {args.candidate} and {args.reference}")
    language = candidates[shared[0]][0]
    tokenize = tokenizer_for(language)
    score, _ = rouge_l([tokenize(candidates[i][1]) for i in shared], [tokenize(references[i][1]) for i in shared])
    identical = sum(candidates[i][1] == references[i][1] for i in shared) / len(shared)
    print(json.dumps({"studies": len(shared), "language": language, "rouge_l": round(100 * score, 2),
                      "identical_share": round(identical, 3)}))


if __name__ == "__main__":
    main()
