"""Compiled kernels: numba code over flat arrays and CSR-style ``offsets``, no validation.

Callers validate and convert first (see :mod:`fastrank.metrics`); kernels trust their input.
Every kernel is serial; a kernel over groups or resamples takes a ``first, stop`` range, so
callers split the work into chunks and run them on threads (:mod:`fastrank.arrays.threads`).
"""

from .cascade import grouped_err
from .checks import count_outside
from .classes import grouped_class_metrics
from .diversity import (
    ILD,
    ILS,
    SERENDIPITY,
    history_sums,
    list_serendipity,
    list_serendipity_sparse,
    list_similarity,
    list_similarity_sparse,
)
from .errors import ABSOLUTE, LOG, SQUARED, grouped_errors
from .exposure import (
    ARP,
    LONG_TAIL,
    NOVELTY,
    count_items,
    gather_entries,
    grouped_exposure,
    grouped_listed,
    value_range,
)
from .grouped import grouped_metrics
from .hashing import fnv1a64_buckets, splitmix64_buckets
from .interpolated import grouped_iprec
from .joining import (
    fnv1a64,
    match_texts,
    match_truth,
    place_missed,
    place_run_rows,
    repeated_in_groups,
)
from .judged import BPREF, INFAP, NUM_REL, NUM_REL_RET, NUM_RET, grouped_judged_metrics
from .ranked import grouped_ranked_metrics
from .ranking import BINARY, EXPONENTIAL, LINEAR, RankOptions
from .resampling import bootstrap_means, sign_flip_counts
from .segments import key_changes, text_changes
from .sorting import in_rank_order, order_asc_by_pair, order_desc_flipped, repeats_per_group
from .text import TEXT_BAD_NUMBER, TEXT_OK, gather_text, trec_fields
from .topk import AVERAGE, OPTIMISTIC, PESSIMISTIC
from .trec_order import descending_keys, trec_positions, trec_positions_of_keys

__all__ = [
    "ABSOLUTE",
    "ARP",
    "AVERAGE",
    "BINARY",
    "BPREF",
    "EXPONENTIAL",
    "ILD",
    "ILS",
    "INFAP",
    "LINEAR",
    "LOG",
    "LONG_TAIL",
    "NOVELTY",
    "NUM_REL",
    "NUM_REL_RET",
    "NUM_RET",
    "OPTIMISTIC",
    "PESSIMISTIC",
    "SERENDIPITY",
    "SQUARED",
    "TEXT_BAD_NUMBER",
    "TEXT_OK",
    "RankOptions",
    "bootstrap_means",
    "count_items",
    "count_outside",
    "descending_keys",
    "fnv1a64",
    "fnv1a64_buckets",
    "gather_entries",
    "gather_text",
    "grouped_class_metrics",
    "grouped_err",
    "grouped_errors",
    "grouped_exposure",
    "grouped_iprec",
    "grouped_judged_metrics",
    "grouped_listed",
    "grouped_metrics",
    "grouped_ranked_metrics",
    "history_sums",
    "in_rank_order",
    "key_changes",
    "list_serendipity",
    "list_serendipity_sparse",
    "list_similarity",
    "list_similarity_sparse",
    "match_texts",
    "match_truth",
    "order_asc_by_pair",
    "order_desc_flipped",
    "place_missed",
    "place_run_rows",
    "repeated_in_groups",
    "repeats_per_group",
    "sign_flip_counts",
    "splitmix64_buckets",
    "text_changes",
    "trec_fields",
    "trec_positions",
    "trec_positions_of_keys",
    "value_range",
]
