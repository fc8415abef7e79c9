"""Every option of an evaluation in one frozen :class:`Options`, and :func:`resolve`, the one place
they are checked: into a :class:`~fastrank.engines.plan.Plan` (what to read and compute, shipped to
every engine) and the engine's own settings. Runs against held-out truth have theirs in
:class:`RunOptions`, checked by :func:`check_run`.

:func:`fastrank.evaluate`, :func:`fastrank.compare`, the CLI and ``RankingMetrics`` all build an
``Options``; a new option is a field here and a check in :func:`resolve`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays.checks import check_choice, check_delimiter, check_int
from ..engines import check_settings
from ..engines.plan import MODEL_SOURCE, Plan
from ..engines.protocol import EngineSettings
from ..errors import InputError
from ..inputs.columns import RUN, RUN_SCORE, TABLE, Columns
from ..inputs.pairs import read_pairs
from ..inputs.registry import check_format
from ..inputs.tables import TableSource
from ..kernels import SERENDIPITY
from ..metrics import protocols
from ..metrics.diversity import History, ItemVectors, cooccurrence_vectors, item_vectors
from ..metrics.options import DEFAULT_K, DEFAULTS, GAUC_WEIGHTS, MetricOptions
from ..metrics.registry import (
    DEFAULT,
    EXPOSURE,
    REGISTRY,
    RUN_TIES,
    WEIGHTED,
    MetricSpec,
    check_order,
    example,
    expand,
    names,
)
from ..scoring import MODEL_DEFAULTS, PREDICTORS, ModelOptions

ENGINE_DEFAULTS = EngineSettings()


@dataclass(frozen=True)
class Options:
    """The options of :func:`fastrank.evaluate`, with its defaults and meanings, as given: nothing
    is checked until :func:`resolve`. ``replace(**changes)`` gives a copy with some changed."""

    model: Any = None
    scores: Any = None
    baselines: Sequence[str] = ()
    user_col: str = TABLE.user_col
    item_col: str | None = TABLE.item_col
    label_col: str = TABLE.label_col
    features: Sequence[str] | None = None
    k: int | Sequence[int] = DEFAULT_K
    metrics: str | Sequence[str] = DEFAULT.name
    threshold: float = DEFAULTS.threshold
    ties: str = DEFAULTS.ties
    gain: str = DEFAULTS.gain
    max_grade: float | None = DEFAULTS.max_grade
    gauc_weight: str = "rows"
    popularity_col: str | None = None
    tail_share: float = DEFAULTS.tail_share
    tail_ties: str = DEFAULTS.tail_ties
    exclude: Any = None
    item_features: Any = None
    history: Any = None
    cooccurrence: Any = None
    protocol: str | Sequence[str] = "standard"
    min_items: int = DEFAULTS.min_items
    batch_size: int = MODEL_DEFAULTS.batch_size
    safe_mode: bool = MODEL_DEFAULTS.safe_mode
    predictor: str = MODEL_DEFAULTS.predictor
    progress: bool = ENGINE_DEFAULTS.progress
    engine: str = ENGINE_DEFAULTS.engine
    chunk_rows: int | None = ENGINE_DEFAULTS.chunk_rows
    scheduler: Any = ENGINE_DEFAULTS.scheduler
    workers: int | None = ENGINE_DEFAULTS.workers
    allow_shared_columns: bool = False
    delimiter: str | None = None
    input_format: str | None = None

    def replace(self, **changes: Any) -> Options:
        return dataclasses.replace(self, **changes)

    @property
    def columns(self) -> Columns:
        """The user, item and label columns, as one record."""
        return Columns(self.user_col, self.item_col, self.label_col)

    @property
    def metric_options(self) -> MetricOptions:
        """How every metric is scored, as one record (tables: users without anything relevant
        score 0)."""
        return MetricOptions(
            self.threshold, self.ties, self.gain, self.min_items, max_grade=self.max_grade,
            tail_share=self.tail_share, tail_ties=self.tail_ties,
        )  # fmt: skip

    @property
    def model_options(self) -> ModelOptions:
        """How the model is loaded and run, as one record."""
        return ModelOptions(self.batch_size, self.safe_mode, self.predictor)

    @property
    def engine_settings(self) -> EngineSettings:
        """Where the work runs, as one record for the engines."""
        return EngineSettings(self.engine, self.chunk_rows, self.scheduler, self.workers, self.progress)


@dataclass(frozen=True)
class Resolved:
    """Checked options: the :class:`~fastrank.engines.plan.Plan` and where it runs (the engine
    may still be ``"auto"``: :func:`fastrank.engines.choose` decides from the input's size)."""

    plan: Plan
    settings: EngineSettings

    @property
    def engine(self) -> str:
        """The engine named (or ``"auto"``)."""
        return self.settings.engine

    @property
    def chunk_rows(self) -> int | None:
        return self.settings.chunk_rows

    @property
    def scheduler(self) -> Any:
        return self.settings.scheduler

    @property
    def workers(self) -> int | None:
        return self.settings.workers


def as_list(value: Any) -> list[Any]:
    """``value`` as a list: None is empty, a string or an int is one item."""
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)):
        return [value]
    return list(value)


