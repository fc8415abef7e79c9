"""Compiled kernels: numba code over flat arrays and CSR-style ``offsets``, no validation.

Callers validate and convert first (see :mod:`fastrank.metrics`); kernels trust their input.
"""

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
from .segments import run_starts
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
    "run_starts",
]
