"""ROUGE-L, BLEU and CIDEr-D: hand-checked values and agreement with pycocoevalcap."""

from __future__ import annotations

import math
import random

import pytest

from engine.metrics.lexical import bleu, cider_d, lcs_length, rouge_l, rouge_l_pair

CANDIDATE = "the heart is normal".split()
REFERENCE = "the heart size is normal".split()


def test_lcs_length_known_value():
    # a b c d / a c d e: the longest common subsequence is "a c d".
    assert lcs_length("a b c d".split(), "a c d e".split()) == 3
    assert lcs_length([], ["a"]) == 0


def test_rouge_l_known_value():
    # LCS = 4 ("the heart is normal"), P = 4/4 = 1, R = 4/5 = 0.8,
    # F = (1 + 1.2^2) * 1 * 0.8 / (0.8 + 1.2^2 * 1) = 1.952 / 2.24 = 0.871428...
    assert rouge_l_pair(CANDIDATE, REFERENCE) == pytest.approx(1.952 / 2.24)


def test_bleu_known_values():
    # Unigrams 4/4 match, bigrams 2/3 ("the heart", "is normal"), trigrams 0/2, 4-grams 0/1.
    # Brevity penalty exp(1 - 5/4) = exp(-0.25) = 0.778800...
    corpus, per_sample = bleu([CANDIDATE], [REFERENCE])
    penalty = math.exp(-0.25)
    assert corpus[0] == pytest.approx(penalty, rel=1e-6)
    assert corpus[1] == pytest.approx(math.sqrt(2 / 3) * penalty, rel=1e-6)
    assert corpus[2] == pytest.approx(0.0, abs=1e-4)
    assert corpus[3] == pytest.approx(0.0, abs=1e-4)
    assert per_sample[0] == pytest.approx(corpus)


def test_cider_d_known_values():
    # Two references, every n-gram in one of them: IDF = ln 2 - ln 1 for each. A candidate equal
    # to its reference has cosine 1 for 1- and 2-grams and no 3- or 4-grams, so
    # CIDEr-D = mean(1, 1, 0, 0) * 10 = 5. The swapped candidate shares nothing and scores 0.
    corpus, per_sample = cider_d([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d"]])
    assert per_sample == pytest.approx([5.0, 5.0])
    assert corpus == pytest.approx(5.0)
    corpus, per_sample = cider_d([["c", "d"], ["a", "b"]], [["a", "b"], ["c", "d"]])
    assert per_sample == pytest.approx([0.0, 0.0])


def test_cider_d_single_pair_is_zero():
    # One reference: IDF = ln 1 - ln 1 = 0 for every n-gram.
    corpus, per_sample = cider_d([REFERENCE], [REFERENCE])
    assert corpus == 0.0
    assert per_sample == [0.0]


def test_empty_candidate_scores_zero():
    rouge, rouge_per_sample = rouge_l([[]], [REFERENCE])
    corpus, bleu_per_sample = bleu([[], CANDIDATE], [REFERENCE, REFERENCE])
    _, cider_per_sample = cider_d([[], REFERENCE], [REFERENCE, CANDIDATE])
    assert rouge == 0.0
    assert rouge_per_sample == [0.0]
    assert bleu_per_sample[0] == pytest.approx([0.0] * 4, abs=1e-9)
    assert cider_per_sample[0] == 0.0


@pytest.mark.parametrize("metric", [rouge_l, bleu, cider_d])
def test_mismatched_lengths_raise(metric):
    with pytest.raises(ValueError, match="got 2 candidates and 1 references"):
        metric([CANDIDATE, CANDIDATE], [REFERENCE])


def _random_corpus(seed: int, size: int):
    rng = random.Random(seed)
    vocabulary = "the a heart lungs clear no effusion pneumothorax normal size is are . mild left".split()
    candidates = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 25))] for _ in range(size)]
    references = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 25))] for _ in range(size)]
    return candidates, references


def test_lcs_agrees_with_pycocoevalcap():
    from_rouge = pytest.importorskip("pycocoevalcap.rouge.rouge")
    candidates, references = _random_corpus(1, 200)
    for candidate, reference in zip(candidates, references, strict=True):
        assert lcs_length(candidate, reference) == from_rouge.my_lcs(reference, candidate)


def test_scores_agree_with_pycocoevalcap():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    candidates, references = _random_corpus(0, 40)
    gts = {index: [" ".join(tokens)] for index, tokens in enumerate(references)}
    res = {index: [" ".join(tokens)] for index, tokens in enumerate(candidates)}

    expected_bleu, expected_bleu_per_sample = Bleu(4).compute_score(gts, res, verbose=0)
    ours_bleu, ours_bleu_per_sample = bleu(candidates, references)
    assert ours_bleu == pytest.approx(expected_bleu, rel=1e-12)
    assert [sample[3] for sample in ours_bleu_per_sample] == pytest.approx(expected_bleu_per_sample[3], rel=1e-12)

    expected_rouge, expected_rouge_per_sample = Rouge().compute_score(gts, res)
    ours_rouge, ours_rouge_per_sample = rouge_l(candidates, references)
    assert ours_rouge == pytest.approx(expected_rouge, rel=1e-12)
    assert ours_rouge_per_sample == pytest.approx(list(expected_rouge_per_sample), rel=1e-12)

    expected_cider, expected_cider_per_sample = Cider().compute_score(gts, res)
    ours_cider, ours_cider_per_sample = cider_d(candidates, references)
    assert ours_cider == pytest.approx(expected_cider, rel=1e-12)
    assert ours_cider_per_sample == pytest.approx(list(expected_cider_per_sample), rel=1e-12)