def check_model_options(options: ModelOptions) -> ModelOptions:
    """``options`` checked: the batch size an int >= 1, the predictor one of :data:`PREDICTORS`."""
    if options.predictor not in PREDICTORS:
        raise InputError(
            f"predictor: must be one of {', '.join(PREDICTORS)}. Got {options.predictor!r} instead."
        )
    return dataclasses.replace(options, batch_size=check_int(options.batch_size, "batch_size"))


def resolve(options: Options, source: TableSource) -> Resolved:
    """Check every option against each other and ``source``'s schema, before any row is read.

    Raises :class:`~fastrank.InputError` naming the option (as a Python argument) at fault.
    """
    o = options
    ks, pairs = _check_specs(o.k, o.metrics)
    metric_names = list(dict.fromkeys(spec.name for spec in pairs))
    scoring = o.metric_options.checked()
    check_order(pairs, scoring.ties)
    model = check_model_options(o.model_options)
    wanted = as_list(o.protocol)
    for name in wanted:
        if name not in protocols.PROTOCOLS:
            raise InputError(
                f"protocol: unknown protocol {name!r}; choose from {', '.join(protocols.PROTOCOLS)}"
            )
    if not wanted:
        raise InputError("protocol: name at least one protocol")
    settings = check_settings(o.engine_settings)
    check_delimiter(o.delimiter)
    baselines = as_list(o.baselines)
    if o.model is None and o.scores is None and not baselines:
        raise InputError(
            "nothing to evaluate: give a model (model=), a scores column (scores=) or a baseline column "
            "(baselines=)"
        )
    score_col = o.scores if isinstance(o.scores, str) else None
    names = [MODEL_SOURCE] if o.model is not None else []
    names += [score_col or "scores"] if o.scores is not None else []
    names += baselines
    repeated = sorted({one for one in names if names.count(one) > 1})
    if repeated:
        raise InputError(f"source {repeated[0]!r} is given twice; each score source needs its own name")
    roles = [(o.user_col, "user column", "user_col=")]
    roles += [(o.item_col, "item column", "item_col=")] if o.item_col else []
    roles += [(o.label_col, "label column", "label_col=")]
    roles += [(score_col, "score column", "scores=")] if score_col else []
    roles += [(column, "score column", "baselines=") for column in baselines]
    if o.model is not None and o.features is not None:
        roles += [(column, "feature column", "features=") for column in o.features]
    weighted = any(REGISTRY[name].family == WEIGHTED for name in metric_names)
    if weighted and isinstance(o.gauc_weight, str) and o.gauc_weight not in GAUC_WEIGHTS:
        roles.append((o.gauc_weight, "weight column", "gauc_weight="))
    if o.popularity_col is not None and any(REGISTRY[name].needs_items for name in metric_names):
        roles.append((o.popularity_col, "popularity column", "popularity_col="))
    source.require_roles(roles)
    features: list[str] = []
    if o.model is not None:
        if o.features is None:
            skip = {o.user_col, o.label_col, o.item_col, score_col}
            features = [c for c in source.column_names if c not in skip]
        else:
            features = list(o.features)
        if not features:
            raise InputError(f"{source.name}: no feature columns left for the model")
    score_cols = [score_col, *baselines]
    _check_roles(o.user_col, o.item_col, o.label_col, score_cols, features, o.allow_shared_columns)
    if "notebook" in wanted and not o.item_col:
        raise InputError("the notebook protocol needs an item column (item_col)")
    _check_metric_columns(o, metric_names)
    excluded = None
    if o.exclude is not None:
        if not o.item_col:
            raise InputError("exclude= leaves out (user, item) pairs; it needs an item column (item_col=)")
        excluded = read_pairs(o.exclude, o.user_col, o.item_col, delimiter=o.delimiter)
    vectors, history = read_similarity(o, [REGISTRY[name] for name in metric_names])
    plan = Plan(
        name=source.name, user_col=o.user_col, item_col=o.item_col, label_col=o.label_col,
        score_col=score_col, has_scores=o.scores is not None, baselines=tuple(baselines),
        features=tuple(features), model=o.model, ks=tuple(ks), metrics=tuple(metric_names),
        pairs=tuple((spec.name, spec.k) for spec in pairs), scoring=scoring, protocols=tuple(wanted),
        model_options=model, gauc_weight=o.gauc_weight, popularity_col=o.popularity_col, exclude=excluded,
        vectors=vectors, history=history,
    )  # fmt: skip
    return Resolved(plan, settings)


