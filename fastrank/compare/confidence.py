"""``compare``: which source ranks better, by how much, for which users, and how sure that is.

Built on :func:`fastrank.evaluate` (standard protocol) and :mod:`fastrank.compare.stats`: user-level
bootstrap intervals for every metric, k and source, and paired comparisons of each source with a
reference, optionally per slice of users.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..api.evaluate import DEMO_BASELINE, evaluate_options
from ..api.options import Options, RunOptions, as_list
from ..api.results import Evaluation
from ..arrays.checks import check_int, check_number
from ..errors import InputError
from ..inputs.formats import open_input
from ..inputs.outputs import check_not_input, input_paths
from ..inputs.registry import run_format
from ..metrics.options import DEFAULT_K
from ..metrics.registry import DEFAULT, REGISTRY, expand, parse_metric
from .stats import bootstrap_intervals, check_options, holm, paired

ALL_USERS = "all users"
PAIR_COLUMNS = ["slice", "metric", "k", "source", "other", "mean_diff", "p_randomization", "users"]
OVERALL_COLUMNS = ["metric", "k", "source", "value", "users"]
ACTIVITY = "activity"
CURVE_KS = tuple(range(1, 51))


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found.

    Attributes
    ----------
    intervals : pandas.DataFrame
        ``slice``, ``metric``, ``k``, ``source``, ``mean``, ``low``, ``high``, ``users``.
    comparisons : pandas.DataFrame
        ``slice``, ``metric``, ``k``, ``source``, ``reference``, ``mean_diff``, ``low``, ``high``,
        ``p_randomization``, ``p_ttest`` (Holm-adjusted within each slice, metric and k when more
        than one source is compared with the reference), ``p_randomization_at_floor`` (no
        resample was as extreme as the observed difference, so the p-value is the test's
        resolution, ``2 / (n_resamples + 1)`` before adjustment, and the true one may be smaller),
        ``effect_size``, ``wins``, ``ties``, ``losses``, ``users``, and ``mde``, the minimum
        detectable effect: the smallest true mean difference the paired t-test at alpha = 1 -
        ``confidence`` would detect with 80% power on these users (so a difference that is not
        significant reads with how small a difference the data could have seen).
    reference : str
        The source every other source is compared with.
    evaluation : Evaluation
        The underlying evaluation (per-user values, counts, timings).
    plots : list of Path
        PNG files written (``plot_dir``).
    pairs : pandas.DataFrame
        ``slice``, ``metric``, ``k``, ``source``, ``other``, ``mean_diff`` (source - other),
        ``p_randomization`` (Holm-adjusted over every pair of sources within each slice, metric
        and k), ``users``: every pair of sources, for the marks of :meth:`render`.
    overall : pandas.DataFrame
        ``metric``, ``k``, ``source``, ``value``, ``users``: the metrics that are not means of
        per-user values (a weighted mean, or one number for all lists at once), so have no interval
        or paired test.
    """

    intervals: pd.DataFrame
    comparisons: pd.DataFrame
    reference: str
    evaluation: Evaluation
    confidence: float
    plots: list[Path] = field(default_factory=list)
    overall: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OVERALL_COLUMNS))
    n_resamples: int = 0
    pairs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PAIR_COLUMNS))

    def gate(self, metric: str, margin: float, *, slice_name: str = ALL_USERS) -> Gate:
        """Non-inferiority of every source against the reference on ``metric`` (``"name@k"``):
        a source fails when the lower end of its paired difference's interval (a one-sided bound
        at level (1 + confidence) / 2, 97.5% for 0.95) is below ``-margin``, i.e. the data cannot
        rule out that it is worse than the reference by more than ``margin``. Refused in one line
        when the comparison has no such metric or a source shares no user with the reference."""
        return check_gate(self, metric, margin, slice_name)

    def to_html(self, title: str = "fastrank comparison") -> str:
        """The whole comparison as one self-contained HTML page: counts, intervals, the paired
        comparisons with their minimum detectable effects, the values without an interval,
        the notes, and the plots written (``plot_dir``) inline as base64 PNG; no script and
        nothing fetched from elsewhere."""
        from .report import html_report

        return html_report(self, title)

    def _repr_html_(self) -> str:  # a notebook shows the table with its marks
        return self.render("html")

    def render(self, fmt: str = "markdown", alpha: float | None = None) -> str:
        """One row per source (per slice when sliced), one column per metric@k, as ``"csv"``,
        ``"markdown"``, ``"latex"`` or ``"html"`` (a fragment; :meth:`to_html` is the whole page):
        each mean, the best of each column in bold (the highest; the lowest for the error
        metrics), and after each mean the letters of the sources it beats significantly (each
        source is named with its letter): the paired sign-flip test of every pair of sources
        (:attr:`pairs`), Holm-adjusted over the pairs, at ``alpha`` (default 1 - confidence). A
        footnote names the test, alpha, the resamples and the users."""
        from .render import comparison_table

        return comparison_table(self, fmt, 1.0 - self.confidence if alpha is None else alpha)

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """The tables as JSON-ready records (NaN as None): intervals, comparisons, the values of
        the metrics without an interval (``overall``), and the tests of every pair of sources."""
        return {
            "intervals": _records(self.intervals),
            "comparisons": _records(self.comparisons),
            "overall": _records(self.overall),
            "pairs": _records(self.pairs),
        }


