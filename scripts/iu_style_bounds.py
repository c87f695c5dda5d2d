"""Write two prediction files that bound the literature-protocol scores of normalised reports.

The bundled model writes normalised reports (seven regions, explicit normal sentences), while
the IU X-ray literature protocol scores against the raw Findings. For every R2Gen test study:
- style_floor.jsonl: the same draft for every study, the medoid (highest mean ROUGE-L to the
  others) of the normalised English train reports;
- style_ceiling.jsonl: the study's own report after normalisation.
Score them with `echo-cxr eval --data annotation_r2gen.json --predictions FILE --no-floor`.

Usage: python scripts/iu_style_bounds.py --r2gen annotation_r2gen.json --iu IU_DIR --out OUT_DIR
       (IU_DIR: the output folder of `echo-cxr data build --iu ...`)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.metrics.protocols import medoid_report, protocol_for
from training.corpora.iu_xray import study_id_from_r2gen


def read_english(path: Path) -> list[dict]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if record.get("language", "en") == "en"]


def draft(record: dict) -> str:
    return f"Findings: {record['findings']} Impression: {record['impression']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--r2gen", type=Path, required=True, help="R2Gen annotation JSON")
    parser.add_argument("--iu", type=Path, required=True, help="folder with train.jsonl and test.jsonl from echo-cxr data build")
    parser.add_argument("--out", type=Path, required=True, help="folder for style_floor.jsonl and style_ceiling.jsonl")
    args = parser.parse_args()

    protocol = protocol_for("r2gen")
    train = read_english(args.iu / "train.jsonl")
    medoid, mean_rouge = medoid_report([protocol.tokens(record["findings"], "en") for record in train])
    test = {record["study_id"]: record for record in read_english(args.iu / "test.jsonl")}
    studies = json.loads(args.r2gen.read_text(encoding="utf-8"))["test"]

    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "style_floor.jsonl").open("w", encoding="utf-8") as floor, \
            (args.out / "style_ceiling.jsonl").open("w", encoding="utf-8") as ceiling:
        for study in studies:
            floor.write(json.dumps({"id": study["id"], "mode": "style-floor", "draft": draft(train[medoid])}) + "\n")
            own = test.get(study_id_from_r2gen(study["id"]))
            if own is not None:
                ceiling.write(json.dumps({"id": study["id"], "mode": "style-ceiling", "draft": draft(own)}) + "\n")
    print(f"medoid train report {train[medoid]['study_id']} (mean ROUGE-L {mean_rouge:.3f}): {train[medoid]['findings']}")


if __name__ == "__main__":
    main()
