"""Metrics for report quality, stability and speed, and the evaluation runner."""
