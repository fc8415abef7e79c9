"""The per-table pipeline every engine runs: a :class:`Plan` (what to read and compute, resolved
by :func:`fastrank.evaluate`), then :func:`score_table` on a table of whole users: group, check,
predict, per-user metrics. The API chooses an engine; the engines (in memory, streaming, Dask)
call :func:`score_table` and :func:`concat`. This module imports neither the API nor an engine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import kernels
from ..arrays.columns import (
    check_values,
    feature_matrix,
    item_column,
    numeric_column,
    user_column,
    weight_column,
)
from ..arrays.grouping import group_rows
from ..arrays.pairs import Pairs
from ..arrays.threads import even_bounds, frozen, run_chunks, thread_count
from ..errors import InputError
from ..metrics import protocols
from ..metrics.auc import gauc_weights
from ..metrics.beyond import (
    Catalog,
    ItemCounter,
    Listing,
    catalog,
    concat_listings,
    listed,
    listing_values,
)
from ..metrics.diversity import History, ItemVectors, RowsOf, Similar
from ..metrics.options import GAUC_WEIGHTS, MetricOptions
from ..metrics.registry import CATALOG, NONE, REGISTRY, TIE_CODES, WEIGHTED
from ..scoring import ModelOptions, check_features, load_scorer, predict

MODEL_SOURCE = "model"


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
    scoring: MetricOptions
    protocols: tuple[str, ...]
    model_options: ModelOptions
    gauc_weight: str = "rows"
    popularity_col: str | None = None
    pairs: tuple[tuple[str, int | None], ...] = ()
    exclude: Pairs | None = None  # (user, item) pairs left out of the table before anything is scored
    vectors: ItemVectors | None = None  # unit item vectors of the diversity metrics
    history: History | None = None  # each user's past items, for the diversity metrics

    @property
    def columns(self) -> list[str]:
        """Columns to read, each once."""
        keys = [self.user_col, self.label_col] + ([self.item_col] if self.item_col else [])
        extra = list(self.features) + list(self.baselines) + ([self.score_col] if self.score_col else [])
        extra += [c for c in (self.weight_col, self.popularity_col) if c]
        return list(dict.fromkeys(keys + extra))

    @property
    def weights_users(self) -> bool:
        """Whether a metric is a weighted mean of per-user values (each user's weight travels)."""
        return any(REGISTRY[m].family == WEIGHTED for m in self.metrics)

    @property
    def weight_col(self) -> str | None:
        """GAUC's weight column, if it has one."""
        return None if self.gauc_weight in GAUC_WEIGHTS else self.gauc_weight

    @property
    def standard_pairs(self) -> list[tuple[str, int | None]]:
        """(metric, k) of the standard protocol: ``pairs`` as resolved (see
        :func:`fastrank.metrics.registry.expand`), else each metric at every k, once without a cutoff for
        the metrics of the whole list."""
        if self.pairs:
            return list(self.pairs)
        return list(
            dict.fromkeys(
                (m, None) if REGISTRY[m].cutoff == NONE else (m, k) for m in self.metrics for k in self.ks
            )
        )

    @property
    def listing_pairs(self) -> list[tuple[str, int | None]]:
        """(metric, k) of the beyond-accuracy metrics, which look at every user's list."""
        if "standard" not in self.protocols or not self.item_col:
            return []
        return [(m, k) for m, k in self.standard_pairs if REGISTRY[m].needs_items]

    @property
    def listing_keys(self) -> list[tuple[int, str]]:
        """(k, source) of each top-k list the beyond-accuracy metrics look at (:attr:`Scored.listings`)."""
        ks = dict.fromkeys(int(k) for _, k in self.listing_pairs if k is not None)
        return [(k, source_name) for source_name in self.sources for k in ks]

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
                # A weighted mean keeps its users' values (the engines add up their weights).
                pairs = [(m, k) for m, k in self.standard_pairs if REGISTRY[m].family != CATALOG]
                keys += [("standard", m, k, source_name) for m, k in pairs]
            if "notebook" in self.protocols:
                for metric in ("ndcg_notebook", "ndcg_notebook_rounded"):
                    keys.append(("notebook", metric, protocols.NOTEBOOK_K, source_name))
        return keys


def load_plan_scorer(plan: Plan, notes: list[str], timings: dict[str, float]) -> Any:
    """The model ready to predict (None without one), its features checked against its input."""
    if plan.model is None:
        return None
    clock = time.perf_counter()
    options = plan.model_options
    scorer, fallback = load_scorer(plan.model, safe_mode=options.safe_mode, predictor=options.predictor)
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

    ``values`` maps (protocol, metric, k, source) to one float64 per user (NaN: not evaluated;
    ``k`` None for the metrics of the whole list; for a weighted mean, the user's value of the
    metric it weights);
    ``duplicates`` counts each user's rows repeating an item (None without an item column);
    ``gauc_weights`` is GAUC's weight of each user (None without GAUC); ``overall`` maps the keys
    of the metrics of all lists at once (catalog-wide) to (value, users counted); ``listings``
    maps (k, source) to what each user's top-k list holds, when the table is scored in parts over
    a shared catalog (the catalog-wide values come from their union: :func:`finish_listings`).
    """

    users: np.ndarray
    n_items: np.ndarray
    duplicates: np.ndarray | None
    values: dict[tuple[str, str, int | None, str], np.ndarray]
    n_rows: int
    gauc_weights: np.ndarray | None = None
    overall: dict[tuple[str, str, int | None, str], tuple[float, int]] = field(default_factory=dict)
    listings: dict[tuple[int, str], Listing] = field(default_factory=dict)
    excluded: int = 0
    excluded_relevant: int = 0


def concat(parts: Sequence[Scored]) -> Scored:
    """The parts' users one after the other; the parts must hold different users and no
    ``overall`` value (those need every user at once: :func:`~fastrank.api.options.resolve` keeps
    their metrics in memory)."""
    first = parts[0]
    if any(p.overall for p in parts):
        raise ValueError("concat: values over all users' lists cannot be combined from parts")
    return Scored(
        users=np.concatenate([p.users for p in parts]),
        n_items=np.concatenate([p.n_items for p in parts]),
        duplicates=None if first.duplicates is None else np.concatenate([p.duplicates for p in parts]),
        values={key: np.concatenate([p.values[key] for p in parts]) for key in first.values},
        n_rows=sum(p.n_rows for p in parts),
        gauc_weights=None if first.gauc_weights is None else np.concatenate([p.gauc_weights for p in parts]),
        listings={key: concat_listings([p.listings[key] for p in parts]) for key in first.listings},
        excluded=sum(p.excluded for p in parts),
        excluded_relevant=sum(p.excluded_relevant for p in parts),
    )


def finish_listings(scored: Scored, plan: Plan, items: Catalog | None) -> Scored:
    """``scored`` with the catalog-wide values of its users' joined lists (``items``: the shared
    catalog they were scored over; None: nothing to finish)."""
    if items is None:
        return scored
    overall = dict(scored.overall)
    for (k, source_name), listing in scored.listings.items():
        values = listing_values(listing, items)
        users = int(np.count_nonzero(listing.counts))
        for metric, at in plan.listing_pairs:
            if at == k and REGISTRY[metric].family == CATALOG:
                overall["standard", metric, k, source_name] = (values[metric], users)
    return dataclasses.replace(scored, overall=overall, listings={})


def table_catalog(source: Any, plan: Plan, batch_rows: int = 1 << 20) -> Catalog | None:
    """The catalog shared by the parts of a table scored in parts (None unless the plan has a
    beyond-accuracy metric): one pass over its item (and popularity) column, each item's rows and
    popularity summed over the parts."""
    if not plan.listing_pairs:
        return None
    columns = [plan.item_col] + ([plan.popularity_col] if plan.popularity_col else [])
    columns += [plan.user_col] if plan.exclude is not None else []
    counter = ItemCounter()
    first_row = 0
    for batch in source.batches(columns, batch_rows):
        table = pa.Table.from_batches([batch])
        if plan.exclude is not None:  # the catalog of the rows evaluated, as in memory
            held = plan.exclude.holds(table.column(plan.user_col), table.column(plan.item_col))
            table = table.filter(pa.array(~held))
        items = item_column(table, plan.item_col, plan.name, None)
        weights = np.ones(table.num_rows)
        if plan.popularity_col:
            weights = weight_column(table, plan.popularity_col, plan.name, first_row)
        counter.add(items, weights)
        first_row += table.num_rows
    if not counter.rows:
        left = "the table has no rows"
        if plan.exclude is not None:
            left = "every row is an excluded (user, item) pair; nothing is left"
        raise InputError(f"{plan.name}: {left}")
    tail = (plan.scoring.tail_share, plan.scoring.tail_ties)
    return counter.catalog(f"{plan.name}: column {plan.popularity_col!r}", tail)


def add_time(timings: dict[str, float] | None, stage: str, since: float) -> float:
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
    shared: Catalog | None = None,
) -> Scored:
    """Group, check, predict and evaluate one table holding whole users.

    ``table`` (pyarrow) has the plan's columns; ``scorer`` is the loaded model (None without one).
    ``shared``: the catalog shared by every part of a table scored in parts (:func:`table_catalog`);
    the beyond-accuracy metrics then leave their catalog-wide values to :func:`finish_listings`.
    ``name`` replaces the plan's in messages (e.g. a bucket file); ``parallel=False`` keeps every
    kernel on the calling thread, for callers that are themselves a thread pool (Dask workers).
    Stage times are added to ``timings``.
    """
    name = name or plan.name
    excluded = None
    if plan.exclude is not None and plan.item_col:
        held = plan.exclude.holds(table.column(plan.user_col), table.column(plan.item_col))
        if held.any():
            excluded = held
            relevant = _relevant_count(
                table.column(plan.label_col).filter(pa.array(held)), plan.scoring.threshold
            )
            table = table.filter(pa.array(~held))
            if table.num_rows == 0:  # a part of excluded pairs only: no user, its rows counted
                return _no_users(plan, shared is not None, int(held.sum()), relevant)
    try:
        if excluded is not None and scores is not None:
            scores = np.asarray(scores)[~excluded]
        scored = _score_rows(table, plan, scorer, scores, name, parallel, progress, timings, shared)
    except InputError as error:
        if excluded is None:
            raise
        kept = np.flatnonzero(~excluded)  # rows named as the table has them, excluded ones counted
        raise InputError(renumber_rows(str(error), lambda row: int(kept[row]))) from None
    if excluded is None:
        return scored
    return dataclasses.replace(scored, excluded=int(excluded.sum()), excluded_relevant=relevant)


def _no_users(plan: Plan, listing: bool, excluded: int, relevant: int) -> Scored:
    """The :class:`Scored` of a part without users (every row excluded), shaped as any other."""
    none, no_ids = np.empty(0), np.empty(0, np.int64)
    return Scored(
        np.empty(0, object),
        no_ids,
        no_ids if plan.item_col else None,
        {key: none for key in plan.value_keys},
        0,
        none if plan.weights_users else None,
        listings={key: Listing(no_ids, no_ids, none) for key in plan.listing_keys} if listing else {},
        excluded=excluded,
        excluded_relevant=relevant,
    )


def _relevant_count(labels: Any, threshold: float) -> int:
    """Labels >= ``threshold`` among ``labels`` (an arrow column; not numbers: 0, refused later)."""
    if not (pa.types.is_integer(labels.type) or pa.types.is_floating(labels.type)):
        return 0
    return int(pc.sum(pc.greater_equal(labels, threshold)).as_py() or 0)


_ROW = re.compile(r"\bat row (\d+)")


def renumber_rows(message: str, row_of: Any) -> str:
    """``message`` with each ``at row N`` naming row ``row_of(N)`` instead: a part's messages count
    rows from its own start (a stream's chunk, a table without its excluded rows), the user wants
    rows of the whole table."""
    return _ROW.sub(lambda m: f"at row {row_of(int(m.group(1)))}", message)


def _score_rows(
    table: Any, plan: Plan, scorer: Any, scores: np.ndarray | None, name: str, parallel: bool, progress: bool,
    timings: dict[str, float] | None, shared: Catalog | None,
) -> Scored:  # fmt: skip
    """:func:`score_table` once its excluded rows are left out."""
    clock = time.perf_counter()
    users = user_column(table, plan.user_col, name)
    groups = group_rows(users, parallel=parallel)
    labels = check_values(
        numeric_column(table, plan.label_col, name, users), f"{name}: column {plan.label_col!r}", groups,
        float32_ok=False, max_value=np.inf, parallel=parallel,
    )  # fmt: skip
    items = None
    duplicates = None
    exposure = None
    if plan.item_col:
        raw_items = item_column(table, plan.item_col, name, users)
        if "notebook" in plan.protocols:
            protocols.check_item_ids(raw_items, name, plan.item_col)
        if plan.listing_pairs and shared is not None:
            slots = shared.slots_of(raw_items)
            unknown = (slots < 0) | (slots >= len(shared.share))
            if unknown.any():
                row = int(np.argmax(unknown))
                raise InputError(
                    f"{name}: item {raw_items[row]!r} at row {row} is not in the catalog read first; the "
                    "table changed while it was read"
                )
            # Codes as the catalog counts them: slot + offset (the id itself for a dense range).
            exposure = dataclasses.replace(shared, codes=groups.take(slots + shared.offset))
        elif plan.listing_pairs:
            column = plan.popularity_col
            popularity = None if column is None else numeric_column(table, column, name, users)
            names = (f"{name}: column {plan.item_col!r}", f"{name}: column {column!r}")
            tail = (plan.scoring.tail_share, plan.scoring.tail_ties)
            exposure = catalog(raw_items, popularity, groups, parallel=parallel, names=names, tail=tail)
        if raw_items.dtype.kind in "iu":
            items = groups.take(raw_items)
        # Item ids coded once: the catalog's codes serve the duplicate count too.
        codes = items if exposure is None else exposure.codes
        if codes is None:
            codes = groups.take(pd.factorize(raw_items)[0])
        duplicates = duplicates_per_user(groups, codes, parallel)
    similar = None
    if plan.vectors is not None and "standard" in plan.protocols:
        grouped = groups.take(raw_items)
        rows = RowsOf(grouped.__getitem__, plan.vectors, f"{name}: column {plan.item_col!r}")
        similar = Similar.of(groups, rows, plan.vectors, plan.history)
    weights = None
    if plan.weights_users:
        weight = plan.gauc_weight
        if plan.weight_col:
            weight = numeric_column(table, plan.weight_col, name, users)
        relevant = groups.take(labels) >= plan.scoring.threshold
        weights = gauc_weights(
            weight, groups, parallel, name=f"{name}: column {plan.weight_col!r}", relevant=relevant
        )
    clock = add_time(timings, "group", clock)

    sources: dict[str, np.ndarray] = {}
    if scorer is not None:
        matrix = feature_matrix(table, plan.features, name, users)
        clock = add_time(timings, "features", clock)
        batch_size = plan.model_options.batch_size
        sources[MODEL_SOURCE] = predict(scorer, matrix, batch_size=batch_size, progress=progress)
        del matrix
        clock = add_time(timings, "predict", clock)
    if plan.has_scores:
        if plan.score_col:
            sources[plan.score_col] = numeric_column(table, plan.score_col, name, users)
        else:
            sources["scores"] = np.asarray(scores)
    for column in plan.baselines:
        sources[column] = numeric_column(table, column, name, users)

    label_order = groups.take(labels)
    values: dict[tuple[str, str, int | None, str], np.ndarray] = {}
    overall: dict[tuple[str, str, int | None, str], tuple[float, int]] = {}
    listings: dict[tuple[int, str], Listing] = {}
    in_parts = [] if shared is None else plan.listing_pairs  # scored here, finished over every part
    pairs = [pair for pair in plan.standard_pairs if pair not in in_parts]
    for source_name, column_values in sources.items():
        in_table = source_name in table.column_names
        where = f"{name}: column {source_name!r}" if in_table else f"{name}: {source_name}"
        # Every source as float64 (exact for float32 model scores): one compiled kernel serves all.
        checked = check_values(column_values, where, groups, float32_ok=False, parallel=parallel)
        checked = groups.take(checked)
        if in_parts:
            assert exposure is not None
            for k in dict.fromkeys(int(at) for _, at in in_parts if at is not None):
                asked = [REGISTRY[metric].column for metric, at in in_parts if at == k]
                per_user, listings[k, source_name] = listed(
                    groups, label_order, checked, exposure, k, tie=TIE_CODES[plan.scoring.ties],
                    min_items=plan.scoring.min_items, parallel=parallel, columns=asked,
                )  # fmt: skip
                for metric, at in in_parts:
                    if at == k and REGISTRY[metric].family != CATALOG:
                        values["standard", metric, k, source_name] = per_user[:, REGISTRY[metric].column]
        if "standard" in plan.protocols and pairs:
            result = protocols.standard(
                groups, label_order, checked, pairs, plan.scoring,
                items=exposure, user_weights=weights, similar=similar, parallel=parallel,
            )  # fmt: skip
            evaluated = result.evaluated
            for j, column in enumerate(result.metrics):
                metric, _, cut = column.partition("@")
                key = ("standard", metric, int(cut) if cut else None, source_name)
                if column in result.overall:
                    overall[key] = (result.overall[column], evaluated[column])
                else:
                    values[key] = result.values[:, j]
        if "notebook" in plan.protocols:
            assert items is not None
            for metric, rounded in (("ndcg_notebook", False), ("ndcg_notebook_rounded", True)):
                result = protocols.notebook(
                    groups, items, label_order, checked, rounded=rounded, parallel=parallel
                )
                values["notebook", metric, protocols.NOTEBOOK_K, source_name] = result.values[:, 0]
    add_time(timings, "metrics", clock)
    # Values in the plan's order, whichever path computed them.
    values = {key: values[key] for key in dict.fromkeys([*plan.value_keys, *values]) if key in values}
    return Scored(groups.keys, groups.sizes, duplicates, values, table.num_rows, weights, overall, listings)


def duplicates_per_user(groups: Any, items: np.ndarray, parallel: bool) -> np.ndarray:
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
