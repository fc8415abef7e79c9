"""Validated entry points over the grouped kernels: per-user ranking metrics and their means."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import kernels
from ._arrays import to_numpy
from .checks import check_int, check_number
from .errors import InputError
from .grouping import Groups, group_rows
from .specs import METRIC_CODES, TIE_CODES, Gain, MetricSpec, NoRelevant, Ties, parse_metric
from .threads import even_bounds, frozen, run_chunks, thread_count

# 2**1024 overflows float64.
_MAX_EXPONENTIAL_LABEL = 1023.0


def _check_k(k: Any) -> int | None:
    return None if k is None else check_int(k, "k")


def _check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise InputError(
            f"The '{name}' parameter must be one of {', '.join(map(repr, choices))}. Got {value!r} instead."
        )
    return value


@dataclass(frozen=True)
class RankingResult:
    """Per-user ranking metrics and their accounting.

    Attributes
    ----------
    users : ndarray
        User key of each row of ``values``.
    metrics : tuple of str
        Column names of ``values``, e.g. ``("ndcg@10", "mrr")``.
    values : ndarray of float64, shape (n_users, n_metrics)
        Metric of each user; NaN where the user was skipped for that metric.
    n_items : ndarray of int64
        Rows (ranked items) per user.
    cutoffs : tuple of int or None
        The distinct cutoffs of ``metrics`` (None: whole list).
    tied_at_cutoff : ndarray of int64, shape (n_users, n_cutoffs)
        Size of the score tie that the cutoff splits (items on both sides of rank k), else 0.
    min_items : int
        Users with fewer rows were skipped for every metric.
    """

    users: np.ndarray
    metrics: tuple[str, ...]
    values: np.ndarray
    n_items: np.ndarray
    cutoffs: tuple[int | None, ...]
    tied_at_cutoff: np.ndarray
    min_items: int

    def __getitem__(self, metric: str) -> np.ndarray:
        """Per-user values of one metric (NaN where skipped)."""
        return self.values[:, self.metrics.index(str(parse_metric(metric)))]

    @property
    def mean(self) -> dict[str, float]:
        """Mean of each metric over the users evaluated for it (NaN when none was)."""
        return {name: _nanmean(self.values[:, j]) for j, name in enumerate(self.metrics)}

    @property
    def evaluated(self) -> dict[str, int]:
        """Users evaluated for each metric."""
        return {
            name: int(np.count_nonzero(~np.isnan(self.values[:, j]))) for j, name in enumerate(self.metrics)
        }

    @property
    def skipped_min_items(self) -> int:
        """Users skipped for every metric because they have fewer than ``min_items`` rows."""
        return int(np.count_nonzero(self.n_items < self.min_items))

    @property
    def skipped_no_relevant(self) -> dict[str, int]:
        """Users skipped for each metric for having no relevant item (``no_relevant="skip"``)."""
        kept = len(self.users) - self.skipped_min_items
        return {name: kept - count for name, count in self.evaluated.items()}

    def summary(self) -> Any:
        """One row per metric: mean, users evaluated and skipped by reason (a pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "mean": self.mean,
                "users": self.evaluated,
                "skipped_min_items": dict.fromkeys(self.metrics, self.skipped_min_items),
                "skipped_no_relevant": self.skipped_no_relevant,
            }
        ).rename_axis("metric")

    def to_frame(self) -> Any:
        """Per-user values, ``n_items`` and ``tied@k`` columns, indexed by user (a pandas DataFrame)."""
        import pandas as pd

        frame = pd.DataFrame(self.values, columns=list(self.metrics), index=pd.Index(self.users, name="user"))
        frame["n_items"] = self.n_items
        for q, k in enumerate(self.cutoffs):
            frame["tied@" + ("all" if k is None else str(k))] = self.tied_at_cutoff[:, q]
        return frame


def _nanmean(column: np.ndarray) -> float:
    kept = column[~np.isnan(column)]
    return float(kept.mean()) if kept.size else float("nan")


def _user_of_row(groups: Groups, row: int) -> Any:
    position = row if groups.order is None else int(np.flatnonzero(groups.order == row)[0])
    key = groups.keys[int(np.searchsorted(groups.offsets, position, side="right")) - 1]
    return key.item() if isinstance(key, np.generic) else key


