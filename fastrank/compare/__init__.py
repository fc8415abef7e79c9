"""Confidence for an evaluation: :func:`compare` (user-level bootstrap intervals and paired
tests), the statistics it runs (:mod:`fastrank.compare.stats`) and its plots
(:mod:`fastrank.compare.plots`)."""

from .confidence import Comparison, compare, compare_runs

__all__ = ["Comparison", "compare", "compare_runs"]
