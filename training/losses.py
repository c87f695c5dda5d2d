"""Loss terms of the three stages, each returned as (numerator, normaliser).

The trainer sums numerators and normalisers over every micro-batch and process of an
optimizer step and divides once, so a term is an exact mean over the global batch however
the batch is split. The total loss is the sum of weight * numerator / normaliser per term.

- CPT: cross-entropy of the next report token; normaliser: report tokens.
- RAD: cross-entropy at masked noisy positions. masked_mean: normaliser = masked tokens.
  elbo: each token weighted 1/t (t = its block's mask ratio), normaliser = response tokens
  of the noisy copy.
- DCD: the divergence between the teacher's recorded distribution and the student's, per
  position, weighted by the 1-based commit step (or 1 with step weights off). Its
  normaliser is the sum of the weights. A second term, with its own weight, is the
  end-token cross-entropy at pseudo-label end-token positions, divided by their count.

Shapes: N loss positions, V vocabulary, K stored top-k entries per position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossTerm:
    """One term of a stage's loss for one micro-batch."""

    numerator: torch.Tensor
    """Scalar sum over the micro-batch's positions (differentiable)."""
    normaliser: float
    """Divisor of the numerator (summed over the global batch by the trainer)."""
    weight: float = 1.0


def cross_entropy_sum(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Return the (optionally weighted) sum of token cross-entropies of logits (N, V) and labels (N,)."""
    losses = F.cross_entropy(logits, labels, reduction="none")  # (N,)
    if weights is not None:
        losses = losses * weights
    return losses.sum()


def banned_log_softmax(logits: torch.Tensor, banned_ids: torch.Tensor) -> torch.Tensor:
    """Return log-probabilities (N, V) with the ids the decoders never emit set to -inf, as the decoders do."""
    return torch.log_softmax(logits.float().index_fill(-1, banned_ids, float("-inf")), dim=-1)


def bucket_log_probs(log_probs: torch.Tensor, top_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the student's log-probabilities at the stored top-k ids (N, K) and of all other ids (N,)."""
    top = log_probs.gather(-1, top_ids)  # (N, K)
    rest = log_probs.scatter(-1, top_ids, float("-inf")).logsumexp(dim=-1)  # (N,)
    return top, rest


def _xlogy_ratio(p: torch.Tensor, log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Return p * (log p - log q) with 0 where p == 0 (including p = 0, log q = -inf)."""
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))


def forward_kl(top_probs: torch.Tensor, remainder: torch.Tensor, student_top: torch.Tensor,
               student_rest: torch.Tensor) -> torch.Tensor:
    """Return KL(teacher || student) per position (N,) over the K stored ids plus one remainder bucket.

    With the full distribution stored (K = V, remainder 0) this is the exact KL; with top-k it
    is the KL between the two distributions coarsened to K + 1 buckets, a lower bound of the
    exact KL.
    """
    log_top = torch.log(top_probs.clamp_min(1e-30))
    log_rest = torch.log(remainder.clamp_min(1e-30))
    per_top = _xlogy_ratio(top_probs, log_top, student_top).sum(dim=-1)  # (N,)
    return per_top + _xlogy_ratio(remainder, log_rest, student_rest)


def reverse_kl(top_probs: torch.Tensor, remainder: torch.Tensor, student_top: torch.Tensor,
               student_rest: torch.Tensor, floor: float = 1e-12) -> torch.Tensor:
    """Return KL(student || teacher) per position (N,) over the same K + 1 buckets.

    Teacher probabilities are floored at `floor`, so a bucket the teacher gave (numerically)
    zero costs a large finite amount instead of infinity.
    """
    log_teacher_top = torch.log(top_probs.clamp_min(floor))
    log_teacher_rest = torch.log(remainder.clamp_min(floor))
    student_top_p, student_rest_p = student_top.exp(), student_rest.exp()
    per_top = _xlogy_ratio(student_top_p, student_top, log_teacher_top).sum(dim=-1)
    return per_top + _xlogy_ratio(student_rest_p, student_rest, log_teacher_rest)


def dcd_terms(logits: torch.Tensor, *, top_ids: torch.Tensor, top_probs: torch.Tensor,
              remainder: torch.Tensor, steps: torch.Tensor, eos_mask: torch.Tensor, eos_id: int,
              banned_ids: torch.Tensor, step_weights: bool, divergence: str,
              eos_loss_weight: float) -> dict[str, LossTerm]:
    """Return the DCD loss terms of one micro-batch.

    Args:
        logits: (N, V) student logits at the noisy (fully masked) response positions.
        top_ids, top_probs: (N, K) the recorded distributions' stored ids and probabilities.
        remainder: (N,) probability mass outside the stored ids.
        steps: (N,) 1-based commit step of each position within its block.
        eos_mask: (N,) True at the end-token positions that the end-token term covers.
        divergence: "forward", "reverse" or "both".
    """
    log_probs = banned_log_softmax(logits, banned_ids)  # (N, V)
    student_top, student_rest = bucket_log_probs(log_probs, top_ids)
    per_position = torch.zeros(logits.shape[0], device=logits.device)
    if divergence in ("forward", "both"):
        per_position = per_position + forward_kl(top_probs, remainder, student_top, student_rest)
    if divergence in ("reverse", "both"):
        per_position = per_position + reverse_kl(top_probs, remainder, student_top, student_rest)
    weights = steps.float() if step_weights else torch.ones_like(per_position)
    terms = {"kl": LossTerm((weights * per_position).sum(), float(weights.sum()))}
    if eos_loss_weight > 0:
        eos_nll = -log_probs[eos_mask, eos_id]  # (number of end-token positions,)
        terms["eos"] = LossTerm(eos_nll.sum(), float(eos_mask.sum()), eos_loss_weight)
    return terms