def read_similarity(o: Any, metrics: list[Any]) -> tuple[ItemVectors | None, History | None]:
    """The item vectors (``o.item_features``, or ``o.cooccurrence``'s) and the users' history
    (``o.history``, its items' vectors found once) of the diversity metrics among ``metrics``;
    refused without them, or given without such a metric."""
    diverse = [metric for metric in metrics if metric.needs_features]
    for option in ("item_features", "history", "cooccurrence"):
        if getattr(o, option) is not None and not diverse:
            raise InputError(
                f"{option}= is for the diversity metrics ({', '.join(names(lambda m: m.needs_features))}); "
                "add one to the metrics or leave it out"
            )
    if not diverse:
        return None, None
    if not o.item_col:
        raise InputError(f"metrics: {diverse[0].name} needs an item column (item_col=)")
    if (o.item_features is None) == (o.cooccurrence is None):
        raise InputError(
            f"metrics: {diverse[0].name} compares items; pass item_features= or cooccurrence= (one of them)"
        )
    if o.item_features is not None:
        source = TableSource(o.item_features, delimiter=o.delimiter)
        name = source.name if source.path is not None else "item_features"
        vectors = item_vectors(source.read(source.column_names), o.item_col, name)
    else:
        pairs = read_pairs(o.cooccurrence, o.user_col, o.item_col, delimiter=o.delimiter, role="cooccurrence")
        users, items = (ids.to_numpy(zero_copy_only=False) for ids in pairs.columns())
        vectors = cooccurrence_vectors(users, items, pairs.name)
    history = None
    if o.history is not None:
        pairs = read_pairs(o.history, o.user_col, o.item_col, delimiter=o.delimiter, role="history")
        history = History.of(pairs, vectors)
    else:
        needing = [metric.name for metric in diverse if metric.column == SERENDIPITY]
        if needing:
            raise InputError(
                f"metrics: {needing[0]} compares each list with the user's history; pass history="
            )
    return vectors, history


def _check_metric_columns(o: Options, metrics: list[str]) -> None:
    """GAUC's weight and the beyond-accuracy metrics' item and popularity columns."""
    exposure = [name for name in metrics if REGISTRY[name].needs_items]
    if not isinstance(o.gauc_weight, str) or not o.gauc_weight:
        raise InputError(
            f"The 'gauc_weight' parameter must be one of {', '.join(map(repr, GAUC_WEIGHTS))} or a column "
            f"name. Got {o.gauc_weight!r} instead."
        )
    weighted = [REGISTRY[name] for name in names(lambda metric: metric.family == WEIGHTED)]
    if o.gauc_weight != "rows" and not {metric.name for metric in weighted} & set(metrics):
        labels = " and ".join(metric.label for metric in weighted)
        asked = " or ".join(repr(metric.name) for metric in weighted)
        raise InputError(f"gauc_weight= weights {labels}; add {asked} to the metrics or leave it out")
    if o.popularity_col is not None:
        if not exposure:
            raise InputError(
                f"popularity_col= is for the beyond-accuracy metrics ({', '.join(names(_listing))}); add one "
                "to the metrics or leave it out"
            )
    if exposure and not o.item_col:
        raise InputError(f"metrics: {exposure[0]} needs an item column (item_col=)")


def _listing(metric: Any) -> bool:
    return metric.needs_items


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


