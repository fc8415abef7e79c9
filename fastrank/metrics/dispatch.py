"""Validated entry points over the kernels: every metric of the registry
(:mod:`fastrank.metrics.registry`), computed by its family, returned as one :class:`RankingResult`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import kernels
from ..arrays.checks import check_int
from ..arrays.columns import check_values, user_at
from ..arrays.conversion import to_numpy
from ..arrays.grouping import Groups, group_chunks, group_rows
from ..arrays.pairs import Pairs
from ..arrays.threads import frozen, run_chunks, thread_count
from ..errors import InputError
from .auc import class_metrics, gauc_weights
from .beyond import Catalog, catalog, exposure_metrics
from .diversity import History, RowsOf, Similar, cooccurrence_vectors, diversity_metrics, item_vectors
from .errors import error_metrics
from .interpolated import interpolated_precision
from .judged import judged_metrics
from .options import DEFAULT_K, DEFAULTS, GAIN_CODES, MetricOptions
from .registry import (
    CASCADE,
    CATALOG,
    CLASSES,
    DERIVED,
    ELEVEN_POINTS,
    ERROR,
    EXPOSURE,
    INTERPOLATED,
    JUDGED,
    POOLED,
    RANKING,
    REQUIRED,
    TIE_CODES,
    WEIGHTED,
    Gain,
    MetricSpec,
    NoRelevant,
    Ties,
    check_order,
    example,
    parse_metric,
)
from .result import RankingResult

# 2**1024 overflows float64.
_MAX_EXPONENTIAL_LABEL = 1023.0


def _check_k(k: Any) -> int | None:
    return None if k is None else check_int(k, "k")


def ranking_metrics(
    users: Any,
    labels: Any,
    scores: Any,
    metrics: str | Sequence[str | MetricSpec] = (example(10),),
    *,
    gain: Gain = DEFAULTS.gain,  # type: ignore[assignment]
    ties: Ties = DEFAULTS.ties,  # type: ignore[assignment]
    threshold: float = DEFAULTS.threshold,
    min_items: int = DEFAULTS.min_items,
    no_relevant: NoRelevant = DEFAULTS.no_relevant,  # type: ignore[assignment]
    max_grade: float | None = DEFAULTS.max_grade,
    items: Any = None,
    popularity: Any = None,
    gauc_weight: Any = "rows",
    tail_share: float = DEFAULTS.tail_share,
    tail_ties: str = DEFAULTS.tail_ties,
    item_features: Any = None,
    history: Any = None,
    cooccurrence: Any = None,
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
        Names from :data:`fastrank.METRICS` with an optional cutoff (``name@10``); no cutoff means
        the whole list. Each metric's definition and cutoffs: the README's metric tables (the
        registry, :mod:`fastrank.metrics.registry`). Beyond-accuracy metrics need ``items``.
    gain : {"linear", "exponential", "binary"} or dict
        DCG gain of a label: the label (as scikit-learn and trec_eval), ``2**label - 1``, 1 when
        ``label >= threshold`` (else 0), or a dict of label: gain (finite, >= 0; 0 gains 0 unless
        given), for DCG and NDCG; a label without a gain is refused.
    ties : {"average", "pessimistic", "optimistic"}
        Tied scores: every metric is averaged over all orders of the tie (scikit-learn's
        ``ignore_ties=False`` for DCG/NDCG; exact closed forms for the binary metrics), or the tie
        is ordered worst-first (labels ascending) or best-first (labels descending).
    threshold : float
        A row is relevant for the binary metrics (those that count relevant rows, AUC
        included) when ``label >= threshold``.
    min_items : int
        Users with fewer rows are skipped (NaN) for every metric. Default 2: one item has no ranking.
    no_relevant : {"zero", "skip"}
        Users with nothing to find, i.e. an ideal DCG of 0 (NDCG) or no relevant row (binary
        metrics), score 0 (as scikit-learn) or are skipped (NaN). DCG is never skipped. AUC
        skips users with a single class either way (counted in ``skipped_no_relevant``).
    max_grade : float, optional
        ERR's top of the relevance scale: a row's stop probability is (2^label - 1) / 2^max_grade
        (0 for a label <= 0); default: the largest label. A label above it is refused.
    items : array-like, shape (n_rows,), optional
        Item id of each row; needed by the beyond-accuracy metrics. The catalog is its distinct
        values.
    popularity : array-like, shape (n_rows,), optional
        Finite values >= 0 summed per item into its popularity; default each row counts 1, so an
        item's popularity is its share of the rows.
    gauc_weight : {"rows", "users", "positives"} or array-like, shape (n_rows,)
        GAUC's weight of a user: its rows (default: impressions, as DIN's paper), 1 (``"users"``:
        the plain mean of the users' AUC), its relevant rows (``"positives"``, RecBole's GAUC), or
        the sum of a weight per row (finite, >= 0) over its rows.
    tail_share : float
        the long-tail share's tail: the ``max(int(n x tail_share), 1)`` least popular of the catalog's n
        items (default 0.8: outside the most popular 20%; RecBole's TailPercentage: 0.1).
    tail_ties : {"head", "item"}
        Items tied with the tail's border: kept in the head (the tail may be smaller), or taken
        by item id ascending (exactly that many; RecBole's order).
    item_features : pandas.DataFrame or pyarrow.Table, optional
        One row per item: its id (column ``item``, else the first) and numeric columns or one
        list column, a vector compared by cosine; needed by the diversity metrics (with
        ``items``). An item without features is refused by name.
    history : pandas.DataFrame or pyarrow.Table, optional
        What each user had before (columns ``user`` and ``item``, e.g. the training
        interactions), what the diversity metrics compare each list with. Its items need
        features too.
    cooccurrence : pandas.DataFrame or pyarrow.Table, optional
        Instead of ``item_features``: interactions (columns ``user`` and ``item``, e.g. the
        training data) whose co-occurrence makes the item similarity, the cosine of two items'
        sets of users (Microsoft Recommenders' cosine co-occurrence); each pair counts once.
    parallel : bool
        Run groups on numba's thread pool; pass False inside a caller's own thread pool.

    Returns
    -------
    RankingResult
        Per-user values, means, counts of users evaluated and skipped, and for each cutoff of the
        ranking metrics the size of the score tie it splits.

    Notes
    -----
    Every metric is the expected value over the orders of tied scores (exact closed forms), or
    ``ties`` orders them. Cost per user: O(n + k log k) for rows in no particular order; O(n log
    n) for the metrics of the whole list; O(n) for AUC (a radix sort of each class).

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
        raise InputError(f"metrics: name at least one metric, e.g. {example()!r}")
    options = MetricOptions(
        threshold, ties, gain, min_items, no_relevant, max_grade, tail_share, tail_ties
    ).checked()
    check_order(specs, options.ties)

    needing_items = check_specs(specs, items is not None)

    groups = users if isinstance(users, Groups) else group_rows(users, parallel=parallel)
    max_label = _MAX_EXPONENTIAL_LABEL if options.gain == "exponential" else np.inf
    label_array = check_values(
        labels, "labels", groups, float32_ok=False, max_value=max_label, parallel=parallel
    )
    score_array = check_values(scores, "scores", groups, float32_ok=True, parallel=parallel)
    tail = (options.tail_share, options.tail_ties)
    items_catalog = (
        catalog(items, popularity, groups, parallel=parallel, tail=tail) if needing_items else None
    )
    similar = None
    if any(spec.metric.needs_features for spec in specs):
        spec = next(s for s in specs if s.metric.needs_features)
        similar = _similar(items, (item_features, cooccurrence), history, groups, spec)
    user_weights = None
    if any(spec.metric.family == WEIGHTED for spec in specs):
        relevant = groups.take(label_array) >= options.threshold
        user_weights = gauc_weights(gauc_weight, groups, parallel, relevant=relevant)
    return evaluate_grouped(
        groups,
        groups.take(label_array),
        groups.take(score_array),
        specs,
        options,
        parallel=parallel,
        items=items_catalog,
        user_weights=user_weights,
        similar=similar,
    )


def _similar(items: Any, sources: tuple[Any, Any], history: Any, groups: Groups, spec: MetricSpec) -> Similar:
    """The diversity family's inputs of :func:`ranking_metrics` (``sources``: item features and
    co-occurrence interactions, one of them; ``spec``: a metric that needs them), checked."""
    features, cooccurrence = sources
    if (features is None) == (cooccurrence is None):
        raise InputError(
            f"metrics: {spec} compares items; pass item_features= or cooccurrence= (one of them)"
        )
    if features is not None:
        vectors = item_vectors(_as_table(features, "item_features"), "item", "item_features")
    else:
        users, items_seen = _user_item_pairs(cooccurrence, "cooccurrence").columns()
        vectors = cooccurrence_vectors(
            users.to_numpy(zero_copy_only=False), items_seen.to_numpy(zero_copy_only=False), "cooccurrence"
        )
    rows = RowsOf(groups.take(to_numpy(items, "items")).__getitem__, vectors, "items")
    past = None if history is None else History.of(_user_item_pairs(history, "history"), vectors)
    return Similar.of(groups, rows, vectors, past)


def _user_item_pairs(data: Any, name: str) -> Pairs:
    """The (user, item) pairs of a table with columns ``user`` and ``item``, each once."""
    table = _as_table(data, name)
    for column in ("user", "item"):
        if column not in table.column_names:
            raise InputError(f"{name}: no column {column!r}; give (user, item) pairs as columns user, item")
    return Pairs.of(table.column("user"), table.column("item"), name)


def _as_table(data: Any, name: str) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise InputError(f"{name}: expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}")


def check_specs(specs: Sequence[MetricSpec], has_items: bool) -> list[MetricSpec]:
    """Refuse a spec without the cutoff its metric needs, or one that needs item ids when there
    are none; the specs that need item ids."""
    for spec in specs:
        if spec.metric.cutoff == REQUIRED and spec.k is None:
            raise InputError(f"metrics: {spec.name} needs a cutoff, e.g. '{spec.metric.example}'")
    needing_items = [spec for spec in specs if spec.metric.needs_items or spec.metric.needs_features]
    if needing_items and not has_items:
        raise InputError(f"metrics: {needing_items[0]} needs item ids; pass items= (one per row)")
    return needing_items


def _dedupe(specs: list[MetricSpec]) -> list[MetricSpec]:
    return list(dict.fromkeys(specs))


def evaluate_grouped(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    specs: list[MetricSpec],
    options: MetricOptions,
    *,
    parallel: bool,
    ranked: np.ndarray | None = None,
    map_denominator: str = "min",
    items: Catalog | None = None,
    user_weights: np.ndarray | None = None,
    judged: np.ndarray | None = None,
    similar: Similar | None = None,
) -> RankingResult:
    """Run the kernels on validated arrays already in group order, scored as ``options`` (checked)
    say.

    ``ranked`` (int64, one per group): only the first ``ranked[g]`` rows of group g are ranked;
    its other rows are relevant items a top-N run missed, counted in the ideal DCG and the
    relevant count only. ``map_denominator``: ``"min"`` divides AP@k by ``min(k, relevant)``,
    ``"relevant"`` by the relevant count (trec_eval, ranx). ``items``: the catalog of the
    beyond-accuracy metrics; ``user_weights``: the weight of each user in a weighted mean
    (default its rows); ``judged``: 1.0 for each row whose item is judged, -1.0 for one in the
    pool but not judged (a negative relevance), 0.0 for one outside the qrels (a run against
    qrels; default: every row is judged); ``similar``: the item vectors of the diversity family.
    """
    column = {spec: j for j, spec in enumerate(specs)}
    out = np.full((groups.n_groups, len(specs)), np.nan)
    cutoffs: tuple[int | None, ...] = ()
    straddle = np.zeros((groups.n_groups, 0), np.int64)
    # A weighted mean's per-user values are its part's; a derived metric needs its parts.
    needed = [MetricSpec(part, s.k) for s in specs for part in s.metric.parts if s.metric.family != JUDGED]
    everything = list(dict.fromkeys([*specs, *needed]))
    # Tables take the class family from the users' sorted scores; runs take a metric that has a
    # formula of the drivers (R-Precision, counting the relevant items a run missed) from there.
    by_class = [s for s in everything if s.metric.family == CLASSES and (ranked is None or s.metric.code < 0)]
    ranking = [s for s in everything if s.metric.code >= 0 and s not in by_class]
    values: dict[MetricSpec, np.ndarray] = {}
    if ranking:
        columns, straddle, cutoffs = _ranking_columns(
            groups, labels, scores, ranking, options, parallel=parallel, ranked=ranked,
            map_denominator=map_denominator,
        )  # fmt: skip
        values.update({spec: columns[:, j] for j, spec in enumerate(ranking)})
        graded = [spec for spec in ranking if spec.metric.family == RANKING and not spec.metric.binary]
        if graded and not isinstance(options.gain, str):  # gains given per label: DCG of the gains
            columns, _, _ = _ranking_columns(
                groups, _gains(labels, options.gain, groups), scores, graded,
                dataclasses.replace(options, gain="linear"), parallel=parallel, ranked=ranked,
                map_denominator=map_denominator,
            )  # fmt: skip
            values.update({spec: columns[:, j] for j, spec in enumerate(graded)})
    if by_class:
        tie, skip = TIE_CODES[options.ties], options.no_relevant == "skip"
        columns = class_metrics(
            groups, labels, scores, options.threshold, options.min_items, ties=tie, skip_no_relevant=skip,
            parallel=parallel,
        )  # fmt: skip
        values.update({spec: columns[:, spec.metric.column] for spec in by_class})
    cascade = [s for s in everything if s.metric.family == CASCADE]
    if cascade:
        values.update(
            _cascade_columns(groups, labels, scores, cascade, options, parallel=parallel, ranked=ranked)
        )
    by_judged = [s for s in everything if s.metric.family == JUDGED]
    if by_judged:
        flags = np.ones(len(labels)) if judged is None else judged
        if any(spec.metric.column >= 0 for spec in by_judged):
            asked = {spec.metric.column for spec in by_judged}
            columns = judged_metrics(
                groups, (labels, scores, flags), ranked, options.threshold, tie=TIE_CODES[options.ties],
                skip_no_relevant=options.no_relevant == "skip", parallel=parallel,
                wanted=(kernels.BPREF in asked, kernels.INFAP in asked),
            )  # fmt: skip
            values.update(
                {spec: columns[:, spec.metric.column] for spec in by_judged if spec.metric.column >= 0}
            )
        # The others are their part (a binary ranking metric) over the judged flags taken as labels,
        # or over the unjudged ones, combined with each user's ranked rows. At threshold 0.5 a
        # flag of 1 is judged and one of 0 or -1 (pooled, not judged) is not; 1 - flag the reverse.
        flag_options = dataclasses.replace(options, threshold=0.5, gain="linear", no_relevant="zero")
        n_ranked = groups.sizes if ranked is None else np.asarray(ranked)
        for over_unjudged in (False, True):
            shares = [s for s in by_judged if s.metric.column < 0 and s.metric.over_unjudged == over_unjudged]
            if shares:
                parts = [MetricSpec(spec.metric.parts[0], spec.k) for spec in shares]
                columns, _, _ = _ranking_columns(
                    groups, 1.0 - flags if over_unjudged else flags, scores, parts, flag_options,
                    parallel=parallel, ranked=ranked, map_denominator="min",
                )  # fmt: skip
                for j, spec in enumerate(shares):
                    combine = spec.metric.combine
                    values[spec] = (
                        columns[:, j] if combine is None else combine(columns[:, j], n_ranked, spec.k)
                    )
    interpolated = [s for s in everything if s.metric.family == INTERPOLATED]
    if interpolated:
        levels_of = {spec: ELEVEN_POINTS if spec.k is None else (spec.k,) for spec in interpolated}
        levels = sorted({level for wanted in levels_of.values() for level in wanted})
        columns = interpolated_precision(
            groups, labels, scores, ranked, np.array(levels) / 100, options.threshold,
            tie=TIE_CODES[options.ties], skip_no_relevant=options.no_relevant == "skip", parallel=parallel,
        )  # fmt: skip
        for spec, wanted in levels_of.items():
            values[spec] = columns[:, [levels.index(level) for level in wanted]].mean(axis=1)
    losses = [s for s in everything if s.metric.family in (ERROR, POOLED)]
    if losses:
        columns = error_metrics(
            groups, labels, scores, min_items=options.min_items,
            log_loss=any(spec.metric.column == kernels.LOG for spec in losses), parallel=parallel,
        )  # fmt: skip
        for spec in losses:
            combine = spec.metric.combine
            loss = columns[spec.metric.column]
            values[spec] = loss if combine is None else combine(loss)
    weights = {}
    for spec in specs:
        metric = spec.metric
        if metric.by_rows:  # the users' mean losses, weighed by their rows
            weights[str(spec)] = groups.sizes.astype(np.float64)
        if metric.family == DERIVED:
            values[spec] = metric.combine(*(values[MetricSpec(part, spec.k)] for part in metric.parts))
        elif metric.family == WEIGHTED:
            values[spec] = values[MetricSpec(metric.parts[0], spec.k)]
            weights[str(spec)] = groups.sizes.astype(np.float64) if user_weights is None else user_weights

    overall = {}
    listing = [spec for spec in specs if spec.metric.needs_items]
    if listing and items is None:
        raise InputError(f"metrics: {listing[0]} needs item ids")
    for k in dict.fromkeys(spec.k for spec in listing):
        asked = [spec.metric.column for spec in listing if spec.k == k and spec.metric.family == EXPOSURE]
        per_user, values_at_k = exposure_metrics(
            groups, labels, scores, items, int(k), columns=asked, tie=TIE_CODES[options.ties],
            min_items=options.min_items, parallel=parallel,
        )  # fmt: skip
        for spec in listing:
            if spec.k == k and spec.metric.family == EXPOSURE:
                values[spec] = per_user[:, spec.metric.column]
            elif spec.k == k and spec.metric.family == CATALOG:
                overall[str(spec)] = values_at_k[spec.name]
    diverse = [spec for spec in specs if spec.metric.needs_features]
    if diverse and similar is None:
        raise InputError(f"metrics: {diverse[0]} needs item vectors (item_features=)")
    for k in dict.fromkeys(spec.k for spec in diverse):
        at_k = [spec for spec in diverse if spec.k == k]
        per_user = diversity_metrics(
            groups, labels, scores, similar, int(k), columns=[spec.metric.column for spec in at_k],
            tie=TIE_CODES[options.ties], min_items=options.min_items, threshold=options.threshold,
            parallel=parallel,
        )  # fmt: skip
        values.update({spec: per_user[:, spec.metric.column] for spec in at_k})
    for spec in specs:
        if spec in values:
            out[:, column[spec]] = values[spec]
    return RankingResult(
        users=groups.keys,
        metrics=tuple(str(spec) for spec in specs),
        values=out,
        n_items=groups.sizes,
        cutoffs=cutoffs,
        tied_at_cutoff=straddle,
        min_items=options.min_items,
        weights=weights,
        overall=overall,
    )


def _gains(labels: np.ndarray, gains: tuple[tuple[float, float], ...], groups: Groups) -> np.ndarray:
    """Each label's gain from ``gains`` (label, gain) pairs; 0 gains 0 unless given; a label
    without a gain is refused, naming its user."""
    pairs = dict(gains)
    pairs.setdefault(0.0, 0.0)
    levels = np.array(sorted(pairs))
    where = np.clip(np.searchsorted(levels, labels), 0, len(levels) - 1)
    missing = np.flatnonzero(levels[where] != labels)
    if missing.size:
        row = int(missing[0])
        raise InputError(
            f"gain: label {labels[row]:g} of user {user_at(groups, row)!r} has no gain; give one for each "
            f"label (levels given: {', '.join(f'{level:g}' for level in levels)})"
        )
    return np.array([pairs[level] for level in levels])[where]


def _cascade_columns(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    specs: list[MetricSpec],
    options: MetricOptions,
    *,
    parallel: bool,
    ranked: np.ndarray | None,
) -> dict[MetricSpec, np.ndarray]:
    """The cascade family's per-user values (ERR at each of its cutoffs)."""
    largest = float(np.max(labels)) if len(labels) else 0.0
    max_grade = largest if options.max_grade is None else options.max_grade
    if largest > max_grade:
        raise InputError(
            f"labels: {largest:g} of user {user_at(groups, int(np.argmax(labels)))!r} is above "
            f"max_grade={max_grade:g}; ERR's stop probability (2^label - 1) / 2^max_grade would exceed 1"
        )
    ks = frozen(np.array([spec.k or 0 for spec in specs], np.int64))
    out = np.empty((groups.n_groups, len(specs)), np.float64)
    offsets = frozen(groups.offsets)
    rows = frozen(np.empty(0, np.int64) if ranked is None else np.ascontiguousarray(ranked, np.int64))
    data = (
        frozen(np.ascontiguousarray(labels, np.float64)),
        frozen(np.ascontiguousarray(scores, np.float64)),
    )
    tie = int(TIE_CODES[options.ties])
    run_chunks(
        lambda first, stop: kernels.grouped_err(first, stop, offsets, rows, data, ks, max_grade, tie, out),
        group_chunks(offsets, min(groups.n_groups, 4 * thread_count(parallel))),
        parallel,
    )
    too_small = groups.sizes < options.min_items
    out[too_small] = np.nan
    return {spec: out[:, j] for j, spec in enumerate(specs)}


