"""Compiled kernels: numba code over flat arrays and CSR-style ``offsets``, no validation.

Callers validate and convert first (see :mod:`fastrank.metrics`); kernels trust their input.
"""

from .checks import value_range_parallel, value_range_serial
from .grouped import (
    DCG,
    HIT_RATE,
    MAP,
    MRR,
    NDCG,
    PRECISION,
    RECALL,
    grouped_metrics_parallel,
    grouped_metrics_serial,
)
from .segments import run_starts
from .topk import AVERAGE, OPTIMISTIC, PESSIMISTIC

__all__ = [
    "AVERAGE",
    "DCG",
    "HIT_RATE",
    "MAP",
    "MRR",
    "NDCG",
    "OPTIMISTIC",
    "PESSIMISTIC",
    "PRECISION",
    "RECALL",
    "grouped_metrics_parallel",
    "grouped_metrics_serial",
    "run_starts",
    "value_range_parallel",
    "value_range_serial",
]
