"""``evaluate``: options resolved (:mod:`fastrank.api.options`), an engine chosen from the registry
(:mod:`fastrank.engines`: in memory, streaming, Dask) and run, then the summary. The CLI is a thin
layer over this function; training jobs and notebooks call it directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays.checks import check_delimiter
from ..engines import choose
from ..engines.protocol import Work
from ..errors import InputError
from ..inputs.columns import TABLE
from ..inputs.registry import check_format
from ..inputs.tables import TableSource
from ..metrics import protocols
from ..metrics.options import DEFAULT_K, DEFAULTS
from ..metrics.registry import DEFAULT
from ..scoring import MODEL_DEFAULTS
from .options import ENGINE_DEFAULTS, Options, resolve
from .results import Evaluation, tables

DEMO_BASELINE = "video_watch_ratio_mean"


def evaluate(
    data: Any = None,
    model: Any = None,
    *,
    scores: str | Any | None = None,
    baselines: Sequence[str] = (),
    user_col: str = TABLE.user_col,
    item_col: str | None = TABLE.item_col,
    label_col: str = TABLE.label_col,
    features: Sequence[str] | None = None,
    k: int | Sequence[int] = DEFAULT_K,
    metrics: str | Sequence[str] = DEFAULT.name,
    threshold: float = DEFAULTS.threshold,
    ties: str = DEFAULTS.ties,
    gain: str = DEFAULTS.gain,
    max_grade: float | None = DEFAULTS.max_grade,
    gauc_weight: str = "rows",
    popularity_col: str | None = None,
    tail_share: float = DEFAULTS.tail_share,
    tail_ties: str = DEFAULTS.tail_ties,
    exclude: Any = None,
    item_features: Any = None,
    history: Any = None,
    cooccurrence: Any = None,
    protocol: str | Sequence[str] = "standard",
    min_items: int = DEFAULTS.min_items,
    batch_size: int = MODEL_DEFAULTS.batch_size,
    safe_mode: bool = MODEL_DEFAULTS.safe_mode,
    predictor: str = MODEL_DEFAULTS.predictor,
    progress: bool = ENGINE_DEFAULTS.progress,
    engine: str = ENGINE_DEFAULTS.engine,
    chunk_rows: int | None = ENGINE_DEFAULTS.chunk_rows,
    scheduler: Any = ENGINE_DEFAULTS.scheduler,
    workers: int | None = ENGINE_DEFAULTS.workers,
    allow_shared_columns: bool = False,
    delimiter: str | None = None,
    input_format: str | None = None,
) -> Evaluation:
    """Evaluate a recommender's per-user ranking quality on a user x item table.

    Parameters
    ----------
    data : path, pandas.DataFrame, pyarrow.Table or None
        A parquet file, a directory of parquet files (e.g. made by ``fastrank bucketize``) or a
        CSV/TSV file (gzip too), told apart by content, not name; a pipe, or ``"-"`` for standard
        input; or a frame/table. None runs the built-in demo: a synthetic KuaiRec-shaped table,
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
        Metrics of the standard protocol (names from :data:`fastrank.METRICS`), each at every k,
        or at its own cutoff (``name@10``); those of the whole list once. The beyond-accuracy
        metrics need the item column (every engine computes them). Definitions: the README's metric
        tables (:mod:`fastrank.metrics.registry`).
    threshold : float
        Relevance threshold of the binary metrics and AUC: a row is relevant when
        ``label >= threshold``.
    ties : {"average", "pessimistic", "optimistic"}
        Tied scores: every metric is averaged over all orders of the tie, or the tie is ordered
        worst-first or best-first (to see how much ties can move a number).
    gain : {"linear", "exponential", "binary"} or dict
        DCG's and NDCG's gain of a label: the label (trec_eval, scikit-learn), ``2**label - 1``
        (Burges et al.; RecBole, TorchMetrics), 1 when relevant (``label >= threshold``), or a
        dict of label: gain (0 gains 0 unless given).
    max_grade : float, optional
        The top of the relevance scale, for ERR's stop probability (2^label - 1) / 2^max_grade
        (gdeval's 4 for a 0-4 scale); default: the largest label of the data.
    gauc_weight : str
        GAUC's weight of a user: ``"rows"`` (its rows: impressions, as DIN's paper),
        ``"positives"`` (its relevant rows, as RecBole), ``"users"`` (1: the plain mean of the
        users' AUC) or a column name (its values summed over the user's rows).
    popularity_col : str, optional
        Item popularity for the beyond-accuracy metrics: the column summed over each item's
        rows. Default: each row counts 1 (an item's share of the table's rows).
    tail_share, tail_ties
        the long-tail share's tail: the ``max(int(n x tail_share), 1)`` least popular of the n items
        (default 0.8; RecBole: 0.1), items tied with its border kept in the head (``"head"``) or
        taken by item id (``"item"``, RecBole); see :func:`fastrank.ranking_metrics`.
    exclude : path or table, optional
        (user, item) pairs (``user_col``, ``item_col``; typically the training interactions)
        whose rows are left out of the table before anything is scored or ranked: items a user
        already has are no candidates. The rows left out are counted in a note, and so are the
        relevant ones among them (label >= ``threshold``: a leak between train and test).
    item_features : path or table, optional
        One row per item: ``item_col`` (else the first column) and numeric columns, or one list
        column: the vectors (cosine) of the diversity metrics. An item without features is
        refused by name.
    history : path or table, optional
        (user, item) pairs of what each user had before (``user_col``, ``item_col``; typically
        the training interactions), what the diversity metrics compare each list with.
    cooccurrence : path or table, optional
        Instead of ``item_features``: (user, item) interactions (``user_col``, ``item_col``;
        e.g. the training data) whose co-occurrence makes the item similarity: the cosine of two
        items' sets of users (Microsoft Recommenders' cosine co-occurrence).
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
        Draw progress bars on stderr: the predict's, and the rows or partitions done by the stream
        and Dask engines.
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
    delimiter : str, optional
        A CSV's delimiter, one character; default: sniffed from its first lines (``,``, ``;``,
        tab or ``|``).
    input_format : str, optional
        A table format of :data:`fastrank.inputs.registry.FORMATS` (``parquet``, ``csv``) to read
        ``data`` with, instead of the one its content shows.

    Returns
    -------
    Evaluation
        Means, per-user values, counts and timings. Bad input raises :class:`~fastrank.InputError`.
    """
    # Every parameter but ``data`` is a field of Options (tests/test_options.py holds the two equal).
    options = Options(**{name: value for name, value in locals().items() if name != "data"})
    return evaluate_options(data, options)


def evaluate_options(data: Any, options: Options) -> Evaluation:
    """:func:`evaluate` with its options in one :class:`~fastrank.api.options.Options`."""
    clock = time.perf_counter()
    notes: list[str] = []
    if data is None:
        from ..demo import DEMO_MODEL_PATH, demo_table_path

        data = demo_table_path()
        notes.append(f"demo: synthetic KuaiRec-shaped table cached at {data}")
        if options.model is None and options.scores is None:
            options = options.replace(model=DEMO_MODEL_PATH)
            notes.append(f"demo: model {DEMO_MODEL_PATH}")
        if not options.baselines:
            options = options.replace(baselines=[DEMO_BASELINE])
    source = TableSource(
        data,
        delimiter=check_delimiter(options.delimiter),
        input_format=check_format(options.input_format, tables_only=True),
    )
    resolved = resolve(options, source)
    plan, settings = resolved.plan, resolved.settings
    scores = options.scores
    score_array = None if scores is None or isinstance(scores, str) else np.asarray(scores)
    work = Work(notes, {})
    engine = choose(settings, source, plan, work)
    work.timings["load"] = time.perf_counter() - clock  # options, schema and columns checked
    scored = engine.run(source, plan, settings, work, score_array)
    if not len(scored.users):
        raise InputError(
            f"{source.name}: every row is an excluded (user, item) pair; nothing is left to evaluate"
        )
    timings = work.timings
    if scored.duplicates is not None and scored.duplicates.sum():
        notes.append(
            f"duplicates: {int(scored.duplicates.sum())} rows repeat a ({plan.user_col}, {plan.item_col}) "
            "pair; all are kept"
        )
    if scored.excluded:
        leak = ""
        if scored.excluded_relevant:
            leak = f"; {scored.excluded_relevant:,} of them relevant: a leak between train and test"
        notes.append(f"exclude: {scored.excluded:,} rows of excluded (user, item) pairs left out{leak}")
    if "notebook" in plan.protocols:
        notes.append(protocols.NOTEBOOK_NOTE)
    clock = time.perf_counter()
    summary, per_user = tables(scored, plan.metrics)
    timings["tables"] = time.perf_counter() - clock
    duplicates = None if scored.duplicates is None else int(scored.duplicates.sum())
    return Evaluation(summary, per_user, scored.n_rows, len(scored.users), duplicates, timings, notes)
