"""Plain-text tables of evaluation results, with the tokeniser and model named beside each score."""

from __future__ import annotations

from engine.metrics.protocols import PUBLISHED_IU_XRAY


def _number(value, scale: float = 1.0, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value * scale:.{digits}f}"


def _rows(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                 for row in rows)
    return lines


def _value(metrics: dict, key: str):
    entry = metrics.get(key)
    return entry.get("value") if isinstance(entry, dict) else entry


def echo_table(results: list[dict]) -> str:
    """Table 1 layout: ROUGE-L, CIDEr-D, entity score and SemScore per mode and language, then TPF and TPS.

    ROUGE-L, the entity scores and SemScore are shown x100 as in the ECHO paper; CIDEr-D as is.
    """
    header = ["mode", "lang", "n", "ROUGE-L", "CIDEr-D", "FindMatch+", "RaTE+", "SemScore", "TPF", "TPS"]
    rows = []
    for result in results:
        speed = result.get("speed", {})
        groups = list(result["languages"].items())
        if len(groups) > 1:
            groups.append(("mean", {key: {"value": value} for key, value in result["mean_over_languages"].items()
                                    if key != "languages"}))
        for language, metrics in groups:
            rows.append([
                result["mode"], language, str(metrics.get("pairs", result["pairs"])),
                _number(_value(metrics, "rouge_l"), 100), _number(_value(metrics, "cider_d")),
                _number(_value(metrics, "finding_match_positive"), 100),
                _number(_value(metrics, "ratescore_positive"), 100),
                _number(_value(metrics, "semscore"), 100),
                _number(speed.get("tpf")), _number(speed.get("decode_tps"), digits=1),
            ])
    lines = ["ECHO protocol (ROUGE-L, FindMatch+, RaTE+ and SemScore x100; mean = mean of the languages)"]
    lines += _rows(header, rows)
    lines += _legend(results)
    return "\n".join(lines)


def _legend(results: list[dict]) -> list[str]:
    named: dict[str, str] = {}
    for result in results:
        for language, metrics in result["languages"].items():
            named.setdefault(f"tokens ({language})", metrics["rouge_l"]["tokenizer"])
            if "semscore" in metrics:
                named.setdefault(f"SemScore model ({language})", "; ".join(metrics["semscore"]["models"]))
            if "finding_match_positive" in metrics:
                named.setdefault("FindMatch+", "labeller entity match, positive findings only, "
                                 + metrics["finding_match_positive"]["labeller"])
            if "ratescore_positive" in metrics:
                named.setdefault("RaTE+", metrics["ratescore_positive"]["model"])
            if "perplexity" in metrics:
                named.setdefault("perplexity model", metrics["perplexity"]["model"])
    named.setdefault("TPF", "generated tokens / forward passes as the engine counts them (prefill excluded)")
    named.setdefault("TPS", "generated tokens / decode seconds at batch size 1 (prefill excluded)")
    return [f"  {key}: {value}" for key, value in named.items()]


def detail_table(results: list[dict]) -> str:
    """Clinical label F1, perplexity, stability and latency per mode and language."""
    header = ["mode", "lang", "label F1 micro", "label F1 macro", "pos F1 micro", "pos F1 macro", "PPL",
              "empty", "repeat", "early EOS", "len limit", "latency ms"]
    rows = []
    for result in results:
        latency = result.get("speed", {}).get("latency_ms_mean")
        for language, metrics in result["languages"].items():
            labels = metrics.get("chexpert_labels", {})
            stability = metrics["stability"]
            rows.append([
                result["mode"], language,
                _number(labels.get("all", {}).get("micro", {}).get("f1"), digits=3),
                _number(labels.get("all", {}).get("macro", {}).get("f1"), digits=3),
                _number(labels.get("positive", {}).get("micro", {}).get("f1"), digits=3),
                _number(labels.get("positive", {}).get("macro", {}).get("f1"), digits=3),
                _number(_value(metrics, "perplexity"), digits=2),
                _number(stability["empty_rate"], digits=2), _number(stability["repetition_rate"], digits=2),
                _number(stability["premature_eos_rate"], digits=2), _number(stability["length_limit_rate"], digits=2),
                _number(latency, digits=1),
            ])
    return "\n".join(_rows(header, rows))


def literature_table(results: list[dict], floor: dict | None) -> str:
    """BLEU-1..4, METEOR and ROUGE-L beside the published R2Gen and R2GenCMN numbers."""
    header = ["method", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D", "source"]
    rows = []
    for published in PUBLISHED_IU_XRAY:
        rows.append([published["method"], *(_number(published[key], digits=3) for key in
                     ("bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l")), "n/a", published["source"]])
    if floor is not None:
        rows.append(["constant report (train medoid)", *(_number(floor[key], digits=3) for key in
                     ("bleu_1", "bleu_2", "bleu_3", "bleu_4")), "n/a", _number(floor["rouge_l"], digits=3),
                     _number(floor["cider_d"], digits=3), f"measured here on {floor['test_reports']} test reports"])
    for result in results:
        metrics = result["languages"]["en"]
        rows.append([f"ours: {result['mode']}", *(_number(metrics["bleu"][f"bleu_{n}"], digits=3) for n in range(1, 5)),
                     "n/a", _number(metrics["rouge_l"]["value"], digits=3), _number(metrics["cider_d"]["value"], digits=3),
                     f"measured here on {metrics['pairs']} test reports"])
    lines = ["IU X-ray literature protocol: R2Gen test split, Findings section, R2Gen cleaning"]
    lines += _rows(header, rows)
    lines.append("  tokens: " + ("r2gen (R2Gen IU X-ray cleaning, split on spaces)"))
    lines.append("  METEOR is not computed here: pycocoevalcap's METEOR needs Java.")
    if floor is not None:
        lines.append(f"  train medoid: {floor['medoid_report']!r} "
                     f"(mean ROUGE-L {floor['medoid_mean_rouge_l_to_train']:.3f} to the other "
                     f"{floor['train_reports'] - 1} train reports)")
    return "\n".join(lines)
