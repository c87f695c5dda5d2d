"""ROUGE-L, BLEU-1 to BLEU-4 and CIDEr-D on tokenised text, one reference per sample.

The formulas follow the pure-Python scorers of pycocoevalcap 1.2 (the MS-COCO caption
evaluation code that R2Gen and most report-generation papers use), so the numbers agree with
its `Rouge`, `Bleu` and `Cider` classes when both get the same tokens:

- ROUGE-L: the F-measure of the longest common subsequence with beta = 1.2, per sample, then
  averaged over samples.
- BLEU: corpus-level. Clipped n-gram matches and candidate n-gram counts are summed over the
  corpus, the brevity penalty uses the summed candidate and reference lengths, and BLEU-n is
  the geometric mean of the first n precisions.
- CIDEr-D: TF-IDF n-gram vectors (n = 1..4) with document frequencies taken from the
  references of the scored corpus, clipped cosine similarity, a Gaussian length penalty with
  sigma = 6, averaged over n and multiplied by 10. It is only meaningful over a corpus: with a
  single pair every IDF weight is log(1) - log(1) = 0, so the score is 0.

Inputs are lists of tokens. An empty candidate scores 0 on every metric.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

Tokens = Sequence[str]

ROUGE_BETA = 1.2
BLEU_MAX_N = 4
CIDER_MAX_N = 4
CIDER_SIGMA = 6.0

# pycocoevalcap adds these to numerator and denominator so that a zero count gives a score
# of (almost) 0 instead of a division error; keeping them keeps the results identical.
_BLEU_TINY = 1e-15
_BLEU_SMALL = 1e-9


def _check_pairs(candidates: Sequence[Tokens], references: Sequence[Tokens]) -> None:
    if len(candidates) != len(references):
        raise ValueError(
            f"got {len(candidates)} candidates and {len(references)} references; "
            "pass exactly one candidate per reference, in the same order"
        )


def token_masks(tokens: Tokens) -> dict[str, int]:
    """Return, for each token, a bit mask of the positions where it occurs."""
    masks: dict[str, int] = {}
    for position, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def lcs_length_with_masks(first: Tokens, masks: dict[str, int], length: int) -> int:
    """Return the LCS length of `first` and a sequence of `length` tokens given by its `token_masks`.

    Bit-parallel algorithm (Hyyro 2004): bit j of `row` is cleared once a common subsequence
    ends at position j of the second sequence, so each token of `first` costs a few big-integer
    operations instead of a pass over the second sequence.
    """
    full = (1 << length) - 1
    row = full
    for token in first:
        matches = row & masks.get(token, 0)
        row = ((row + matches) | (row - matches)) & full
    return length - row.bit_count()


def lcs_length(first: Tokens, second: Tokens) -> int:
    """Return the length of the longest common subsequence of two token sequences."""
    if not first or not second:
        return 0
    return lcs_length_with_masks(first, token_masks(second), len(second))


def rouge_l_from_lcs(common: int, candidate_length: int, reference_length: int, beta: float = ROUGE_BETA) -> float:
    """Return ROUGE-L F from the LCS length and the two lengths (0 when any of them is 0)."""
    if common == 0 or candidate_length == 0 or reference_length == 0:
        return 0.0
    precision = common / candidate_length
    recall = common / reference_length
    return (1 + beta**2) * precision * recall / (recall + beta**2 * precision)


def rouge_l_pair(candidate: Tokens, reference: Tokens, beta: float = ROUGE_BETA) -> float:
    """Return ROUGE-L F for one candidate against one reference (0 when either is empty)."""
    return rouge_l_from_lcs(lcs_length(candidate, reference), len(candidate), len(reference), beta)


def rouge_l(candidates: Sequence[Tokens], references: Sequence[Tokens],
            beta: float = ROUGE_BETA) -> tuple[float, list[float]]:
    """Return (mean ROUGE-L F, per-sample ROUGE-L F)."""
    _check_pairs(candidates, references)
    scores = [rouge_l_pair(candidate, reference, beta) for candidate, reference in zip(candidates, references, strict=True)]
    return (sum(scores) / len(scores) if scores else 0.0), scores


def _ngrams(tokens: Tokens, max_n: int) -> Counter:
    counts: Counter = Counter()
    for n in range(1, max_n + 1):
        for start in range(len(tokens) - n + 1):
            counts[tuple(tokens[start:start + n])] += 1
    return counts


def _bleu_from_counts(correct: list[float], guessed: list[float], candidate_length: float,
                      reference_length: float) -> list[float]:
    scores = []
    product = 1.0
    for n in range(len(correct)):
        product *= (correct[n] + _BLEU_TINY) / (guessed[n] + _BLEU_SMALL)
        scores.append(product ** (1.0 / (n + 1)))
    ratio = (candidate_length + _BLEU_TINY) / (reference_length + _BLEU_SMALL)
    if ratio < 1:
        penalty = math.exp(1 - 1 / ratio)
        scores = [score * penalty for score in scores]
    return scores


def bleu(candidates: Sequence[Tokens], references: Sequence[Tokens],
         max_n: int = BLEU_MAX_N) -> tuple[list[float], list[list[float]]]:
    """Return (corpus BLEU-1..BLEU-max_n, per-sample BLEU-1..BLEU-max_n)."""
    _check_pairs(candidates, references)
    total_correct = [0.0] * max_n
    total_guessed = [0.0] * max_n
    total_candidate = 0
    total_reference = 0
    per_sample = []
    for candidate, reference in zip(candidates, references, strict=True):
        reference_counts = _ngrams(reference, max_n)
        correct = [0.0] * max_n
        for ngram, count in _ngrams(candidate, max_n).items():
            correct[len(ngram) - 1] += min(count, reference_counts.get(ngram, 0))
        guessed = [float(max(0, len(candidate) - n)) for n in range(max_n)]
        per_sample.append(_bleu_from_counts(correct, guessed, len(candidate), len(reference)))
        for n in range(max_n):
            total_correct[n] += correct[n]
            total_guessed[n] += guessed[n]
        total_candidate += len(candidate)
        total_reference += len(reference)
    corpus = _bleu_from_counts(total_correct, total_guessed, total_candidate, total_reference)
    return corpus, per_sample


def _tfidf(counts: Counter, document_frequency: Counter, log_corpus_size: float, max_n: int):
    vectors: list[dict[tuple[str, ...], float]] = [{} for _ in range(max_n)]
    norms = [0.0] * max_n
    length = 0
    for ngram, term_frequency in counts.items():
        n = len(ngram) - 1
        weight = term_frequency * (log_corpus_size - math.log(max(1.0, document_frequency[ngram])))
        vectors[n][ngram] = weight
        norms[n] += weight**2
        # pycocoevalcap 1.2 tests its 0-based n-gram index against 1 here, so its "length" is
        # the number of bigrams, not of words. Kept as is so the length penalty agrees.
        if n == 1:
            length += term_frequency
    return vectors, [math.sqrt(norm) for norm in norms], length


def cider_d(candidates: Sequence[Tokens], references: Sequence[Tokens], max_n: int = CIDER_MAX_N,
            sigma: float = CIDER_SIGMA) -> tuple[float, list[float]]:
    """Return (corpus CIDEr-D, per-sample CIDEr-D); document frequencies come from `references`."""
    _check_pairs(candidates, references)
    if not candidates:
        return 0.0, []
    reference_counts = [_ngrams(reference, max_n) for reference in references]
    document_frequency: Counter = Counter()
    for counts in reference_counts:
        document_frequency.update(counts.keys())
    log_corpus_size = math.log(float(len(references)))

    scores = []
    for candidate, counts_reference in zip(candidates, reference_counts, strict=True):
        vector, norm, length = _tfidf(_ngrams(candidate, max_n), document_frequency, log_corpus_size, max_n)
        vector_ref, norm_ref, length_ref = _tfidf(counts_reference, document_frequency, log_corpus_size, max_n)
        penalty = math.exp(-((length - length_ref) ** 2) / (2 * sigma**2))
        similarity = 0.0
        for n in range(max_n):
            value = sum(min(weight, vector_ref[n].get(ngram, 0.0)) * vector_ref[n].get(ngram, 0.0)
                        for ngram, weight in vector[n].items())
            if norm[n] != 0 and norm_ref[n] != 0:
                value /= norm[n] * norm_ref[n]
            similarity += value * penalty
        scores.append(similarity / max_n * 10.0)
    return sum(scores) / len(scores), scores