@dataclass(frozen=True)
class Gate:
    """The outcome of :meth:`Comparison.gate`: the rows of the comparisons it looked at, and
    which sources fail (``failing``, a subset of ``rows``)."""

    metric: str
    margin: float
    confidence: float
    rows: pd.DataFrame
    failing: pd.DataFrame

    @property
    def passed(self) -> bool:
        """No source is worse than the reference by more than the margin (as far as the data says)."""
        return self.failing.empty

    def lines(self) -> list[str]:
        """One line per failing source: the source, the metric, its difference and interval."""
        return [
            f"gate: {row.source!r} may be worse than {row.reference!r} by more than {self.margin:g} on "
            f"{self.metric}: difference {row.mean_diff:+.4f}, {self.confidence:.0%} interval "
            f"[{row.low:+.4f}, {row.high:+.4f}] over {row.users:,} users (minimum detectable effect "
            f"{row.mde:.4f})"
            for row in self.failing.itertuples()
        ]


def check_gate(comparison: Comparison, metric: str, margin: Any, slice_name: str = ALL_USERS) -> Gate:
    """:meth:`Comparison.gate`, checked."""
    spec = parse_metric(metric)
    margin = check_number(margin, "margin")
    if margin < 0:
        raise InputError(f"The 'margin' parameter must be >= 0. Got {margin!r} instead.")
    table = comparison.comparisons
    k = table["k"].map(lambda value: None if value is None or value != value else int(value))
    rows = table[(table["slice"] == slice_name) & (table["metric"] == spec.name) & (k == spec.k)]
    if rows.empty:
        compared = sorted({f"{m}@{one}" if one == one and one is not None else m
                           for m, one in zip(table["metric"], table["k"], strict=True)})  # fmt: skip
        raise InputError(
            f"gate: no paired comparison of {spec} with {comparison.reference!r} (compared: "
            f"{', '.join(compared) or 'nothing; give a second source'}); name a metric@k it has"
        )
    empty = rows[rows["users"] == 0]
    if not empty.empty:
        raise InputError(
            f"gate: {empty['source'].iloc[0]!r} and {comparison.reference!r} share no user with a value "
            f"of {spec}"
        )
    return Gate(str(spec), margin, comparison.confidence, rows, rows[rows["low"] < -margin])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            value = value.item() if isinstance(value, np.generic) else value
            clean[key] = None if isinstance(value, float) and np.isnan(value) else value
        out.append(clean)
    return out


