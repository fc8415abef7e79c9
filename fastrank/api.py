"""``evaluate``: table -> groups -> one whole-matrix predict -> grouped metrics -> summary.

The CLI is a thin layer over this function; training jobs and notebooks call it directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd

from . import kernels, protocols
from .errors import InputError
from .grouping import group_rows
from .io import TableSource, feature_matrix, numeric_column, user_column
from .metrics import RankingResult, _check_values, parse_metric
from .predict import DEFAULT_BATCH_SIZE, check_features, load_scorer, predict

DEMO_BASELINE = "video_watch_ratio_mean"
MODEL_SOURCE = "model"


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per (protocol, metric, k, source): ``mean`` over evaluated users, ``users``
        evaluated and ``excluded`` (fewer than ``min_items`` rows).
    per_user : pandas.DataFrame
        Long format: ``user``, ``protocol``, ``metric``, ``k``, ``source``, ``value``, ``n_items``.
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
        self, source: str = MODEL_SOURCE, *, k: int = 10, metric: str = "ndcg", protocol: str = "standard"
    ) -> float:
        """The mean of one (protocol, metric, k, source) row of :attr:`summary`."""
        s = self.summary
        row = s[(s.protocol == protocol) & (s.metric == metric) & (s.k == k) & (s.source == source)]
        if row.empty:
            raise KeyError(f"no result for protocol={protocol!r} metric={metric!r} k={k} source={source!r}")
        return float(row["mean"].iloc[0])

    def records(self) -> list[dict[str, Any]]:
        """:attr:`summary` as JSON-ready records."""
        return [
            {key: (value.item() if isinstance(value, np.generic) else value) for key, value in row.items()}
            for row in self.summary.to_dict(orient="records")
        ]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)):
        return [value]
    return list(value)


def evaluate(
    data: Any = None,
    model: Any = None,
    *,
    scores: str | Any | None = None,
    baselines: Sequence[str] = (),
    user_col: str = "user_id",
    item_col: str | None = "video_id",
    label_col: str = "watch_ratio",
    features: Sequence[str] | None = None,
    k: int | Sequence[int] = 10,
    metrics: str | Sequence[str] = "ndcg",
    threshold: float = 1.0,
    protocol: str | Sequence[str] = "standard",
    min_items: int = 2,
    batch_size: int = DEFAULT_BATCH_SIZE,
    safe_mode: bool = True,
    predictor: str = "auto",
    progress: bool = False,
) -> Evaluation:
    """Evaluate a recommender's per-user ranking quality on a user x item table.

    Parameters
    ----------
    data : path, pandas.DataFrame, pyarrow.Table or None
        A parquet file, a directory of parquet files or a CSV file, or a frame/table. None runs
        the built-in demo: a synthetic KuaiRec-shaped table, the shipped demo model and the
        ``video_watch_ratio_mean`` baseline (unless a model, scores or baselines are given).
    model : path or keras.Model, optional
        Scored in one whole-matrix predict over the feature columns (source ``"model"``).
    scores : str or array-like, optional
        Precomputed scores: a column name (the source is named after it) or one value per row
        (source ``"scores"``).
    baselines : sequence of str
        Columns scored as they are, e.g. ``["video_watch_ratio_mean"]``.
    user_col, item_col, label_col : str
        Column names (the notebook's by default). ``item_col=None``: no item column (no duplicate
        count, no notebook protocol).
    features : sequence of str, optional
        The model's input columns, in order; default: every column but user, item, label and the
        ``scores`` column, in file order.
    k : int or sequence of int
        Cutoffs of the standard protocol.
    metrics : str or sequence of str
        Metrics of the standard protocol, each at every k: ``ndcg`` (default), ``dcg``,
        ``precision``, ``recall``, ``hit_rate``, ``mrr``, ``map`` (see :func:`fastrank.ranking_metrics`).
    threshold : float
        Relevance threshold of the binary metrics: a row is relevant when ``label >= threshold``.
    protocol : {"standard", "notebook"} or a sequence of them
        ``standard``: per-user ``metrics`` at each k, relevance = label. ``notebook``: the KuaiRec
        notebook's item-id-as-gain NDCG (k = 10, users with >= 5 rows), for migrating users only.
    min_items : int
        Users with fewer rows are excluded from the standard protocol (and counted).
    batch_size : int
        Rows per predict batch.
    safe_mode : bool
        Keras safe mode: refuse models that carry Python code (Lambda layers).
    predictor : {"auto", "numpy", "keras"}
        ``auto`` runs a ``.keras`` file of standard layers in numpy, without importing TensorFlow,
        and falls back to Keras otherwise (saying why in :attr:`Evaluation.notes`); ``numpy`` or
        ``keras`` forces one (``numpy`` fails on an unsupported layer).
    progress : bool
        Draw a predict progress bar on stderr.

    Returns
    -------
    Evaluation
        Means, per-user values, counts and timings. Bad input raises :class:`~fastrank.InputError`.
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    clock = time.perf_counter()
    ks = [_check_k(one) for one in _as_list(k)]
    metric_names = [_check_metric(one) for one in _as_list(metrics)]
    if not metric_names:
        raise InputError("metrics: name at least one metric, e.g. 'ndcg'")
    if not np.isfinite(threshold):
        raise InputError(f"threshold: must be a finite number. Got {threshold!r} instead.")
    wanted = _as_list(protocol)
    for name in wanted:
        if name not in protocols.PROTOCOLS:
            raise InputError(
                f"protocol: unknown protocol {name!r}; choose from {', '.join(protocols.PROTOCOLS)}"
            )
    if not wanted:
        raise InputError("protocol: name at least one protocol")
    baselines = _as_list(baselines)

    if data is None:
        from .demo import DEMO_MODEL_PATH, demo_table_path

        data = demo_table_path()
        notes.append(f"demo: synthetic KuaiRec-shaped table cached at {data}")
        if model is None and scores is None:
            model = DEMO_MODEL_PATH
            notes.append(f"demo: model {DEMO_MODEL_PATH}")
        if not baselines:
            baselines = [DEMO_BASELINE]
    source = TableSource(data)
    name = source.name
    if model is None and scores is None and not baselines:
        raise InputError("nothing to evaluate: give a model (--model), a scores column or a baseline column")
    score_col = scores if isinstance(scores, str) else None
    names = [MODEL_SOURCE] if model is not None else []
    names += [score_col or "scores"] if scores is not None else []
    names += baselines
    repeated = sorted({one for one in names if names.count(one) > 1})
    if repeated:
        raise InputError(f"source {repeated[0]!r} is given twice; each score source needs its own name")
    key_cols = [user_col, label_col] + ([item_col] if item_col else [])
    source.require(key_cols)
    source.require(baselines + ([score_col] if score_col else []), what="score column")
    if model is not None:
        if features is None:
            skip = {user_col, label_col, item_col, score_col}
            features = [c for c in source.column_names if c not in skip]
        else:
            features = list(features)
            source.require(features, what="feature column")
        if not features:
            raise InputError(f"{name}: no feature columns left for the model")
    else:
        features = []
    if "notebook" in wanted and not item_col:
        raise InputError("the notebook protocol needs an item column (item_col)")

    table = source.read(key_cols + list(features) + baselines + ([score_col] if score_col else []))
    n_rows = table.num_rows
    users = user_column(table, user_col, name)
    timings["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    groups = group_rows(users)
    labels = _check_values(
        numeric_column(table, label_col, name, users), f"{name}: column {label_col!r}", groups,
        float32_ok=False, max_value=np.inf,
    )  # fmt: skip
    items = None
    duplicates = None
    if item_col:
        raw_items = table.column(item_col).to_numpy(zero_copy_only=False)
        if "notebook" in wanted:
            protocols.check_item_ids(raw_items, name, item_col)
        items = groups.take(raw_items if raw_items.dtype.kind in "iu" else pd.factorize(raw_items)[0])
        duplicates = _count_duplicates(groups, items)
        if duplicates:
            notes.append(
                f"duplicates: {duplicates} rows repeat a ({user_col}, {item_col}) pair; all are kept"
            )
    timings["group"] = time.perf_counter() - clock

    sources: dict[str, np.ndarray] = {}
    if model is not None:
        clock = time.perf_counter()
        model_name = str(model) if isinstance(model, (str, os.PathLike)) else "model"
        keras_model, fallback = load_scorer(model, safe_mode=safe_mode, predictor=predictor)
        if fallback:
            notes.append(f"predictor: {fallback}")
        check_features(keras_model, list(features), model_name)
        matrix = feature_matrix(table, features, name, users)
        timings["model"] = time.perf_counter() - clock
        clock = time.perf_counter()
        sources[MODEL_SOURCE] = predict(keras_model, matrix, batch_size=batch_size, progress=progress)
        del matrix
        timings["predict"] = time.perf_counter() - clock
    if scores is not None:
        if score_col:
            sources[score_col] = numeric_column(table, score_col, name, users)
        else:
            sources["scores"] = np.asarray(scores)
    for column in baselines:
        sources[column] = numeric_column(table, column, name, users)

    clock = time.perf_counter()
    label_order = groups.take(labels)
    results: list[tuple[str, str | None, str, RankingResult]] = []
    for source_name, values in sources.items():
        where = (
            f"{name}: column {source_name!r}"
            if source_name in table.column_names
            else f"{name}: {source_name}"
        )
        checked = groups.take(_check_values(values, where, groups, float32_ok=True))
        if "standard" in wanted:
            result = protocols.standard(groups, label_order, checked, ks, min_items, metric_names, threshold)
            results.append(("standard", None, source_name, result))
        if "notebook" in wanted:
            assert items is not None
            for metric, rounded in (("ndcg_notebook", False), ("ndcg_notebook_rounded", True)):
                result = protocols.notebook(groups, items, label_order, checked, rounded=rounded)
                results.append(("notebook", metric, source_name, result))
    if "notebook" in wanted:
        notes.append(protocols.NOTEBOOK_NOTE)
    timings["metrics"] = time.perf_counter() - clock
    summary, per_user = _tables(results)
    return Evaluation(summary, per_user, n_rows, groups.n_groups, duplicates, timings, notes)


def _check_metric(name: Any) -> str:
    spec = parse_metric(str(name))
    if spec.k is not None:
        raise InputError(f"metrics: give {spec.name!r} without '@{spec.k}'; cutoffs come from k")
    return spec.name


def _check_k(k: Any) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k: each cutoff must be an int >= 1. Got {k!r} instead.")
    return int(k)


def _count_duplicates(groups: Any, items: np.ndarray) -> int:
    """Rows repeating a (user, item) pair, in O(rows) whatever the item ids."""
    low, high = int(items.min()), int(items.max())
    if high - low < 1 << 26:
        codes = items - low
        n_codes = high - low + 1
    else:  # ids too sparse for a table indexed by id: renumber them first
        codes, uniques = pd.factorize(items)
        n_codes = len(uniques)
    chunks = np.linspace(0, groups.n_groups, min(groups.n_groups, 2 * numba.get_num_threads()) + 1).astype(
        np.int64
    )
    return int(kernels.count_repeats_parallel(groups.offsets, codes, n_codes, chunks))


def _tables(results: list[tuple[str, str | None, str, RankingResult]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    frames = []
    for protocol, name, source_name, result in results:
        for j, column in enumerate(result.metrics):
            prefix, _, cut = column.partition("@")
            metric, k = name or prefix, int(cut)
            values = result.values[:, j]
            evaluated = int(np.count_nonzero(~np.isnan(values)))
            rows.append(
                {
                    "protocol": protocol,
                    "metric": metric,
                    "k": k,
                    "source": source_name,
                    "mean": float(np.nanmean(values)) if evaluated else float("nan"),
                    "users": evaluated,
                    "excluded": len(values) - evaluated,
                }
            )
            frames.append(
                pd.DataFrame(
                    {
                        "user": result.users,
                        "protocol": protocol,
                        "metric": metric,
                        "k": k,
                        "source": source_name,
                        "value": values,
                        "n_items": result.n_items,
                    }
                )
            )
    summary = pd.DataFrame(rows)
    # Protocol, then metric (in the order asked) and k, with the sources side by side in the order
    # they were given.
    protocol_rank = {name: rank for rank, name in enumerate(protocols.PROTOCOLS)}
    metric_rank = {name: rank for rank, name in enumerate(dict.fromkeys(summary["metric"]))}
    keys = pd.DataFrame(
        {
            "p": summary["protocol"].map(protocol_rank),
            "m": summary["metric"].map(metric_rank),
            "k": summary["k"],
        }
    )
    order = np.lexsort((np.arange(len(summary)), keys["k"], keys["m"], keys["p"]))
    return summary.iloc[order].reset_index(drop=True), pd.concat(frames, ignore_index=True)
