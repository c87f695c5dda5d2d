"""Copy R2Gen's IU X-ray annotation with each study's indication added from `echo-cxr data build`.

R2Gen's annotation contains only the Findings section. The IU X-ray XML also gives the indication,
which a radiologist reads before the images, so the literature protocol can be run with it as
clinical context. R2Gen ids look like "CXR2_IM-0652"; the data-build records of that study have
study_id "iu-2".

Usage: python scripts/r2gen_indications.py --r2gen annotation_r2gen.json --iu IU_DIR --out OUT.json
       (IU_DIR: the output folder of `echo-cxr data build --iu ...`)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.corpora.iu_xray import study_id_from_r2gen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--r2gen", type=Path, required=True, help="R2Gen annotation JSON")
    parser.add_argument("--iu", type=Path, required=True, help="folder with train/val/test.jsonl from echo-cxr data build")
    parser.add_argument("--out", type=Path, required=True, help="annotation JSON to write")
    args = parser.parse_args()

    indications: dict[str, str] = {}
    for path in sorted(args.iu.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("language", "en") == "en" and record.get("indication"):
                indications[record["study_id"]] = record["indication"]

    data = json.loads(args.r2gen.read_text(encoding="utf-8"))
    found = total = 0
    for rows in data.values():
        for row in rows:
            indication = indications.get(study_id_from_r2gen(row["id"]))
            total += 1
            if indication:
                row["indication"] = indication
                found += 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {found} of {total} studies have an indication")


if __name__ == "__main__":
    main()
