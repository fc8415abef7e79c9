"""What :func:`fastrank.ranking_metrics` returns: :class:`RankingResult`, per-user values with
their means and accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .registry import REGISTRY, parse_metric


@dataclass(frozen=True)
class RankingResult:
    """Per-user ranking metrics and their accounting.

    Attributes
    ----------
    users : ndarray
        User key of each row of ``values``.
    metrics : tuple of str
        Column names of ``values``: metric specs, ``name@k`` or ``name``.
    values : ndarray of float64, shape (n_users, n_metrics)
        Metric of each user; NaN where the user was skipped for that metric. A weighted mean's
        column holds each user's value of the metric it weights, a loss over rows' column each
        user's mean loss; the catalog-wide metrics have no per-user value (NaN).
    n_items : ndarray of int64
        Rows (ranked items) per user.
    cutoffs : tuple of int or None
        The distinct cutoffs of ``metrics`` (None: whole list).
    tied_at_cutoff : ndarray of int64, shape (n_users, n_cutoffs)
        Size of the score tie that the cutoff splits (items on both sides of rank k), else 0.
    min_items : int
        Users with fewer rows were skipped for every metric.
    weights : dict of str to ndarray
        Per-user weights of the metrics whose mean is weighted.
    overall : dict of str to float
        Values over all users' lists at once (the catalog-wide metrics).
    """

    users: np.ndarray
    metrics: tuple[str, ...]
    values: np.ndarray
    n_items: np.ndarray
    cutoffs: tuple[int | None, ...]
    tied_at_cutoff: np.ndarray
    min_items: int
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> np.ndarray:
        """Per-user values of one metric (NaN where skipped)."""
        spec = parse_metric(metric)
        name = str(spec)
        if name in self.overall:
            raise KeyError(f"{name} describes all users' lists at once and has no per-user value; see .mean")
        if spec.metric.by_rows:
            raise KeyError(f"{name} is over every row at once and has no per-user value; see .mean")
        return self.values[:, self.metrics.index(name)]

    @property
    def mean(self) -> dict[str, float]:
        """Mean of each metric over the users evaluated for it (NaN when none was): weighted for a
        weighted mean, the value over all lists for a catalog-wide metric."""
        out = {}
        for j, name in enumerate(self.metrics):
            if name in self.overall:
                out[name] = self.overall[name]
            else:
                out[name] = weighted_mean(self.values[:, j], self.weights.get(name), name)
        return out

    @property
    def evaluated(self) -> dict[str, int]:
        """Users evaluated for each metric (for a catalog-wide metric: users whose list counted)."""
        listed = int(np.count_nonzero(self.n_items >= self.min_items))
        return {
            name: listed if name in self.overall else int(np.count_nonzero(~np.isnan(self.values[:, j])))
            for j, name in enumerate(self.metrics)
        }

    @property
    def skipped_min_items(self) -> int:
        """Users skipped for every metric because they have fewer than ``min_items`` rows."""
        return int(np.count_nonzero(self.n_items < self.min_items))

    @property
    def skipped_no_relevant(self) -> dict[str, int]:
        """Users skipped for each metric for having no relevant item (``no_relevant="skip"``);
        for AUC and its weighted mean, users with a single class (all rows relevant, or none)."""
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
        """Per-user values, ``n_items`` and ``tied@k`` columns, indexed by user (a pandas DataFrame);
        metrics without per-user values (the catalog-wide metrics, the losses over rows) are left out."""
        import pandas as pd

        frame = pd.DataFrame(self.values, columns=list(self.metrics), index=pd.Index(self.users, name="user"))
        frame = frame.drop(
            columns=[*self.overall, *(m for m in self.metrics if parse_metric(m).metric.by_rows)]
        )
        frame["n_items"] = self.n_items
        for q, k in enumerate(self.cutoffs):
            frame["tied@" + ("all" if k is None else str(k))] = self.tied_at_cutoff[:, q]
        return frame


def weighted_mean(values: np.ndarray, weights: np.ndarray | None = None, name: str = "mean") -> float:
    """Mean of the non-NaN ``values``, weighted by ``weights`` when given; NaN when none is left.

    A metric named ``name`` with a summary of its own in the registry takes it instead; one with
    a ``finish`` (RMSE over rows: a square root) has it applied to the mean. Weights
    are scaled by a power of two (exact) so that no sum overflows, whatever their size;
    weights that sum to 0 over the values left raise :class:`~fastrank.InputError` (``name``
    says whose): the weighted mean is undefined.
    """
    kept = ~np.isnan(values)
    metric = REGISTRY.get(name.partition("@")[0])
    if metric is not None and metric.summary is not None:  # a summary of its own (a geometric mean)
        return metric.summary(values[kept]) if kept.any() else float("nan")
    finish = metric.finish if metric is not None and metric.finish is not None else float
    if weights is None:
        return finish(values[kept].mean()) if kept.any() else float("nan")
    if not kept.any():
        return float("nan")
    w = weights[kept]
    largest = float(w.max())
    if not largest > 0:
        raise InputError(
            f"{name}: the weights of the {int(kept.sum()):,} users with a value sum to 0, so their weighted "
            "mean is undefined; weight users by rows or users, or by a column that is not 0 for all"
        )
    w = np.ldexp(w, -int(np.frexp(largest)[1]))  # the largest below 1: a sum of n stays below n
    return float(finish(values[kept] @ w / w.sum()))