@dataclass(frozen=True)
class Resampling:
    """The options of the confidence step, each default declared once, checked (when made)
    before any evaluation work: user-level bootstrap resamples (the sign-flip test draws as
    many), the seed, the intervals' level and method, and where plots go (None: none)."""

    n_resamples: int = 10_000
    seed: int = 0
    confidence: float = 0.95
    ci_method: str = "percentile"
    plot_dir: str | Path | None = None

    def __post_init__(self) -> None:
        check_options(self.n_resamples, self.seed, self.confidence, self.ci_method)
        if self.plot_dir is not None:
            from .plots import check_plot_dir, require_matplotlib

            require_matplotlib()  # before the work, not after it
            check_plot_dir(self.plot_dir)

    def check_plots_apart(self, ks: list[int], metrics: list[str], *inputs: Any) -> None:
        """Refuse, before any work, plot files that would be written over one of ``inputs``."""
        if self.plot_dir is not None:
            from .plots import plot_files

            pairs = [(spec.name, spec.k) for spec in expand(metrics, ks) if spec.metric.per_user]
            check_not_input(plot_files(self.plot_dir, pairs), input_paths(*inputs), "plot_dir=")

    def cutoffs(self, k: Any, metrics: Any) -> tuple[list[int], list[str], list[int], list[str]]:
        """The cutoffs and metrics reported, and those to evaluate (plots need NDCG@1..50)."""
        ks = [check_int(one, "k") for one in as_list(k)]
        names = [str(one) for one in as_list(metrics)]
        if self.plot_dir is None:
            return ks, names, ks, names
        return ks, names, sorted(set(ks) | set(CURVE_KS)), list(dict.fromkeys([*names, DEFAULT.name]))


RESAMPLING = Resampling()
"""The confidence step's defaults."""


def compare(
    data: Any = None,
    model: Any = None,
    *,
    reference: str | None = None,
    n_resamples: int = RESAMPLING.n_resamples,
    seed: int = RESAMPLING.seed,
    confidence: float = RESAMPLING.confidence,
    ci_method: str = RESAMPLING.ci_method,
    slice_by: str | None = None,
    plot_dir: str | Path | None = None,
    k: int | Sequence[int] = DEFAULT_K,
    **evaluate_kwargs: Any,
) -> Comparison:
    """Evaluate every source like :func:`fastrank.evaluate`, then attach confidence.

    Parameters
    ----------
    data, model, k, **evaluate_kwargs
        As :func:`fastrank.evaluate` (standard protocol; ``metrics`` too, each at every k). No data:
        the built-in demo.
    reference : str, optional
        The source the others are compared with; default the first baseline, else the first
        source.
    n_resamples, seed, confidence, ci_method
        User-level bootstrap: resamples (default 10,000), seed (same seed, same numbers), level,
        ``"percentile"`` or ``"bca"``. The sign-flip test uses as many resamples.
    slice_by : str, optional
        A user-level column (constant within each user), or ``"activity"``: users bucketed by
        their number of rows into quartiles. Every metric and comparison is reported per slice,
        after the row for all users.
    plot_dir : path, optional
        Write a distribution and a scatter PNG for every metric and k, and ``curve.png``, there
        (needs matplotlib; see :func:`fastrank.compare.plots.save_all`).
    """
    if "protocol" in evaluate_kwargs:
        raise InputError("compare uses the standard protocol; drop 'protocol'")
    options = Options(model=model, k=k, **evaluate_kwargs)
    return compare_options(
        data, options, reference=reference, n_resamples=n_resamples, seed=seed, confidence=confidence,
        ci_method=ci_method, slice_by=slice_by, plot_dir=plot_dir,
    )  # fmt: skip


def compare_options(
    data: Any,
    options: Options,
    *,
    reference: str | None = None,
    n_resamples: int = RESAMPLING.n_resamples,
    seed: int = RESAMPLING.seed,
    confidence: float = RESAMPLING.confidence,
    ci_method: str = RESAMPLING.ci_method,
    slice_by: str | None = None,
    plot_dir: str | Path | None = None,
) -> Comparison:
    """:func:`compare` with the evaluation's options in one :class:`~fastrank.api.options.Options`
    (its ``protocol`` is ignored: comparisons use the standard protocol)."""
    resampling = Resampling(n_resamples, seed, confidence, ci_method, plot_dir)
    ks, metrics, eval_ks, eval_metrics = resampling.cutoffs(options.k, options.metrics)
    if isinstance(data, (str, os.PathLike)):
        data = open_input(data)  # read once: the slices read it again
    resampling.check_plots_apart(ks, metrics, data, options.model)
    options = options.replace(k=eval_ks, metrics=eval_metrics, protocol="standard")
    evaluation = evaluate_options(data, options)
    baselines = as_list(options.baselines)
    default = baselines[0] if baselines else (DEMO_BASELINE if data is None else None)
    slices = (slice_by, data, options)
    another = "a model (model=) or another baseline (baselines=)"
    return _with_confidence(evaluation, ks, metrics, reference or default, resampling, slices, another)


