"""Build the train/val/test JSONL corpus for the training stages from local data set copies.

Every study is normalised (`engine.reports.normalize`). Its English record carries the
normalised Findings and Impression and the structured regions. A Chinese record with the same
study id follows when the Chinese lexicon covers every sentence, and never otherwise. Studies
keep the split of their source: the IU X-ray R2Gen test split and the official test splits stay
in test.jsonl and are never mixed into training.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from engine.reports.normalize import EmptyReportError, NotCoveredError, normalize_report
from training.corpora.records import SPLITS, StudyRecord

logger = logging.getLogger(__name__)


def normalized_records(records: Iterable[StudyRecord], stats: Counter) -> Iterator[StudyRecord]:
    """Yield the English and, when covered, Chinese normalised records of each study."""
    for record in records:
        try:
            report = normalize_report(record.findings, record.impression)
        except EmptyReportError:
            stats["skipped_empty"] += 1
            continue
        english = report.to_dict("en")
        yield replace(
            record, findings=english["findings"], impression=english["impression"], normalized=english
        )
        stats[f"{record.split}.en"] += 1
        try:
            chinese = report.to_dict("zh")
        except NotCoveredError:
            stats["zh_not_covered"] += 1
            continue
        yield replace(
            record,
            findings=chinese["findings"],
            impression=chinese["impression"],
            language="zh",
            normalized=chinese,
        )
        stats[f"{record.split}.zh"] += 1


def build_corpus(readers: Iterable[Callable[[], Iterable[StudyRecord]]], out_dir: Path) -> Counter:
    """Write train.jsonl, val.jsonl and test.jsonl under `out_dir` and return the counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats: Counter = Counter()
    handles = {split: (out_dir / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    try:
        for reader in readers:
            for record in normalized_records(reader(), stats):
                if record.split not in handles:
                    raise ValueError(f"study {record.study_id} has invalid split {record.split!r}")
                handles[record.split].write(record.to_json() + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    logger.info("corpus written to %s: %s", out_dir, dict(stats))
    return stats
