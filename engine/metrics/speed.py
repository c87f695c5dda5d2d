"""Decoding speed from the engine's Report fields, aggregated per decoding mode.

- TPF (tokens per forward) = generated tokens / forward passes, summed over the reports of a
  mode. Forward passes are as the engine counts them: denoising and K/V-write passes, without
  prefill or image encoding. `tpf_mean` is the mean of the per-report values.
- Decode TPS = generated tokens / decode seconds (prefill and image encoding excluded), and
  overall TPS = generated tokens / (prefill + decode) seconds, both summed over reports.
- Latency is the report's total wall time in milliseconds (mean, median, 95th percentile).

A report without the needed fields (for example a prediction file that has only text) is left
out, and `reports` says how many were used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _usable(report: dict) -> bool:
    timings = report.get("timings_ms") or {}
    return (isinstance(report.get("generated_tokens"), int) and isinstance(report.get("forward_passes"), int)
            and all(isinstance(timings.get(key), (int, float)) for key in ("prefill", "decode", "total")))


def speed_summary(reports: Sequence[dict]) -> dict:
    """Return TPF, TPS and latency over report dicts (`Report.to_dict()` or the same keys)."""
    usable = [report for report in reports if _usable(report)]
    if not usable:
        return {"reports": 0}
    tokens = sum(report["generated_tokens"] for report in usable)
    passes = sum(report["forward_passes"] for report in usable)
    decode_seconds = sum(report["timings_ms"]["decode"] for report in usable) / 1000
    overall_seconds = decode_seconds + sum(report["timings_ms"]["prefill"] for report in usable) / 1000
    latencies = [float(report["timings_ms"]["total"]) for report in usable]
    per_report_tpf = [report["generated_tokens"] / report["forward_passes"]
                      for report in usable if report["forward_passes"]]
    block_sizes = sorted({report["block_size"] for report in usable if isinstance(report.get("block_size"), int)})
    return {
        "reports": len(usable),
        "generated_tokens": tokens,
        "forward_passes": passes,
        "tpf": tokens / passes if passes else None,
        "tpf_mean": sum(per_report_tpf) / len(per_report_tpf) if per_report_tpf else None,
        "decode_tps": tokens / decode_seconds if decode_seconds > 0 else None,
        "overall_tps": tokens / overall_seconds if overall_seconds > 0 else None,
        "latency_ms_mean": sum(latencies) / len(latencies),
        "latency_ms_p50": _percentile(latencies, 0.5),
        "latency_ms_p95": _percentile(latencies, 0.95),
        "block_sizes": block_sizes,
    }
