"""Score drafts of one decoding mode against their references and aggregate per language.

Every pair carries its study id from input to output. Corpus-level metrics (BLEU, CIDEr-D, the
label scores) are computed per language subset. The ECHO protocol also reports the mean of the
English and Chinese values of its Table 1 metrics.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.metrics.clinical import Labels, finding_match, label_scores, label_text
from engine.metrics.errors import EvaluationInputError
from engine.metrics.lexical import bleu, cider_d, rouge_l
from engine.metrics.protocols import ECHO, Protocol
from engine.metrics.speed import speed_summary
from engine.metrics.stability import stability_flags, stability_rates
from engine.metrics.text import is_empty_text

LABELLER_NAME = "engine.reports.labeller (rule-based, 14 CheXpert observations)"
TABLE_METRICS = ("rouge_l", "cider_d", "finding_match_positive", "ratescore_positive", "semscore")
REPORT_KEYS = ("stop_reason", "generated_tokens", "forward_passes", "tokens_per_forward", "timings_ms",
               "block_size", "low_confidence_tokens", "warnings", "model")


@dataclass
class Pair:
    """One draft and its reference, joined by study id."""

    id: str
    mode: str
    language: str
    """Language of the reference; metrics are grouped by it."""
    reference: str
    draft: str
    draft_language: str | None = None
    report: dict = field(default_factory=dict)
    """Engine Report fields (stop_reason, generated_tokens, timings_ms, ...) when known."""


@dataclass
class EvaluationOptions:
    """Switches and models for the optional metrics."""

    semscore: bool = True
    clinical: bool = True
    device: str = "cpu"
    perplexity: object | None = None
    """A `PerplexityScorer`, or None to skip perplexity."""
    ratescore: object | None = None
    """An `OfficialRaTEScore`, or None to skip it."""
    min_tokens: int | None = None
    embedder_for: Callable[[str, str], object] | None = None
    """Picks the SemScore model for (draft language, reference language); defaults to
    `engine.metrics.semantic.embedder_for`."""


def _check_pairs(pairs: list[Pair]) -> None:
    counts = Counter(pair.id for pair in pairs)
    repeated = [identifier for identifier, count in counts.items() if count > 1]
    if repeated:
        raise EvaluationInputError(f"study id {repeated[0]!r} has {counts[repeated[0]]} drafts in mode "
                                   f"{pairs[0].mode!r}; keep one draft per study and mode")
    for pair in pairs:
        if is_empty_text(pair.reference):
            raise EvaluationInputError(f"study {pair.id!r} has an empty reference; fill in the reference text "
                                       "or remove the study")


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _score_semscore(group: list[Pair], drafts: list[str], options: EvaluationOptions, samples: list[dict]) -> dict:
    from engine.metrics.semantic import embedder_for, semscore

    choose = options.embedder_for or (lambda draft, reference: embedder_for(draft, reference, options.device))
    by_model: dict[int, tuple[object, list[int]]] = {}
    for index, pair in enumerate(group):
        embedder = choose(pair.draft_language or pair.language, pair.language)
        by_model.setdefault(id(embedder), (embedder, []))[1].append(index)
    scores = [0.0] * len(group)
    models = []
    for embedder, indexes in by_model.values():
        values = semscore([drafts[i] for i in indexes], [group[i].reference for i in indexes], embedder)
        for index, value in zip(indexes, values, strict=True):
            scores[index] = value
            samples[index]["scores"]["semscore"] = value
            samples[index]["scores"]["semscore_model"] = embedder.name
        models.append(embedder.name)
    return {"value": _mean(scores), "models": models}


def _score_clinical(group: list[Pair], drafts: list[str], empty: list[bool], samples: list[dict]) -> dict:
    draft_labels: list[Labels] = []
    reference_labels: list[Labels] = []
    for index, pair in enumerate(group):
        draft = label_text(drafts[index], pair.draft_language or pair.language)
        reference = label_text(pair.reference, pair.language)
        draft_labels.append(draft)
        reference_labels.append(reference)
        scores = samples[index]["scores"]
        scores["finding_match"] = finding_match(draft, reference, positive_only=False, draft_empty=empty[index])
        scores["finding_match_positive"] = finding_match(draft, reference, positive_only=True,
                                                         draft_empty=empty[index])
        samples[index]["labels"] = {"draft": draft.observations, "reference": reference.observations}
    return {
        "finding_match": {"value": _mean([s["scores"]["finding_match"] for s in samples]), "labeller": LABELLER_NAME},
        "finding_match_positive": {"value": _mean([s["scores"]["finding_match_positive"] for s in samples]),
                                   "labeller": LABELLER_NAME},
        "chexpert_labels": {
            "labeller": LABELLER_NAME,
            "all": label_scores(draft_labels, reference_labels, "all"),
            "positive": label_scores(draft_labels, reference_labels, "positive"),
        },
    }


def _score_language(group: list[Pair], language: str, protocol: Protocol, options: EvaluationOptions,
                    samples: list[dict]) -> dict:
    drafts = [protocol.draft_text(pair.draft, pair.draft_language or pair.language) for pair in group]
    empty = [is_empty_text(draft) for draft in drafts]
    candidate_tokens = [protocol.tokens(draft, pair.draft_language or pair.language)
                        for draft, pair in zip(drafts, group, strict=True)]
    reference_tokens = [protocol.tokens(pair.reference, language) for pair in group]
    tokenizer = protocol.tokenizer(language).name

    rouge, rouge_per_sample = rouge_l(candidate_tokens, reference_tokens)
    bleu_corpus, bleu_per_sample = bleu(candidate_tokens, reference_tokens)
    cider, cider_per_sample = cider_d(candidate_tokens, reference_tokens)
    for index, sample in enumerate(samples):
        sample["scored_draft"] = drafts[index]
        sample["scores"].update({"rouge_l": rouge_per_sample[index], "bleu_4": bleu_per_sample[index][3],
                                 "cider_d": cider_per_sample[index]})
    metrics: dict = {
        "pairs": len(group),
        "rouge_l": {"value": rouge, "tokenizer": tokenizer},
        "bleu": {**{f"bleu_{n + 1}": value for n, value in enumerate(bleu_corpus)}, "tokenizer": tokenizer},
        "cider_d": {"value": cider, "tokenizer": tokenizer,
                    "note": "CIDEr-D is 0 for a single pair (document frequencies need a corpus)"
                    if len(group) == 1 else None},
    }
    if protocol.name == ECHO and options.semscore:
        metrics["semscore"] = _score_semscore(group, drafts, options, samples)
    if protocol.name == ECHO and options.clinical:
        metrics.update(_score_clinical(group, drafts, empty, samples))
    if protocol.name == ECHO and options.ratescore is not None and language == "en":
        values = options.ratescore.score(drafts, [pair.reference for pair in group])
        for sample, value in zip(samples, values, strict=True):
            sample["scores"]["ratescore_positive"] = value
        metrics["ratescore_positive"] = {"value": _mean(values), "model": options.ratescore.name}
    if options.perplexity is not None:
        values = options.perplexity.perplexities(drafts, [pair.draft_language or pair.language for pair in group])
        for sample, value in zip(samples, values, strict=True):
            sample["scores"]["perplexity"] = value
        scored = [value for value in values if value is not None]
        metrics["perplexity"] = {"value": _mean(scored), "model": options.perplexity.name,
                                 "scored_drafts": len(scored)}

    flags = []
    for index, pair in enumerate(group):
        flag = stability_flags(pair.draft, pair.draft_language or pair.language, pair.report.get("stop_reason"),
                               pair.report.get("repeated_sentences_removed", 0), options.min_tokens)
        flags.append(flag)
        samples[index]["flags"] = flag.to_dict()
    metrics["stability"] = stability_rates(flags)
    return metrics


def evaluate_mode(pairs: list[Pair], protocol: Protocol, options: EvaluationOptions | None = None
                  ) -> tuple[dict, list[dict]]:
    """Return (metrics of one mode, per-sample results in input order)."""
    options = options or EvaluationOptions()
    if not pairs:
        raise EvaluationInputError("no pairs to score; check --data, --lang, --limit and the predictions' ids")
    _check_pairs(pairs)
    mode = pairs[0].mode
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        by_language[pair.language].append(index)

    samples: list[dict] = [{} for _ in pairs]
    languages = {}
    for language in sorted(by_language):
        indexes = by_language[language]
        group = [pairs[index] for index in indexes]
        group_samples = [
            {"id": pair.id, "mode": pair.mode, "language": pair.language,
             "draft_language": pair.draft_language or pair.language, "reference": pair.reference,
             "draft": pair.draft, "scores": {}}
            for pair in group
        ]
        languages[language] = _score_language(group, language, protocol, options, group_samples)
        for index, sample in zip(indexes, group_samples, strict=True):
            report = {key: pairs[index].report[key] for key in REPORT_KEYS if key in pairs[index].report}
            if report:
                sample["report"] = report
            samples[index] = sample

    result = {"mode": mode, "protocol": protocol.name, "pairs": len(pairs), "languages": languages,
              "speed": speed_summary([pair.report for pair in pairs])}
    if protocol.name == ECHO:
        result["mean_over_languages"] = _language_means(languages)
    return result, samples


def _language_means(languages: dict[str, dict]) -> dict:
    means: dict = {"languages": sorted(languages)}
    for key in TABLE_METRICS:
        values = [metrics[key]["value"] for metrics in languages.values()
                  if key in metrics and metrics[key]["value"] is not None]
        if len(values) == len(languages):
            means[key] = sum(values) / len(values)
    return means
