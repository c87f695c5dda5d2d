"""TPF, TPS and latency from Report fields."""

from __future__ import annotations

import pytest

from engine.metrics.speed import speed_summary


def _report(tokens, passes, prefill, decode, total, block_size=8):
    return {"generated_tokens": tokens, "forward_passes": passes, "block_size": block_size,
            "timings_ms": {"image": 1.0, "prefill": prefill, "decode": decode, "total": total}}


def test_speed_known_values():
    reports = [_report(32, 4, 10.0, 200.0, 260.0), _report(16, 8, 10.0, 100.0, 140.0), {"text": "no fields"}]
    summary = speed_summary(reports)
    assert summary["reports"] == 2
    # 48 tokens over 12 passes; per report 32/4 = 8 and 16/8 = 2, mean 5.
    assert summary["tpf"] == 4.0
    assert summary["tpf_mean"] == 5.0
    # 48 tokens over 0.3 s of decoding, and over 0.32 s with prefill.
    assert summary["decode_tps"] == pytest.approx(160.0)
    assert summary["overall_tps"] == pytest.approx(150.0)
    assert summary["latency_ms_mean"] == 200.0
    assert summary["latency_ms_p50"] == 200.0
    # Linear interpolation: 140 + (260 - 140) * 0.95 = 254.
    assert summary["latency_ms_p95"] == pytest.approx(254.0)
    assert summary["block_sizes"] == [8]


def test_speed_without_fields():
    assert speed_summary([{"text": "a"}]) == {"reports": 0}
