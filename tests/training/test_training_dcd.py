"""DCD: the stitched target of a hand-built trajectory, the loss terms and the top-k storage error."""

from __future__ import annotations

import math

import torch

from engine.layout import BatchLayout
from training.losses import dcd_terms
from training.trajectories import TrajectoryRecorder, compress

EOS, MASK = 0, 5
VOCAB = 6


def distribution(*values: float) -> torch.Tensor:
    probs = torch.tensor(values, dtype=torch.float32)
    return probs / probs.sum()


# Prompt of 3 tokens, blocks of 2: block 1 holds the prompt tail (column 2) and column 3;
# block 2 holds columns 4 and 5. Column 5 is committed first (step 1), column 4 second
# (step 2), with a different distribution than it had at step 1.
P_COLUMN_3 = distribution(1, 6, 2, 1, 0, 0)
P_COLUMN_4_STEP_1 = distribution(1, 2, 3, 4, 0, 0)
P_COLUMN_4_STEP_2 = distribution(1, 1, 1, 7, 0, 0)
P_COLUMN_5 = distribution(8, 1, 0.5, 0.5, 0, 0)


def record_hand_trajectory(top_k=None) -> TrajectoryRecorder:
    recorder = TrajectoryRecorder(BatchLayout.for_blocks([3], 2), top_k)
    recorder.on_commit([0], 0, 1, [3], torch.tensor([1]), P_COLUMN_3[None])
    recorder.on_commit([0], 1, 1, [5], torch.tensor([EOS]), P_COLUMN_5[None])
    recorder.on_commit([0], 1, 2, [4], torch.tensor([3]), P_COLUMN_4_STEP_2[None])
    return recorder


def dense(top_ids: torch.Tensor, top_probs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(top_ids.shape[0], VOCAB).scatter(1, top_ids.long(), top_probs)


def test_stitched_target_uses_commit_step_distribution():
    trajectory = record_hand_trajectory().trajectory(0, record_index=7, study_id="s", stop_reason="eos")
    assert trajectory.tokens.tolist() == [1, 3, EOS]
    assert trajectory.steps.tolist() == [1, 2, 1]
    expected = torch.stack([P_COLUMN_3, P_COLUMN_4_STEP_2, P_COLUMN_5])
    assert torch.allclose(dense(trajectory.top_ids, trajectory.top_probs), expected)
    assert not torch.allclose(dense(trajectory.top_ids, trajectory.top_probs)[1], P_COLUMN_4_STEP_1)
    assert trajectory.remainder.tolist() == [0.0, 0.0, 0.0]


def kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


def softmax_without(logits: list[float], banned: int) -> list[float]:
    exps = [0.0 if i == banned else math.exp(value) for i, value in enumerate(logits)]
    return [value / sum(exps) for value in exps]


STUDENT_LOGITS = [
    [0.1, 1.0, 0.3, -0.2, 0.0, 3.0],
    [0.0, 0.2, -0.5, 1.5, 0.3, 2.0],
    [1.2, 0.1, 0.0, -1.0, 0.2, 0.5],
]


def terms_for(trajectory, *, step_weights=True, divergence="forward", eos_weight=0.5):
    eos_mask = trajectory.tokens == EOS
    return dcd_terms(
        torch.tensor(STUDENT_LOGITS), top_ids=trajectory.top_ids.long(), top_probs=trajectory.top_probs,
        remainder=trajectory.remainder, steps=trajectory.steps, eos_mask=eos_mask, eos_id=EOS,
        banned_ids=torch.tensor([MASK]), step_weights=step_weights, divergence=divergence, eos_loss_weight=eos_weight,
    )


def total(terms) -> float:
    return sum(term.weight * float(term.numerator) / term.normaliser for term in terms.values())


def test_dcd_loss_matches_hand_computation():
    trajectory = record_hand_trajectory().trajectory(0, record_index=0, study_id="s", stop_reason="eos")
    teacher = [P_COLUMN_3.tolist(), P_COLUMN_4_STEP_2.tolist(), P_COLUMN_5.tolist()]
    student = [softmax_without(row, MASK) for row in STUDENT_LOGITS]
    divergences = [kl(p, q) for p, q in zip(teacher, student, strict=True)]

    weighted = (1 * divergences[0] + 2 * divergences[1] + 1 * divergences[2]) / (1 + 2 + 1)
    eos_term = -math.log(student[2][EOS])
    assert math.isclose(total(terms_for(trajectory)), weighted + 0.5 * eos_term, rel_tol=1e-5)

    unweighted = sum(divergences) / 3
    assert math.isclose(total(terms_for(trajectory, step_weights=False, eos_weight=0.0)), unweighted, rel_tol=1e-5)

    reverse_total = total(terms_for(trajectory, step_weights=False, divergence="reverse", eos_weight=0.0))
    # The teacher gives 0 to id 4, where the student has mass: the floor of 1e-12 bounds that bucket.
    floored = [sum(b * math.log(b / max(a, 1e-12)) for a, b in zip(p, q, strict=True) if b > 0)
               for p, q in zip(teacher, student, strict=True)]
    assert math.isclose(reverse_total, sum(floored) / 3, rel_tol=1e-5)


def test_topk_storage_error_matches_hand_computation():
    probs = distribution(5, 3, 1, 1, 0, 0)[None]
    top_ids, top_probs, remainder, error = compress(probs, top_k=2)
    assert top_ids.tolist() == [[0, 1]]
    assert math.isclose(float(remainder), 0.2, rel_tol=1e-6)
    # Remainder 0.2 spread over the 4 other ids gives 0.05 each; ids 2 and 3 hold 0.1 each.
    expected = 2 * 0.1 * math.log(0.1 / 0.05)
    assert math.isclose(float(error), expected, rel_tol=1e-5)
    _, _, full_remainder, full_error = compress(probs, top_k=None)
    assert float(full_remainder) == 0.0
    assert float(full_error) == 0.0


def test_topk_loss_is_bucketed_kl():
    trajectory = record_hand_trajectory(top_k=2).trajectory(0, record_index=0, study_id="s", stop_reason="eos")
    student = [softmax_without(row, MASK) for row in STUDENT_LOGITS]
    teacher = [P_COLUMN_3.tolist(), P_COLUMN_4_STEP_2.tolist(), P_COLUMN_5.tolist()]
    expected = []
    for p, q, ids in zip(teacher, student, trajectory.top_ids.tolist(), strict=True):
        rest_p = 1 - sum(p[i] for i in ids)
        rest_q = 1 - sum(q[i] for i in ids)
        expected.append(kl([p[i] for i in ids] + [rest_p], [q[i] for i in ids] + [rest_q]))
    value = total(terms_for(trajectory, step_weights=False, eos_weight=0.0))
    assert math.isclose(value, sum(expected) / 3, rel_tol=1e-5)