def compare_runs(
    run: Any,
    truth: Any,
    *,
    reference: str | None = None,
    n_resamples: int = RESAMPLING.n_resamples,
    seed: int = RESAMPLING.seed,
    confidence: float = RESAMPLING.confidence,
    ci_method: str = RESAMPLING.ci_method,
    slice_by: str | None = None,
    plot_dir: str | Path | None = None,
    k: int | Sequence[int] = DEFAULT_K,
    **run_kwargs: Any,
) -> Comparison:
    """Evaluate runs against one truth like :func:`fastrank.evaluate_run`, then attach confidence
    as :func:`compare` does: user-level intervals and paired tests of each run against
    ``reference`` (default: the first run). ``slice_by`` names a user-level column of the truth
    table, or ``"activity"`` (quartiles of the users' truth rows)."""
    from ..api.runs import evaluate_run_options, open_inputs, run_sources

    resampling = Resampling(n_resamples, seed, confidence, ci_method, plot_dir)
    options = RunOptions(k=k, **run_kwargs)
    ks, metrics, eval_ks, eval_metrics = resampling.cutoffs(options.k, options.metrics)
    sources, truth = open_inputs(run_sources(run), truth)  # read once: the slices read the truth again
    truth_format = run_format(truth, options.input_format)[0]
    if slice_by not in (None, ACTIVITY) and truth_format is not None and not truth_format.table:
        raise InputError(
            f"slice_by={slice_by!r}: {truth.name} is a TREC qrels file (fields qid iter docno rel), with no "
            f"column {slice_by!r}; slice by 'activity', or give the truth as a table with that column"
        )
    resampling.check_plots_apart(ks, metrics, [source for _, source in sources], truth)
    evaluation = evaluate_run_options(dict(sources), truth, options.replace(k=eval_ks, metrics=eval_metrics))
    slices = (slice_by, truth, options)
    return _with_confidence(evaluation, ks, metrics, reference, resampling, slices, "another run")


