"""Evaluation protocols: ``standard`` (per-user NDCG@k of the scores against the labels) and
``notebook`` (the KuaiRec notebook's four numbers, for users migrating from it).

The notebook called ``ndcg_score([ground_truth_ids], [recommended_ids], k=10)``: both arguments are
the user's *item ids*, ordered by label and by score. sklearn then treats the ids as gains and
ranks by ids, so the number says how item ids happen to be ordered, not how well the scores rank
what the user watched. It is reproduced exactly, and labelled so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import kernels
from ..arrays.grouping import Groups
from ..arrays.threads import even_bounds, frozen, run_chunks, thread_count
from ..errors import InputError
from .beyond import Catalog
from .dispatch import evaluate_grouped
from .diversity import Similar
from .options import MetricOptions
from .registry import DEFAULT, MetricSpec
from .result import RankingResult

PROTOCOLS = ("standard", "notebook")

NOTEBOOK_K = 10
NOTEBOOK_MIN_ITEMS = 5
NOTEBOOK_NOTE = (
    "notebook-compatible: passes item ids to ndcg_score as gains, so it measures how item ids are "
    "ordered, not ranking quality; use the standard protocol to compare models"
)


def standard(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    pairs: Sequence[tuple[str, int | None]],
    options: MetricOptions,
    *,
    items: Catalog | None = None,
    user_weights: np.ndarray | None = None,
    similar: Similar | None = None,
    parallel: bool = True,
) -> RankingResult:
    """Per-user metrics at their cutoffs (``pairs`` of name and k), relevance = label, scored as
    ``options`` say; inputs validated and in group order. ``items`` is the catalog of the
    beyond-accuracy metrics, ``user_weights`` the weights of a weighted mean, ``similar`` the item
    vectors of the diversity metrics. ``parallel=False``:
    kernels stay on the calling thread."""
    specs = [MetricSpec(metric, k) for metric, k in pairs]
    return evaluate_grouped(
        groups,
        labels,
        scores,
        specs,
        options,
        parallel=parallel,
        items=items,
        user_weights=user_weights,
        similar=similar,
    )


def notebook(
    groups: Groups,
    items: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    rounded: bool,
    parallel: bool = True,
) -> RankingResult:
    """The notebook's per-user number for one score source, over users with at least 5 rows.

    Not rounded: ``ndcg_score([ids by label desc], [ids by score desc], k=10)``, each order as
    ``np.flip(np.argsort(x, kind="stable"))``. Rounded: both id lists sorted ascending by
    (``np.around(value)``, item id); ``np.around`` rounds half to even.
    """
    offsets = frozen(groups.offsets)
    bounds = even_bounds(groups.n_groups, 4 * thread_count(parallel))

    def order(kernel: Callable[..., None], *columns: np.ndarray) -> np.ndarray:
        out = np.empty(len(items), np.int64)
        inputs = [frozen(column) for column in columns]
        run_chunks(lambda first, stop: kernel(first, stop, offsets, *inputs, out), bounds, parallel)
        return out

    if rounded:
        by_label = order(kernels.order_asc_by_pair, np.around(labels), items)
        by_score = order(kernels.order_asc_by_pair, np.around(scores.astype(np.float64)), items)
    else:
        by_label = order(kernels.order_desc_flipped, labels)
        by_score = order(kernels.order_desc_flipped, scores)
    # Position p of a user's list: gain = id ranked p-th by label, score = id ranked p-th by score.
    gains = items[by_label].astype(np.float64)
    id_scores = items[by_score].astype(np.float64)
    spec = [MetricSpec(DEFAULT.name, NOTEBOOK_K)]  # the notebook's metric: NDCG, on item ids
    return evaluate_grouped(
        groups, gains, id_scores, spec, MetricOptions(min_items=NOTEBOOK_MIN_ITEMS), parallel=parallel
    )


def check_item_ids(items: np.ndarray, source: str, column: str) -> np.ndarray:
    """The notebook protocol needs non-negative integer item ids (they become gains)."""
    if items.dtype.kind not in "iu":
        raise InputError(
            f"{source}: the notebook protocol needs integer item ids; column {column!r} holds {items.dtype}"
        )
    if items.min() < 0:
        row = int(np.argmax(items < 0))
        where = f"column {column!r} is {items[row]} at row {row}"
        raise InputError(f"{source}: the notebook protocol needs item ids >= 0; {where}")
    return items