def check_values(
    values: Any,
    name: str,
    groups: Groups,
    *,
    float32_ok: bool,
    max_value: float | None = None,
    parallel: bool = True,
) -> np.ndarray:
    """Numeric, finite column of the right length as float64 (or float32 if ``float32_ok``).

    With ``max_value`` the column holds labels, which must also lie in ``[0, max_value]``.
    """
    array = to_numpy(values, name)
    if array.shape[0] != groups.n_rows:
        raise InputError(f"{name}: {array.shape[0]} rows, but users has {groups.n_rows}; lengths must match")
    if array.dtype.kind not in "fiub":
        raise InputError(f"{name}: expected numbers, got dtype {array.dtype}")
    dtype = np.float32 if float32_ok and array.dtype in (np.float16, np.float32) else np.float64
    array = np.ascontiguousarray(array, dtype=dtype)
    biggest = float(np.finfo(dtype).max)
    lo, hi = (-biggest, biggest) if max_value is None else (0.0, min(max_value, biggest))
    view = frozen(array)
    outside = run_chunks(
        lambda first, stop: kernels.count_outside(view[first:stop], lo, hi),
        even_bounds(len(view), thread_count(parallel)),
        parallel,
    )
    if sum(outside) == 0:
        return array
    # Slow path, only on bad input: find the first offending row for the message.
    row = int(np.argmax(~((array >= lo) & (array <= hi))))
    value = array[row]
    if not np.isfinite(value):
        what, problem = ("NaN" if np.isnan(value) else str(value)), "values must be finite"
    elif value < 0:
        what, problem = f"negative value {value}", "labels must be >= 0, as in sklearn.metrics.ndcg_score"
    else:
        what = str(value)
        problem = f"it overflows the exponential gain 2**label - 1; labels must be <= {max_value:g}"
    raise InputError(f"{name}: {what} at row {row} (user {_user_of_row(groups, row)!r}); {problem}")


