"""Errors raised by the metrics layer."""

from __future__ import annotations


class EvaluationInputError(ValueError):
    """Invalid evaluation input: a missing reference, mismatched lists or a malformed record.

    The message names the offending value and how to fix it.
    """


class MetricUnavailableError(RuntimeError):
    """A metric cannot run here: its package is missing or broken, or its model folder is absent."""
