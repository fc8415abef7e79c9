"""What an evaluation returns: :class:`Evaluation` (summary and per-user values), built from the
engines' :class:`~fastrank.engines.plan.Scored` by :func:`tables`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..engines.plan import MODEL_SOURCE, Scored
from ..metrics import protocols
from ..metrics.registry import DEFAULT, NONE, REGISTRY, WEIGHTED
from ..metrics.result import weighted_mean


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per (protocol, metric, k, source): ``mean`` over evaluated users (weighted for
        a weighted mean; the value over all lists for the catalog-wide metrics), ``users`` evaluated and
        ``excluded`` (fewer than ``min_items`` rows, or for AUC and GAUC a single class). ``k`` is
        None for the metrics of the whole list.
    per_user : pandas.DataFrame
        Long format: ``user``, ``protocol``, ``metric``, ``k``, ``source``, ``value``, ``n_items``;
        the metrics with a per-user value only (not a weighted mean, nor a catalog-wide metric).
    n_rows, n_users : int
        Rows read and distinct users.
    duplicates : int or None
        Rows that repeat a (user, item) pair seen earlier (counted, never dropped); None without
        an item column.
    timings : dict of str to float
        Seconds per stage: ``load``, ``group``, ``model``, ``predict``, ``metrics``.
    notes : list of str
        Remarks for the reader (demo data used, notebook-protocol caveat, duplicates).
    """

    summary: pd.DataFrame
    per_user: pd.DataFrame
    n_rows: int
    n_users: int
    duplicates: int | None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def mean(
        self,
        source: str = MODEL_SOURCE,
        *,
        k: int | None = 10,
        metric: str = DEFAULT.name,
        protocol: str = "standard",
    ) -> float:
        """The mean of one (protocol, metric, k, source) row of :attr:`summary`; ``k`` is ignored
        for the metrics of the whole list."""
        s = self.summary
        k = None if metric in REGISTRY and REGISTRY[metric].cutoff == NONE else k
        at_k = s.k.isna() if k is None else s.k == k
        row = s[(s.protocol == protocol) & (s.metric == metric) & at_k & (s.source == source)]
        if row.empty:
            raise KeyError(f"no result for protocol={protocol!r} metric={metric!r} k={k} source={source!r}")
        return float(row["mean"].iloc[0])

    def render(self, fmt: str = "markdown") -> str:
        """:attr:`summary` as ``"csv"``, ``"markdown"``, ``"latex"`` or ``"html"`` text: one row per
        protocol, metric, k and source, with the mean, the users evaluated and those excluded."""
        from .render import Table, cutoff_text, render_table

        header = ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
        rows = [
            [str(r["protocol"]), str(r["metric"]), cutoff_text(r["k"]), str(r["source"]),
             "" if r["mean"] != r["mean"] else f"{r['mean']:.4f}", str(r["users"]), str(r["excluded"])]
            for r in self.records()
        ]  # fmt: skip
        table = Table(
            header, rows, numeric={2, 4, 5, 6}, note=f"{self.n_rows:,} rows, {self.n_users:,} users"
        )
        return render_table(table, fmt)

    def _repr_html_(self) -> str:  # a notebook shows the summary as a table
        return self.render("html")

    def records(self) -> list[dict[str, Any]]:
        """:attr:`summary` as JSON-ready records."""
        return [
            {key: (value.item() if isinstance(value, np.generic) else value) for key, value in row.items()}
            for row in self.summary.to_dict(orient="records")
        ]


def tables(scored: Scored, metric_order: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary (one row per protocol, metric, k and source) and the long per-user table;
    metrics in ``metric_order``, then in the order met."""
    rows = []
    frames = []
    n_users = len(scored.users)
    for key, (value, users) in scored.overall.items():
        rows.append(_row(key, value, users, n_users - users))
    for key, values in scored.values.items():
        evaluated = int(np.count_nonzero(~np.isnan(values)))
        metric = REGISTRY.get(key[1])
        weighted = metric is not None and (metric.family == WEIGHTED or metric.by_rows)
        weights = (
            None
            if not weighted
            else scored.n_items.astype(np.float64)
            if metric.by_rows
            else scored.gauc_weights
        )
        rows.append(_row(key, weighted_mean(values, weights, key[1]), evaluated, len(values) - evaluated))
        if weighted:  # a weighted mean: its per-user values are those of the metric it weights
            continue
        protocol, metric, k, source_name = key
        frames.append(
            pd.DataFrame(
                {
                    "user": scored.users,
                    "protocol": protocol,
                    "metric": metric,
                    "k": k,
                    "source": source_name,
                    "value": values,
                    "n_items": scored.n_items,
                }
            )
        )
    summary = pd.DataFrame(rows)
    ks = [row["k"] for row in rows]
    if None in ks:  # ints and None, not floats and NaN
        summary["k"] = pd.Series(ks, dtype=object)
    # Protocol, then metric (in the order asked) and k, with the sources side by side in the order
    # they were given.
    protocol_rank = {name: rank for rank, name in enumerate(protocols.PROTOCOLS)}
    asked = [*metric_order, *(key[1] for key in (*scored.values, *scored.overall))]
    metric_rank = {name: rank for rank, name in enumerate(dict.fromkeys(asked))}
    order = np.lexsort(
        (
            np.arange(len(summary)),
            np.array([-1 if k is None else k for k in ks]),
            np.array([metric_rank[name] for name in summary["metric"]]),
            np.array([protocol_rank[name] for name in summary["protocol"]]),
        )
    )
    per_user = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_PER_USER)
    return summary.iloc[order].reset_index(drop=True), per_user


_PER_USER = ["user", "protocol", "metric", "k", "source", "value", "n_items"]


def _row(key: tuple, mean: float, users: int, excluded: int) -> dict[str, Any]:
    protocol, metric, k, source_name = key
    return {"protocol": protocol, "metric": metric, "k": k, "source": source_name, "mean": mean,
            "users": users, "excluded": excluded}  # fmt: skip