def ranking_metrics(
    users: Any,
    labels: Any,
    scores: Any,
    metrics: str | Sequence[str | MetricSpec] = ("ndcg@10",),
    *,
    gain: Gain = "linear",
    ties: Ties = "average",
    threshold: float = 1.0,
    min_items: int = 2,
    no_relevant: NoRelevant = "zero",
    parallel: bool = True,
) -> RankingResult:
    """Per-user ranking metrics of ``scores`` against ``labels``, all users in one compiled pass.

    Parameters
    ----------
    users : array-like or Groups, shape (n_rows,)
        User id of each row (numpy, pandas, pyarrow or a sequence), or the :class:`Groups` of an
        earlier :func:`~fastrank.group_rows` call, to group once and evaluate many times. Rows need
        not be sorted.
    labels : array-like, shape (n_rows,)
        Relevance of each row: finite and >= 0, real values allowed (e.g. watch ratio).
    scores : array-like, shape (n_rows,)
        Predicted score of each row; higher ranks first. float32 is used as is.
    metrics : str or sequence of str
        Names with an optional cutoff: ``ndcg@10``, ``dcg@5``, ``precision@k``, ``recall@k``,
        ``hit_rate@k``, ``mrr`` / ``mrr@k``, ``map@k``; no cutoff means the whole list.
    gain : {"linear", "exponential"}
        DCG gain of a label: the label (as scikit-learn) or ``2**label - 1``.
    ties : {"average", "pessimistic", "optimistic"}
        Tied scores: every metric is averaged over all orders of the tie (scikit-learn's
        ``ignore_ties=False`` for DCG/NDCG; exact closed forms for the binary metrics), or the tie
        is ordered worst-first (labels ascending) or best-first (labels descending).
    threshold : float
        A row is relevant for the binary metrics (precision, recall, hit rate, MRR, MAP) when
        ``label >= threshold``.
    min_items : int
        Users with fewer rows are skipped (NaN) for every metric. Default 2: one item has no ranking.
    no_relevant : {"zero", "skip"}
        Users with nothing to find, i.e. an ideal DCG of 0 (NDCG) or no relevant row (binary
        metrics), score 0 (as scikit-learn) or are skipped (NaN). DCG is never skipped.
    parallel : bool
        Run groups on numba's thread pool; pass False inside a caller's own thread pool.

    Returns
    -------
    RankingResult
        Per-user values, means, counts of users evaluated and skipped, and for each cutoff the
        size of the score tie it splits.

    Notes
    -----
    NDCG@k = DCG@k / ideal DCG@k with discount ``1 / log2(rank + 1)``; the ideal ranks labels
    descending. precision@k divides the expected relevant count in the top k by k (also when a
    user has fewer than k rows, as trec_eval); recall@k divides it by the user's relevant count;
    hit_rate@k is the probability of a relevant row in the top k; mrr is the expected reciprocal
    rank of the first relevant row (0 past the cutoff); map@k is average precision divided by
    ``min(k, relevant count)``. Cost per user: O(n + k log k) for rows in no particular order.

    Examples
    --------
    >>> import fastrank
    >>> r = fastrank.ranking_metrics(
    ...     users=[1, 1, 1, 2, 2],
    ...     labels=[3, 0, 1, 1, 0],
    ...     scores=[0.9, 0.5, 0.5, 0.1, 0.2],  # user 1: a tie straddles rank 2
    ...     metrics=["ndcg@2", "mrr"],
    ... )
    >>> r["ndcg@2"]  # the tie's two labels (0 and 1) share rank 2's discount
    array([0.9131..., 0.6309...])
    >>> r.mean
    {'ndcg@2': 0.7720..., 'mrr': 0.75}
    """
    if not isinstance(metrics, (str, MetricSpec, Sequence)):
        raise InputError(
            f"The 'metrics' parameter must be a name or a list of names. Got {metrics!r} instead."
        )
    specs = _dedupe(
        [parse_metric(m) for m in ([metrics] if isinstance(metrics, (str, MetricSpec)) else metrics)]
    )
    if not specs:
        raise InputError("metrics: name at least one metric, e.g. 'ndcg@10'")
    _check_choice(gain, "gain", ("linear", "exponential"))
    _check_choice(ties, "ties", TIE_CODES)
    _check_choice(no_relevant, "no_relevant", ("zero", "skip"))
    min_items = check_int(min_items, "min_items")
    threshold = check_number(threshold, "threshold")

    groups = users if isinstance(users, Groups) else group_rows(users, parallel=parallel)
    max_label = _MAX_EXPONENTIAL_LABEL if gain == "exponential" else np.inf
    label_array = check_values(
        labels, "labels", groups, float32_ok=False, max_value=max_label, parallel=parallel
    )
    score_array = check_values(scores, "scores", groups, float32_ok=True, parallel=parallel)
    return evaluate_grouped(
        groups,
        groups.take(label_array),
        groups.take(score_array),
        specs,
        gain=gain,
        ties=ties,
        threshold=float(threshold),
        min_items=int(min_items),
        no_relevant=no_relevant,
        parallel=parallel,
    )


def _dedupe(specs: list[MetricSpec]) -> list[MetricSpec]:
    return list(dict.fromkeys(specs))


def _chunks(offsets: np.ndarray, n_chunks: int) -> np.ndarray:
    # Whole groups per chunk, with about the same number of rows in each.
    targets = np.linspace(0, offsets[-1], n_chunks + 1)
    bounds = np.searchsorted(offsets, targets, side="left")
    bounds[0], bounds[-1] = 0, offsets.shape[0] - 1
    return np.unique(bounds).astype(np.int64)