def _ranking_columns(
    groups: Groups,
    labels: np.ndarray,
    scores: np.ndarray,
    specs: list[MetricSpec],
    options: MetricOptions,
    *,
    parallel: bool,
    ranked: np.ndarray | None,
    map_denominator: str,
) -> tuple[np.ndarray, np.ndarray, tuple[int | None, ...]]:
    """The ranking metrics' columns, the tie each cutoff splits, and the cutoffs."""
    offsets = groups.offsets
    cutoffs = tuple(dict.fromkeys(spec.k for spec in specs))
    metric_ids = np.array([spec.metric.code for spec in specs], np.int64)
    metric_ks = np.array([spec.k or 0 for spec in specs], np.int64)
    straddle_ks = np.array([k or 0 for k in cutoffs], np.int64)

    max_n = int(groups.sizes.max())
    full = any(spec.k is None and spec.metric.whole_list for spec in specs)
    deepest = max_n if full else min(max(spec.k or 1 for spec in specs), max_n)
    # scikit-learn's discount, computed the same way, so tie-averaged sums match it to the last bits.
    discount = 1.0 / (np.log(np.arange(deepest) + 2) / np.log(2))
    discount_cumsum = np.concatenate(([0.0], np.cumsum(discount)))

    # How deep each group is ranked: MRR finds its first relevant row without a ranking, so a
    # cutoff-free MRR does not make the ranking whole.
    kmax = max([1, *(spec.k or 0 for spec in specs), *(k or 0 for k in cutoffs)])
    need_ideal = any(spec.metric.ideal for spec in specs)
    need_relevant = any(spec.metric.binary for spec in specs)

    out = np.empty((groups.n_groups, len(specs)), np.float64)
    straddle = np.empty((groups.n_groups, len(cutoffs)), np.int64)
    o = kernels.RankOptions(
        full=bool(full), kmax=int(kmax), gain=int(GAIN_CODES.get(options.gain, kernels.LINEAR)),
        tie=int(TIE_CODES[options.ties]), threshold=float(options.threshold),
        min_items=int(options.min_items), skip_no_relevant=options.no_relevant == "skip",
        need_ideal=bool(need_ideal), need_relevant=bool(need_relevant),
        map_by_relevant=map_denominator == "relevant", scratch_size=int(deepest), max_items=max_n,
    )  # fmt: skip
    data = (frozen(labels), frozen(scores))
    plan = (frozen(metric_ids), frozen(metric_ks), frozen(straddle_ks))
    tables = (frozen(discount), frozen(discount_cumsum))
    offsets = frozen(offsets)

    def chunk(first: int, stop: int) -> None:
        if ranked is None:
            kernels.grouped_metrics(first, stop, offsets, data, plan, o, tables, out, straddle)
        else:  # a run: its own kernel, so tables never compile the run's paths
            rows = frozen(np.ascontiguousarray(ranked, np.int64))
            kernels.grouped_ranked_metrics(first, stop, offsets, rows, data, plan, o, tables, out, straddle)

    run_chunks(chunk, group_chunks(offsets, min(groups.n_groups, 4 * thread_count(parallel))), parallel)
    return out, straddle, cutoffs


def ndcg(
    users: Any,
    labels: Any,
    scores: Any,
    k: int | Sequence[int] | None = DEFAULT_K,
    *,
    gain: Gain = DEFAULTS.gain,  # type: ignore[assignment]
    ties: Ties = DEFAULTS.ties,  # type: ignore[assignment]
    min_items: int = DEFAULTS.min_items,
    no_relevant: NoRelevant = DEFAULTS.no_relevant,  # type: ignore[assignment]
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
