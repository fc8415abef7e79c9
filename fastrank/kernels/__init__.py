"""Compiled kernels: numba code over flat arrays and CSR-style ``offsets``, no validation.

Callers validate and convert first (see :mod:`fastrank.metrics`); kernels trust their input.
"""

from .checks import count_outside_parallel, count_outside_serial
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
from .hashing import fnv1a64_buckets, splitmix64_buckets
from .resampling import (
    bootstrap_means_parallel,
    bootstrap_means_serial,
    sign_flip_counts_parallel,
    sign_flip_counts_serial,
)
from .segments import run_starts_parallel, run_starts_serial
from .sorting import (
    order_asc_by_pair_parallel,
    order_asc_by_pair_serial,
    order_desc_flipped_parallel,
    order_desc_flipped_serial,
    repeats_per_group_parallel,
    repeats_per_group_serial,
)
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
    "bootstrap_means_parallel",
    "bootstrap_means_serial",
    "count_outside_parallel",
    "count_outside_serial",
    "fnv1a64_buckets",
    "grouped_metrics_parallel",
    "grouped_metrics_serial",
    "order_asc_by_pair_parallel",
    "order_asc_by_pair_serial",
    "order_desc_flipped_parallel",
    "order_desc_flipped_serial",
    "repeats_per_group_parallel",
    "repeats_per_group_serial",
    "run_starts_parallel",
    "run_starts_serial",
    "sign_flip_counts_parallel",
    "sign_flip_counts_serial",
    "splitmix64_buckets",
]