def _with_confidence(
    evaluation: Evaluation, ks: list[int], metrics: list[str], reference: str | None, resampling: Resampling,
    slicing: tuple[str | None, Any, Any], another: str,
) -> Comparison:  # fmt: skip
    """Intervals for every source, and paired comparisons with ``reference`` (default: the first
    source), per slice of users (``slicing``: slice_by, the table its column is read from, and
    the options that read it: its user column, delimiter and input format;
    user column). ``another`` says how to add a source, in the note for a single source."""
    n_resamples, seed, confidence = resampling.n_resamples, resampling.seed, resampling.confidence
    ci_method, plot_dir = resampling.ci_method, resampling.plot_dir
    slice_by, data, reading = slicing
    per_user = evaluation.per_user[evaluation.per_user.protocol == "standard"]
    sources = list(dict.fromkeys(evaluation.summary["source"]))
    if reference is None:
        reference = sources[0]
    if reference not in sources:
        raise InputError(f"reference: {reference!r} is not a source; the sources are: {', '.join(sources)}")
    if len(sources) == 1:
        evaluation.notes.append(
            f"compare: {reference!r} is the only source, so there is nothing to compare it with; "
            f"add {another} for paired comparisons"
        )

    pairs = [(spec.name, spec.k) for spec in expand(metrics, ks)]
    without = [f"{m}@{k_one}" if k_one else m for m, k_one in pairs if not REGISTRY[m].per_user]
    if without:
        evaluation.notes.append(
            f"compare: no interval or paired test for {', '.join(without)}: "
            + "not means of per-user values (a weighted mean, or one number for all lists at once); "
            + "their values are listed without one (Comparison.overall)"
        )
    summary = evaluation.summary
    is_overall = [(m, None if pd.isna(k) else int(k)) in set(pairs) and not REGISTRY[m].per_user
                  for m, k in zip(summary.metric, summary.k, strict=True)]  # fmt: skip
    overall = summary[is_overall].rename(columns={"mean": "value"})[OVERALL_COLUMNS].reset_index(drop=True)
    pairs = [(m, k_one) for m, k_one in pairs if REGISTRY[m].per_user]
    users = per_user[per_user.source == sources[0]].drop_duplicates("user")[["user", "n_items"]]
    slices = _slices(users, slice_by, data, reading) if pairs else []
    options = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence, "method": ci_method}
    interval_rows, comparison_rows, pair_rows = [], [], []
    for metric, k_one in pairs:
        matrix = _matrix(per_user, metric, k_one, sources, users["user"])
        _check_evaluated(matrix, sources, metric if k_one is None else f"{metric}@{k_one}")
        for slice_name, mask in slices:
            block = matrix[mask]
            mean, low, high = bootstrap_intervals(block, **options)
            for j, source in enumerate(sources):
                interval_rows.append(
                    {"slice": slice_name, "metric": metric, "k": k_one, "source": source, "mean": mean[j],
                     "low": low[j], "high": high[j], "users": int((~np.isnan(block[:, j])).sum())}
                )  # fmt: skip
            ref = block[:, sources.index(reference)]
            family = []
            for j, source in enumerate(sources):
                if source == reference:
                    continue
                result = paired(block[:, j], ref, **options)
                family.append({"slice": slice_name, "metric": metric, "k": k_one, "source": source,
                               "reference": reference, **result.__dict__})  # fmt: skip
            if len(family) > 1:  # more than two sources: correct for the multiple comparisons
                for key in ("p_randomization", "p_ttest"):
                    adjusted = holm(np.array([row[key] for row in family]))
                    for row, value in zip(family, adjusted, strict=True):
                        row[key] = float(value)
            comparison_rows.extend(family)
            pair_rows.extend(_every_pair(block, sources, {"slice": slice_name, "metric": metric, "k": k_one},
                                         options))  # fmt: skip
    intervals = pd.DataFrame(
        interval_rows, columns=["slice", "metric", "k", "source", "mean", "low", "high", "users"]
    )
    columns = ["slice", "metric", "k", "source", "reference", "mean_diff", "low", "high", "p_randomization",
               "p_randomization_at_floor", "p_ttest", "effect_size", "wins", "ties", "losses",
               "users", "mde"]  # fmt: skip
    comparisons = pd.DataFrame(comparison_rows, columns=columns)
    pairs_table = pd.DataFrame(pair_rows, columns=PAIR_COLUMNS)
    for frame, rows in ((intervals, interval_rows), (comparisons, comparison_rows), (pairs_table, pair_rows)):
        if any(row["k"] is None for row in rows):  # ints and None, not floats and NaN
            frame["k"] = pd.Series([row["k"] for row in rows], dtype=object)
    plots: list[Path] = []
    if plot_dir is not None:
        from .plots import save_all

        curve_matrix = np.column_stack(
            [_matrix(per_user, DEFAULT.name, one, sources, users["user"]) for one in CURVE_KS]
        )
        mean, low, high = bootstrap_intervals(curve_matrix, **options)
        curve = pd.DataFrame({"k": np.repeat(CURVE_KS, len(sources)), "source": sources * len(CURVE_KS)})
        curve["mean"], curve["low"], curve["high"] = mean, low, high
        wanted = set(pairs)
        shown = per_user[
            [
                (m, None if pd.isna(k) else int(k)) in wanted
                for m, k in zip(per_user.metric, per_user.k, strict=True)
            ]
        ]
        plots = save_all(shown, curve, plot_dir, reference=reference, metrics=pairs)
    return Comparison(
        intervals, comparisons, reference, evaluation, confidence, plots, overall, n_resamples, pairs_table
    )


