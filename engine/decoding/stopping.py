"""Stopping rules shared by every decoder: end tokens, the length cap and repetition loops."""

from __future__ import annotations

from collections.abc import Sequence


def first_stop(tokens: Sequence[int], stop_ids: frozenset[int], start: int = 0) -> int | None:
    """Return the index of the first stop token at or after `start`, or None."""
    for index in range(start, len(tokens)):
        if tokens[index] in stop_ids:
            return index
    return None


def find_loop(tokens: Sequence[int], *, min_repeats: int, max_period: int, search_from: int = 0) -> int | None:
    """Find an n-gram repetition loop whose run ends at or after `search_from`.

    A loop is an n-gram of period p (1 <= p <= max_period) repeated `min_repeats` times in a
    row; a single repeated token needs one repeat more, since "..." style runs of one token
    occur in real text.

    Returns:
        The length to cut the tokens to (the end of the loop's first occurrence), or None.
    """
    length = len(tokens)
    for end in range(max(search_from, 1), length + 1):
        for period in range(1, max_period + 1):
            repeats = min_repeats + 1 if period == 1 else min_repeats
            start = end - period * repeats
            if start < 0:
                break
            unit = tokens[end - period:end]
            if all(tokens[start + k * period:start + (k + 1) * period] == unit for k in range(repeats - 1)):
                return start + period
    return None
