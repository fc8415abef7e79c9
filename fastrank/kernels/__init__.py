"""Compiled kernels: numba code over flat arrays and CSR-style ``offsets``, no validation.

Callers validate and convert first (see :mod:`fastrank.metrics`); kernels trust their input.
"""

from .checks import count_outside_parallel, count_outside_serial
from .grouped import (
    DCG,
    DRIVERS,
    HIT_RATE,
    MAP,
    MRR,
    NDCG,
    PRECISION,
    RECALL,
)
from .segments import run_starts_parallel, run_starts_serial
from .topk import AVERAGE, OPTIMISTIC, PESSIMISTIC

__all__ = [
    "AVERAGE",
    "DCG",
    "DRIVERS",
    "HIT_RATE",
    "MAP",
    "MRR",
    "NDCG",
    "OPTIMISTIC",
    "PESSIMISTIC",
    "PRECISION",
    "RECALL",
    "count_outside_parallel",
    "count_outside_serial",
    "run_starts_parallel",
    "run_starts_serial",
]
