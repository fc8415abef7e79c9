"""``evaluate``: table -> groups -> one whole-matrix predict -> grouped metrics -> summary.

The CLI is a thin layer over this function; training jobs and notebooks call it directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import kernels, protocols
from .checks import check_int, check_number
from .errors import InputError
from .grouping import group_rows
from .io import TableSource, feature_matrix, numeric_column, user_column
from .metrics import _check_values, parse_metric
from .predict import DEFAULT_BATCH_SIZE, check_features, load_scorer, predict
from .threads import even_bounds, frozen, run_chunks, thread_count

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


ENGINES = ("auto", "memory", "stream", "dask")
"""``auto``: in memory, or streamed when the input looks too large for memory."""


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
    engine: str = "auto",
    chunk_rows: int | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    allow_shared_columns: bool = False,
) -> Evaluation:
    """Evaluate a recommender's per-user ranking quality on a user x item table.

    Parameters
    ----------
    data : path, pandas.DataFrame, pyarrow.Table or None
        A parquet file, a directory of parquet files (e.g. made by ``fastrank bucketize``) or a
        CSV file, or a frame/table. None runs the built-in demo: a synthetic KuaiRec-shaped table,
        the shipped demo model and the ``video_watch_ratio_mean`` baseline (unless a model, scores
        or baselines are given).
    model : path or keras.Model, optional
        Scored in one whole-matrix predict over the feature columns (source ``"model"``).
    scores : str or array-like, optional
        Precomputed scores: a column name (the source is named after it) or one value per row
        (source ``"scores"``; in-memory engine only).
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
    engine : {"auto", "memory", "stream", "dask"}
        ``memory``: the whole table at once. ``stream``: chunks of whole users, for input grouped
        by user (sorted, or bucketed by ``fastrank bucketize``); memory is set by ``chunk_rows``.
        ``dask``: partitions of whole users on a Dask cluster (see :mod:`fastrank.engines.dask`).
        ``auto`` (default): ``memory``, or ``stream`` when the input looks too large for the
        memory available (a note says so). Every engine gives the same per-user values.
    chunk_rows : int, optional
        Streaming: rows per chunk (a chunk is cut at a user boundary; a user with more rows is
        one larger chunk). Default 1,048,576.
    scheduler : str or distributed.Client, optional
        Dask: the scheduler address (``tcp://host:8786``) or a client; default: a local cluster.
    workers : int, optional
        Dask local cluster: worker processes (one thread each); default: one per core.
    allow_shared_columns : bool
        Let the user, item or label column also be a score or a feature (refused by default: the
        label among the features feeds the model the answer). The user, item and label columns
        are always three different columns.

    Returns
    -------
    Evaluation
        Means, per-user values, counts and timings. Bad input raises :class:`~fastrank.InputError`.
    """
    clock = time.perf_counter()
    notes: list[str] = []
    if engine not in ENGINES:
        raise InputError(f"engine: must be one of {', '.join(ENGINES)}. Got {engine!r} instead.")
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
    plan = _plan(
        source, model, scores, baselines, user_col, item_col, label_col, features, k, metrics, threshold,
        protocol, min_items, batch_size, safe_mode, predictor, allow_shared_columns,
    )  # fmt: skip
    score_array = None if scores is None or isinstance(scores, str) else np.asarray(scores)
    if engine == "auto":
        from .engines.stream import too_large_for_memory

        reason = too_large_for_memory(source, plan.columns)
        engine = "memory" if reason is None else "stream"
        if reason:
            notes.append(f"engine: streaming, because {reason}")
    if engine != "memory" and score_array is not None:
        raise InputError(f"engine {engine}: scores given as an array need the whole table; use a column")

    timings = {"load": time.perf_counter() - clock}  # options, schema and columns checked
    if engine == "dask":
        from .engines.dask import evaluate_dask

        scored = evaluate_dask(
            source, plan, scheduler=scheduler, workers=workers, timings=timings, notes=notes
        )
    else:
        scorer = _load_scorer(plan, notes, timings)
        if engine == "stream":
            from .engines.stream import evaluate_stream

            scored = evaluate_stream(
                source, plan, scorer, chunk_rows=chunk_rows, timings=timings, notes=notes
            )
        else:
            clock = time.perf_counter()
            table = source.read(plan.columns)
            _add_time(timings, "load", clock)
            scored = score_table(table, plan, scorer, scores=score_array, progress=progress, timings=timings)
    if scored.duplicates is not None and scored.duplicates.sum():
        notes.append(
            f"duplicates: {int(scored.duplicates.sum())} rows repeat a ({plan.user_col}, {plan.item_col}) "
            "pair; all are kept"
        )
    if "notebook" in plan.protocols:
        notes.append(protocols.NOTEBOOK_NOTE)
    clock = time.perf_counter()
    summary, per_user = _tables(scored)
    timings["tables"] = time.perf_counter() - clock
    duplicates = None if scored.duplicates is None else int(scored.duplicates.sum())
    return Evaluation(summary, per_user, scored.n_rows, len(scored.users), duplicates, timings, notes)


@dataclass(frozen=True)
class Plan:
    """What to read and compute, resolved and checked before any row is read.

    Picklable when ``model`` is a path or None: the Dask engine ships it to workers, which load
    the model themselves.
    """

    name: str
    user_col: str
    item_col: str | None
    label_col: str
    score_col: str | None
    has_scores: bool
    baselines: tuple[str, ...]
    features: tuple[str, ...]
    model: Any
    ks: tuple[int, ...]
    metrics: tuple[str, ...]
    threshold: float
    protocols: tuple[str, ...]
    min_items: int
    batch_size: int
    safe_mode: bool
    predictor: str

    @property
    def columns(self) -> list[str]:
        """Columns to read, each once."""
        keys = [self.user_col, self.label_col] + ([self.item_col] if self.item_col else [])
        extra = list(self.features) + list(self.baselines) + ([self.score_col] if self.score_col else [])
        return list(dict.fromkeys(keys + extra))

    @property
    def sources(self) -> list[str]:
        """Score sources, in the order given."""
        names = [MODEL_SOURCE] if self.model is not None else []
        names += [self.score_col or "scores"] if self.has_scores else []
        return names + list(self.baselines)

    @property
    def value_keys(self) -> list[tuple[str, str, int, str]]:
        """(protocol, metric, k, source) of each per-user value column, in :func:`score_table` order."""
        keys = []
        for source_name in self.sources:
            if "standard" in self.protocols:
                keys += [("standard", m, k, source_name) for m in self.metrics for k in self.ks]
            if "notebook" in self.protocols:
                for metric in ("ndcg_notebook", "ndcg_notebook_rounded"):
                    keys.append(("notebook", metric, protocols.NOTEBOOK_K, source_name))
        return keys


def _plan(
    source: TableSource, model: Any, scores: Any, baselines: Any, user_col: str, item_col: str | None,
    label_col: str, features: Sequence[str] | None, k: Any, metrics: Any, threshold: float, protocol: Any,
    min_items: int, batch_size: int, safe_mode: bool, predictor: str, allow_shared_columns: bool = False,
) -> Plan:  # fmt: skip
    ks = [check_int(one, "k") for one in _as_list(k)]
    if not ks:
        raise InputError("The 'k' parameter must name at least one cutoff. Got an empty list instead.")
    if not isinstance(metrics, (str, Sequence)):
        raise InputError(
            f"The 'metrics' parameter must be a name or a list of names. Got {metrics!r} instead."
        )
    metric_names = [_check_metric(one) for one in _as_list(metrics)]
    if not metric_names:
        raise InputError("metrics: name at least one metric, e.g. 'ndcg'")
    threshold = check_number(threshold, "threshold")
    min_items = check_int(min_items, "min_items")
    batch_size = check_int(batch_size, "batch_size")
    wanted = _as_list(protocol)
    for name in wanted:
        if name not in protocols.PROTOCOLS:
            raise InputError(
                f"protocol: unknown protocol {name!r}; choose from {', '.join(protocols.PROTOCOLS)}"
            )
    if not wanted:
        raise InputError("protocol: name at least one protocol")
    baselines = _as_list(baselines)
    name = source.name
    if model is None and scores is None and not baselines:
        raise InputError(
            "nothing to evaluate: give a model (model=), a scores column (scores=) or a baseline column "
            "(baselines=)"
        )
    score_col = scores if isinstance(scores, str) else None
    names = [MODEL_SOURCE] if model is not None else []
    names += [score_col or "scores"] if scores is not None else []
    names += baselines
    repeated = sorted({one for one in names if names.count(one) > 1})
    if repeated:
        raise InputError(f"source {repeated[0]!r} is given twice; each score source needs its own name")
    source.require([user_col, label_col] + ([item_col] if item_col else []))
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
    _check_roles(user_col, item_col, label_col, [score_col, *baselines], features, allow_shared_columns)
    if "notebook" in wanted and not item_col:
        raise InputError("the notebook protocol needs an item column (item_col)")
    return Plan(
        name=name, user_col=user_col, item_col=item_col, label_col=label_col, score_col=score_col,
        has_scores=scores is not None, baselines=tuple(baselines), features=tuple(features), model=model,
        ks=tuple(ks), metrics=tuple(metric_names), threshold=float(threshold), protocols=tuple(wanted),
        min_items=min_items, batch_size=batch_size, safe_mode=safe_mode, predictor=predictor,
    )  # fmt: skip


def _check_roles(
    user_col: str, item_col: str | None, label_col: str, score_cols: list[str | None], features: list[str],
    allow_shared: bool,
) -> None:  # fmt: skip
    """Refuse a column in two roles: the user, item and label columns are three different columns,
    and none of them is a score or a feature unless ``allow_shared`` (the label as a feature feeds
    the model the answer; as a score it ranks by the answer)."""
    keys = {"user_col": user_col, "item_col": item_col, "label_col": label_col}
    named = [(role, column) for role, column in keys.items() if column]
    for i, (role, column) in enumerate(named):
        for other, other_column in named[i + 1 :]:
            if column == other_column:
                raise InputError(
                    f"column {column!r} is both {role}= and {other}=; they must be different columns"
                )
    if allow_shared:
        return
    uses = [("a score column (scores= or baselines=)", c) for c in score_cols if c] + [
        ("a feature (features=)", c) for c in features
    ]
    for role, column in named:
        for use, used in uses:
            if used == column:
                raise InputError(
                    f"column {column!r} is {role}= and also {use}; pass allow_shared_columns=True "
                    "if that is what you mean"
                )


def _load_scorer(plan: Plan, notes: list[str], timings: dict[str, float]) -> Any:
    """The model ready to predict (None without one), its features checked against its input."""
    if plan.model is None:
        return None
    clock = time.perf_counter()
    scorer, fallback = load_scorer(plan.model, safe_mode=plan.safe_mode, predictor=plan.predictor)
    if fallback:
        notes.append(f"predictor: {fallback}")
    check_features(scorer, list(plan.features), model_name(plan.model))
    timings["model"] = time.perf_counter() - clock
    return scorer


def model_name(model: Any) -> str:
    """How messages name a model: its path, or ``model`` for an object."""
    return str(model) if isinstance(model, (str, os.PathLike)) else "model"


@dataclass
class Scored:
    """Per-user values of a table, or of parts of one holding whole users (see :func:`concat`).

    ``values`` maps (protocol, metric, k, source) to one float64 per user (NaN: not evaluated);
    ``duplicates`` counts each user's rows repeating an item (None without an item column).
    """

    users: np.ndarray
    n_items: np.ndarray
    duplicates: np.ndarray | None
    values: dict[tuple[str, str, int, str], np.ndarray]
    n_rows: int


def concat(parts: Sequence[Scored]) -> Scored:
    """The parts' users one after the other; the parts must hold different users."""
    first = parts[0]
    return Scored(
        users=np.concatenate([p.users for p in parts]),
        n_items=np.concatenate([p.n_items for p in parts]),
        duplicates=None if first.duplicates is None else np.concatenate([p.duplicates for p in parts]),
        values={key: np.concatenate([p.values[key] for p in parts]) for key in first.values},
        n_rows=sum(p.n_rows for p in parts),
    )


def _add_time(timings: dict[str, float] | None, stage: str, since: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - since
    return now


def score_table(
    table: Any,
    plan: Plan,
    scorer: Any,
    *,
    scores: np.ndarray | None = None,
    name: str | None = None,
    parallel: bool = True,
    progress: bool = False,
    timings: dict[str, float] | None = None,
) -> Scored:
    """Group, check, predict and evaluate one table holding whole users.

    ``table`` (pyarrow) has the plan's columns; ``scorer`` is the loaded model (None without one).
    ``name`` replaces the plan's in messages (e.g. a bucket file); ``parallel=False`` keeps every
    kernel on the calling thread, for callers that are themselves a thread pool (Dask workers).
    Stage times are added to ``timings``.
    """
    name = name or plan.name
    clock = time.perf_counter()
    users = user_column(table, plan.user_col, name)
    groups = group_rows(users, parallel=parallel)
    labels = _check_values(
        numeric_column(table, plan.label_col, name, users), f"{name}: column {plan.label_col!r}", groups,
        float32_ok=False, max_value=np.inf, parallel=parallel,
    )  # fmt: skip
    items = None
    duplicates = None
    if plan.item_col:
        raw_items = table.column(plan.item_col).to_numpy(zero_copy_only=False)
        if "notebook" in plan.protocols:
            protocols.check_item_ids(raw_items, name, plan.item_col)
        items = groups.take(raw_items if raw_items.dtype.kind in "iu" else pd.factorize(raw_items)[0])
        duplicates = _duplicates_per_user(groups, items, parallel)
    clock = _add_time(timings, "group", clock)

    sources: dict[str, np.ndarray] = {}
    if scorer is not None:
        matrix = feature_matrix(table, plan.features, name, users)
        clock = _add_time(timings, "features", clock)
        sources[MODEL_SOURCE] = predict(scorer, matrix, batch_size=plan.batch_size, progress=progress)
        del matrix
        clock = _add_time(timings, "predict", clock)
    if plan.has_scores:
        if plan.score_col:
            sources[plan.score_col] = numeric_column(table, plan.score_col, name, users)
        else:
            sources["scores"] = np.asarray(scores)
    for column in plan.baselines:
        sources[column] = numeric_column(table, column, name, users)

    label_order = groups.take(labels)
    values: dict[tuple[str, str, int, str], np.ndarray] = {}
    for source_name, column_values in sources.items():
        in_table = source_name in table.column_names
        where = f"{name}: column {source_name!r}" if in_table else f"{name}: {source_name}"
        # Every source as float64 (exact for float32 model scores): one compiled kernel serves all.
        checked = _check_values(column_values, where, groups, float32_ok=False, parallel=parallel)
        checked = groups.take(checked)
        if "standard" in plan.protocols:
            result = protocols.standard(
                groups, label_order, checked, list(plan.ks), plan.min_items, plan.metrics, plan.threshold,
                parallel=parallel,
            )  # fmt: skip
            for j, column in enumerate(result.metrics):
                metric, _, cut = column.partition("@")
                values["standard", metric, int(cut), source_name] = result.values[:, j]
        if "notebook" in plan.protocols:
            assert items is not None
            for metric, rounded in (("ndcg_notebook", False), ("ndcg_notebook_rounded", True)):
                result = protocols.notebook(
                    groups, items, label_order, checked, rounded=rounded, parallel=parallel
                )
                values["notebook", metric, protocols.NOTEBOOK_K, source_name] = result.values[:, 0]
    _add_time(timings, "metrics", clock)
    return Scored(groups.keys, groups.sizes, duplicates, values, table.num_rows)


def _check_metric(name: Any) -> str:
    spec = parse_metric(str(name))
    if spec.k is not None:
        raise InputError(f"metrics: give {spec.name!r} without '@{spec.k}'; cutoffs come from k")
    return spec.name


def _duplicates_per_user(groups: Any, items: np.ndarray, parallel: bool) -> np.ndarray:
    """Rows repeating a (user, item) pair seen earlier, per user, in O(rows) whatever the item ids."""
    low, high = int(items.min()), int(items.max())
    if high - low < 1 << 26:
        codes = items - low
        n_codes = high - low + 1
    else:  # ids too sparse for a table indexed by id: renumber them first
        codes, uniques = pd.factorize(items)
        n_codes = len(uniques)
    out = np.empty(groups.n_groups, np.int64)
    offsets, codes = frozen(groups.offsets), frozen(np.ascontiguousarray(codes, np.int64))
    run_chunks(
        lambda first, stop: kernels.repeats_per_group(first, stop, offsets, codes, n_codes, out),
        even_bounds(groups.n_groups, 2 * thread_count(parallel)),
        parallel,
    )
    return out


def _tables(scored: Scored) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    frames = []
    for (protocol, metric, k, source_name), values in scored.values.items():
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