def evaluate_grouped(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    specs: list[MetricSpec],
    *,
    gain: str,
    ties: str,
    threshold: float,
    min_items: int,
    no_relevant: str,
    parallel: bool,
    ranked: np.ndarray | None = None,
    map_denominator: str = "min",
) -> RankingResult:
    """Run the kernel on validated arrays already in group order.

    ``ranked`` (int64, one per group): only the first ``ranked[g]`` rows of group g are ranked;
    its other rows are relevant items a top-N run missed, counted in the ideal DCG and the
    relevant count only. ``map_denominator``: ``"min"`` divides AP@k by ``min(k, relevant)``,
    ``"relevant"`` by the relevant count (trec_eval, ranx).
    """
    offsets = groups.offsets
    cutoffs = tuple(dict.fromkeys(spec.k for spec in specs))
    metric_ids = np.array([METRIC_CODES[spec.name] for spec in specs], np.int64)
    metric_ks = np.array([spec.k or 0 for spec in specs], np.int64)
    straddle_ks = np.array([k or 0 for k in cutoffs], np.int64)

    max_n = int(groups.sizes.max())
    full = any(spec.k is None and spec.name != "mrr" for spec in specs)
    deepest = max_n if full else min(max(spec.k or 1 for spec in specs), max_n)
    # scikit-learn's discount, computed the same way, so tie-averaged sums match it to the last bits.
    discount = 1.0 / (np.log(np.arange(deepest) + 2) / np.log(2))
    discount_cumsum = np.concatenate(([0.0], np.cumsum(discount)))

    # How deep each group is ranked: MRR finds its first relevant row without a ranking, so a
    # cutoff-free MRR does not make the ranking whole.
    kmax = max([1, *(spec.k or 0 for spec in specs), *(k or 0 for k in cutoffs)])
    need_ideal = any(spec.name == "ndcg" for spec in specs)
    need_relevant = any(METRIC_CODES[spec.name] >= kernels.PRECISION for spec in specs)

    out = np.empty((groups.n_groups, len(specs)), np.float64)
    straddle = np.empty((groups.n_groups, len(cutoffs)), np.int64)
    inputs = [frozen(a) for a in (offsets, labels, scores, metric_ids, metric_ks, straddle_ks)]
    options = [
        full, kmax, gain == "exponential", TIE_CODES[ties], threshold, min_items, no_relevant == "skip",
        need_ideal, need_relevant, frozen(discount), frozen(discount_cumsum), deepest, max_n,
    ]  # fmt: skip
    kernel = kernels.grouped_metrics
    if ranked is not None:  # a run: its own kernel, so tables never compile the run's paths
        kernel = kernels.grouped_ranked_metrics
        inputs.insert(1, frozen(np.ascontiguousarray(ranked, np.int64)))
        options.insert(7, map_denominator == "relevant")

    def chunk(first: int, stop: int) -> None:
        kernel(first, stop, *inputs, *options, out, straddle)

    run_chunks(chunk, _chunks(offsets, min(groups.n_groups, 4 * thread_count(parallel))), parallel)
    return RankingResult(
        users=groups.keys,
        metrics=tuple(str(spec) for spec in specs),
        values=out,
        n_items=groups.sizes,
        cutoffs=cutoffs,
        tied_at_cutoff=straddle,
        min_items=min_items,
    )


def ndcg(
    users: Any,
    labels: Any,
    scores: Any,
    k: int | Sequence[int] | None = 10,
    *,
    gain: Gain = "linear",
    ties: Ties = "average",
    min_items: int = 2,
    no_relevant: NoRelevant = "zero",
    parallel: bool = True,
) -> RankingResult:
    """Per-user NDCG@k, with scikit-learn's semantics by default; see :func:`ranking_metrics`.

    ``k`` may be one cutoff, several (computed in one pass, e.g. ``(5, 10, 20)``), or None for the
    whole list. ``result.mean["ndcg@10"]`` is the mean over evaluated users; ``result["ndcg@10"]``
    the per-user values. Per user it equals ``sklearn.metrics.ndcg_score([labels], [scores], k=k)``.

    Examples
    --------
    >>> import fastrank
    >>> fastrank.ndcg([7, 7, 7], [1.0, 0.0, 2.0], [0.2, 0.2, 0.1], k=2).mean
    {'ndcg@2': 0.3099...}
    """
    ks = list(k) if isinstance(k, (list, tuple, np.ndarray)) else [k]
    if not ks:
        raise InputError("The 'k' parameter must name at least one cutoff. Got an empty list instead.")
    specs = [MetricSpec("ndcg", _check_k(one)) for one in ks]
    return ranking_metrics(
        users,
        labels,
        scores,
        specs,
        gain=gain,
        ties=ties,
        min_items=min_items,
        no_relevant=no_relevant,
        parallel=parallel,
    )