def _every_pair(block: np.ndarray, sources: list[str], key: dict[str, Any], options: dict[str, Any]) -> list:
    """The paired sign-flip test of every pair of sources (columns of ``block``), its p-values
    Holm-adjusted over the pairs: rows of :attr:`Comparison.pairs` (``key``: slice, metric, k)."""
    rows = []
    for a in range(len(sources)):
        for b in range(a + 1, len(sources)):
            result = paired(block[:, a], block[:, b], **options)
            rows.append({**key, "source": sources[a], "other": sources[b], "mean_diff": result.mean_diff,
                         "p_randomization": result.p_randomization, "users": result.users})  # fmt: skip
    if len(rows) > 1:
        for row, value in zip(rows, holm(np.array([row["p_randomization"] for row in rows])), strict=True):
            row["p_randomization"] = float(value)
    return rows


def _check_evaluated(matrix: np.ndarray, sources: list[str], metric: str) -> None:
    """Refuse to compare a source that has no user evaluated: its interval and tests would be
    empty, printed as if they were results."""
    for j, source in enumerate(sources):
        if np.isnan(matrix[:, j]).all():
            raise InputError(
                f"compare: no user has a value of {metric} for {source!r} (each was left out: fewer than "
                "min_items= rows, a single class for AUC, or no recommendations with empty_run='skip'); "
                "there is nothing to compare"
            )


def _matrix(
    per_user: pd.DataFrame, metric: str, k: int | None, sources: list[str], users: pd.Series
) -> np.ndarray:
    """Users x sources values of metric@k, rows in ``users`` order (NaN where a user was excluded)."""
    rows = per_user[(per_user.metric == metric) & (per_user.k.isna() if k is None else per_user.k == k)]
    table = rows.pivot(index="user", columns="source", values="value")
    return table.reindex(index=users.to_numpy(), columns=sources).to_numpy(np.float64)


def _slices(
    users: pd.DataFrame, slice_by: str | None, data: Any, reading: Any
) -> list[tuple[str, np.ndarray]]:
    everyone = np.ones(len(users), bool)
    if slice_by is None:
        return [(ALL_USERS, everyone)]
    if slice_by == ACTIVITY:
        n_items = users["n_items"].to_numpy()
        edges = np.quantile(n_items, [0.25, 0.5, 0.75])
        bucket = np.searchsorted(edges, n_items, side="left")  # quartile 0..3, ties go low
        out = [(ALL_USERS, everyone)]
        for b in range(4):
            mask = bucket == b
            if mask.any():
                low, high = int(n_items[mask].min()), int(n_items[mask].max())
                out.append((f"activity Q{b + 1} ({low}-{high} rows)", mask))
        return out
    values = _user_column(slice_by, users["user"], data, reading)
    out = [(ALL_USERS, everyone)]
    for value in pd.unique(values):
        out.append((f"{slice_by}={value}", values == value))
    return out


def _user_column(column: str, users: pd.Series, data: Any, reading: Any) -> np.ndarray:
    """One value of ``column`` per user, in ``users`` order; raises if it varies within a user."""
    from ..demo import demo_table_path
    from ..inputs.tables import TableSource

    source = TableSource(
        demo_table_path() if data is None else data,
        delimiter=reading.delimiter,
        input_format=reading.input_format,
    )
    user_col = reading.user_col
    table = source.read([user_col, column]).to_pandas()
    if table[column].isna().any():
        row = int(np.flatnonzero(table[column].isna().to_numpy())[0])
        raise InputError(f"{source.name}: slice column {column!r} is empty at row {row}")
    distinct = table.groupby(user_col)[column].nunique()
    varying = distinct[distinct > 1]
    if len(varying):
        raise InputError(
            f"{source.name}: slice column {column!r} is not constant within user {varying.index[0]!r}; "
            "slices need one value per user"
        )
    return table.groupby(user_col)[column].first().reindex(users.to_numpy()).to_numpy()