@dataclass(frozen=True)
class RunOptions:
    """The options of :func:`fastrank.evaluate_run`, with its defaults, as given: checked by
    :func:`check_run`."""

    k: int | Sequence[int] = DEFAULT_K
    metrics: str | Sequence[str] = DEFAULT.name
    user_col: str = RUN.user_col
    item_col: str = RUN.item_col
    score_col: str = RUN_SCORE
    rank_col: str | None = None
    label_col: str = RUN.label_col
    threshold: float = DEFAULTS.threshold
    ties: str = DEFAULTS.ties
    gain: str = DEFAULTS.gain
    max_grade: float | None = DEFAULTS.max_grade
    tail_share: float = DEFAULTS.tail_share
    tail_ties: str = DEFAULTS.tail_ties
    catalog: Any = None
    popularity: Any = None
    popularity_col: str | None = None
    exclude: Any = None
    item_features: Any = None
    history: Any = None
    cooccurrence: Any = None
    map_denominator: str = "min"
    empty_run: str = "zero"
    depth: int | None = None
    judged_only: bool = False
    duplicates: str = "refuse"
    delimiter: str | None = None
    input_format: str | None = None

    def replace(self, **changes: Any) -> RunOptions:
        return dataclasses.replace(self, **changes)

    @property
    def metric_options(self) -> MetricOptions:
        """How every metric is scored, as one record: every truth user counts (one item is
        still a list to rank), with nothing relevant it scores 0."""
        return MetricOptions(
            self.threshold, self.ties, self.gain, min_items=1, max_grade=self.max_grade,
            tail_share=self.tail_share, tail_ties=self.tail_ties,
        )  # fmt: skip


def _check_specs(k: Any, metrics: Any) -> tuple[list[int], list[MetricSpec]]:
    """The cutoffs ``k``, and the (metric, cutoff) pairs of ``metrics`` at each; at least one of
    each."""
    ks = [check_int(one, "k") for one in as_list(k)]
    if not ks:
        raise InputError("The 'k' parameter must name at least one cutoff. Got an empty list instead.")
    if not isinstance(metrics, (str, Sequence)):
        raise InputError(
            f"The 'metrics' parameter must be a name or a list of names. Got {metrics!r} instead."
        )
    specs = expand(as_list(metrics), ks)
    if not specs:
        raise InputError(f"metrics: name at least one metric, e.g. {example(None)!r}")
    return ks, specs


def _check_run_items(o: RunOptions, specs: list[MetricSpec]) -> None:
    """The beyond-accuracy metrics of runs: popularity for those that weigh items by it, and
    catalog=, popularity= and popularity_col= only with a metric that reads them."""
    listing = [spec for spec in specs if spec.metric.needs_items]
    by_popularity = [spec for spec in listing if spec.metric.family == EXPOSURE]
    if by_popularity and o.popularity is None:
        raise InputError(
            f"metrics: {by_popularity[0]} weighs a run's items by their popularity; pass popularity= (a "
            "table of interactions, e.g. the training data, whose rows per item are its popularity)"
        )
    if o.popularity_col is not None and o.popularity is None:
        raise InputError("popularity_col= names a column of the popularity table; pass popularity= too")
    for option in ("catalog", "popularity"):
        if getattr(o, option) is not None and not listing:
            raise InputError(
                f"{option}= is for the beyond-accuracy metrics ({', '.join(names(_listing))}); add one to "
                "the metrics or leave it out"
            )


def check_run(options: RunOptions) -> tuple[list[MetricSpec], MetricOptions]:
    """The metric specs (each metric at every k) and how they are scored; raises on a bad option."""
    o = options
    _, specs = _check_specs(o.k, o.metrics)
    for spec in specs:
        if not spec.metric.for_runs:
            raise InputError(
                f"metrics: {spec.name} is for tables of scored rows (fastrank.evaluate); a top-N run "
                "has no scores for the items it left out"
            )
    scoring = o.metric_options.checked(RUN_TIES)
    check_order(specs, scoring.ties)
    _check_run_items(o, specs)
    check_choice(o.map_denominator, "map_denominator", ("min", "relevant"))
    check_choice(o.empty_run, "empty_run", ("zero", "skip"))
    if o.depth is not None:
        check_int(o.depth, "depth")
    if not isinstance(o.judged_only, (bool, np.bool_)):
        raise InputError(f"The 'judged_only' parameter must be True or False. Got {o.judged_only!r} instead.")
    check_choice(o.duplicates, "duplicates", ("refuse", "first"))
    check_delimiter(o.delimiter)
    check_format(o.input_format)
    columns = [o.user_col, o.item_col, o.label_col, o.score_col] + ([o.rank_col] if o.rank_col else [])
    for column in columns:
        if not isinstance(column, str) or not column:
            raise InputError(f"column names must be non-empty strings. Got {column!r} instead.")
    ranked_by = o.rank_col or o.score_col
    if len({o.user_col, o.item_col, o.label_col}) < 3 or len({o.user_col, o.item_col, ranked_by}) < 3:
        raise InputError(
            "user_col=, item_col= and label_col= (or score_col= / rank_col=) must be different columns"
        )
    return specs, scoring
