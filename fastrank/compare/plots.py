"""PNG plots comparing score sources: per-user distributions, paired scatter, NDCG@k curves.

matplotlib is optional (``pip install 'fastrank[plot]'``) and imported only when a plot is drawn.
Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never through pyplot: no
GUI, no global figure registry, nothing to close. Every file is written atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..extras import require
from ..inputs.outputs import check_output_dir, write_atomic
from ..metrics.registry import DEFAULT, REGISTRY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PER_USER_COLUMNS = ("user", "protocol", "metric", "k", "source", "value")
CURVE_COLUMNS = ("source", "k", "mean", "low", "high")
DPI = 110
# Legends beside the axes, top-aligned: they never hide data, whatever the source names.
_OUTSIDE_RIGHT = {
    "loc": "upper left",
    "bbox_to_anchor": (1.01, 1.0),
    "fontsize": "small",
    "title_fontsize": "small",
}


def plot_distributions(
    per_user: pd.DataFrame,
    path: str | os.PathLike,
    *,
    metric: str = DEFAULT.name,
    k: int = 10,
    protocol: str = "standard",
) -> Figure:
    """Overlaid step histograms of the per-user ``metric@k``, one per source, saved as PNG.

    Bins are shared by all sources: one per step when the values lie on a lattice of at most 60
    steps (Precision@10: steps of 0.1), else 20 bins over [0, 1] when every value lies there (NDCG,
    ...), else 30 over the values' range. The y axis counts users; a dashed vertical
    line marks each source's mean, and the legend gives the source, its mean and its user count.
    NaN values (users skipped for this metric) are dropped per source.

    Raises
    ------
    InputError
        If matplotlib is missing, a column is missing or no row matches protocol, metric and k.
    """
    require_matplotlib()
    rows = _select(per_user, metric, k, protocol)
    sources = _sources(rows)
    label = _metric_label(metric, k)
    values = {source: _finite(rows.loc[rows["source"] == source, "value"]) for source in sources}
    bins = _bins(np.concatenate(list(values.values())))

    fig = _figure((9.5, 4.8))
    ax = fig.add_subplot()
    for i, source in enumerate(sources):
        colour = _colour(i)
        if values[source].size:
            mean = float(values[source].mean())
            text = f"{source} (mean {mean:.3f}, {values[source].size:,} users)"
            ax.axvline(mean, color=colour, linestyle="--", linewidth=1.2, alpha=0.8)
        else:
            text = f"{source} (no users)"
        ax.hist(values[source], bins=bins, histtype="step", linewidth=1.8, color=colour, label=text)
    ax.set_title(f"Per-user {label} by source ({protocol} protocol)")
    ax.set_xlabel(f"{label} per user")
    ax.set_ylabel("users")
    ax.set_xlim(bins[0], bins[-1])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="dashed line: mean", **_OUTSIDE_RIGHT)
    _save(fig, path)
    return fig


def plot_scatter(
    per_user: pd.DataFrame,
    path: str | os.PathLike,
    *,
    reference: str,
    metric: str = DEFAULT.name,
    k: int = 10,
    protocol: str = "standard",
) -> Figure:
    """Each source's per-user ``metric@k`` against ``reference``'s for the same user, saved as PNG.

    One square panel per source other than ``reference`` (at most three per row): a point per
    user evaluated by both (inner join on ``user``, NaN values dropped), x = reference, y = the
    source, and the dashed diagonal y = x. The panel title counts users above (the source did
    better), below and exactly on the diagonal (ties are common: both 0 or both 1).

    Raises
    ------
    InputError
        If matplotlib is missing, a column is missing, no row matches, ``reference`` is not a
        source, there is no other source, or a user appears twice for one source.
    """
    require_matplotlib()
    rows = _select(per_user, metric, k, protocol)
    sources = _sources(rows)
    if reference not in sources:
        raise InputError(
            f"reference: no source {reference!r} in per_user for {_where(metric, k, protocol)}; "
            f"sources are: {', '.join(sources)}"
        )
    others = [source for source in sources if source != reference]
    if not others:
        raise InputError(
            f"plot_scatter: only the reference source {reference!r} is present; "
            "a scatter needs at least one other source to compare with it"
        )
    label = _metric_label(metric, k)
    pairs = {source: _paired(rows, reference, source) for source in others}
    every = np.concatenate([pair.ravel() for pair in pairs.values()])
    low, high = _square_limits(every)

    ncols = min(len(others), 3)
    nrows = math.ceil(len(others) / ncols)
    fig = _figure((4.4 * ncols, 4.6 * nrows + 0.5))
    fig.suptitle(f"Per-user {label}, each source against {reference} ({protocol} protocol)")
    for i, source in enumerate(others):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        x, y = pairs[source][:, 0], pairs[source][:, 1]
        ax.scatter(
            x,
            y,
            s=12,
            alpha=_alpha(x.size),
            color=_colour(sources.index(source)),
            edgecolors="none",
            label=f"{x.size:,} users",
        )
        ax.plot([low, high], [low, high], linestyle="--", color="0.35", linewidth=1.2, label="y = x")
        above, below = int(np.count_nonzero(y > x)), int(np.count_nonzero(y < x))
        on = x.size - above - below
        ax.set_title(
            f"{source} vs {reference}\n{above:,} users above, {below:,} below, {on:,} on y = x",
            fontsize="medium",
        )
        ax.set_xlabel(f"{reference} {label}")
        ax.set_ylabel(f"{source} {label}")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small", markerscale=1.5)
    _save(fig, path)
    return fig


def plot_curve(curve: pd.DataFrame, path: str | os.PathLike) -> Figure:
    """Mean NDCG@k against k per source, with its 95% confidence interval shaded, saved as PNG.

    ``curve`` has columns ``source``, ``k``, ``mean``, ``low``, ``high`` (one row per source and
    cutoff, typically k = 1..50). Each source is a line (points sorted by k) and a band from
    ``low`` to ``high`` in the same colour; sources keep their order of first appearance.

    Raises
    ------
    InputError
        If matplotlib is missing, a column is missing or ``curve`` has no rows.
    """
    require_matplotlib()
    _require(curve, CURVE_COLUMNS, "curve")
    if curve.empty:
        raise InputError("curve: the table has no rows")
    sources = _sources(curve)

    fig = _figure((9.5, 4.8))
    ax = fig.add_subplot()
    for i, source in enumerate(sources):
        part = curve[curve["source"] == source].sort_values("k", kind="stable")
        ks = part["k"].to_numpy(np.float64)
        colour = _colour(i)
        ax.fill_between(
            ks, part["low"].to_numpy(np.float64), part["high"].to_numpy(np.float64), color=colour, alpha=0.2
        )
        ax.plot(
            ks,
            part["mean"].to_numpy(np.float64),
            color=colour,
            linewidth=1.8,
            marker="o",
            markersize=3,
            label=source,
        )
    ax.set_title(f"Mean {DEFAULT.label}@k with 95% confidence intervals")
    ax.set_xlabel("k (cutoff)")
    ax.set_ylabel(f"mean {DEFAULT.label}@k")
    ax.grid(alpha=0.3)
    ax.legend(title="band: 95% CI", **_OUTSIDE_RIGHT)
    _save(fig, path)
    return fig


def save_all(
    per_user: pd.DataFrame,
    curve: pd.DataFrame,
    directory: str | os.PathLike,
    *,
    reference: str,
    metrics: Sequence[tuple[str, int]] = ((DEFAULT.name, 10),),
) -> list[Path]:
    """Write, for each (metric, k) of ``metrics``, ``distribution_<metric>@<k>.png`` and
    ``scatter_<metric>@<k>.png``, then ``curve.png``, into ``directory``.

    The directory (and its parents) is created if needed. The per-user plots use the standard
    protocol; a source has the same colour in every plot when it appears in ``curve``.

    Returns
    -------
    list of pathlib.Path
        The files: each pair's distribution and scatter in the order of ``metrics``, then the curve.
    """
    require_matplotlib()
    Path(directory).mkdir(parents=True, exist_ok=True)
    paths = plot_files(directory, metrics)
    for (metric, k), distribution, scatter in zip(metrics, paths[0::2], paths[1::2], strict=False):
        plot_distributions(per_user, distribution, metric=metric, k=k)
        plot_scatter(per_user, scatter, reference=reference, metric=metric, k=k)
    plot_curve(_in_order_of(curve, per_user), paths[-1])
    return paths


def plot_files(directory: str | os.PathLike, metrics: Sequence[tuple[str, int | None]]) -> list[Path]:
    """The files :func:`save_all` writes: each (metric, k)'s distribution and scatter, then
    ``curve.png``."""
    folder = Path(directory)
    paths = []
    for metric, k in metrics:
        tag = metric if k is None else f"{metric}@{k}"
        paths += [folder / f"distribution_{tag}.png", folder / f"scatter_{tag}.png"]
    return [*paths, folder / "curve.png"]


def check_plot_dir(directory: str | os.PathLike) -> None:
    """Raise :class:`~fastrank.InputError` unless PNGs can be written into ``directory`` (which
    :func:`save_all` creates if needed): called before any work, so a run does not fail at its end."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"plot_dir: {folder} is a file, not a directory")
    existing = folder
    while not existing.exists():  # the nearest ancestor that exists is where creation starts
        existing = existing.parent
    check_output_dir(existing, "plot_dir")


def require_matplotlib() -> None:
    """Raise :class:`~fastrank.extras.MissingExtra` naming the ``plot`` extra when matplotlib is
    missing; called before any work, so a run does not fail at its end."""
    require("matplotlib", "plot", "plots")


def _figure(size: tuple[float, float]) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no GUI backend, no global figure list."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> None:
    write_atomic(path, lambda temp: fig.savefig(temp, format="png", dpi=DPI, bbox_inches="tight"))


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    for column in columns:
        if column not in frame.columns:
            raise InputError(
                f"{name}: no column {column!r}; columns are: {', '.join(str(c) for c in frame.columns)}"
            )


def _select(per_user: pd.DataFrame, metric: str, k: int | None, protocol: str) -> pd.DataFrame:
    """The rows of one (protocol, metric, k); InputError naming what is available if none."""
    _require(per_user, PER_USER_COLUMNS, "per_user")
    at_k = per_user["k"].isna() if k is None else per_user["k"] == k
    rows = per_user[(per_user["protocol"] == protocol) & (per_user["metric"] == metric) & at_k]
    if rows.empty:
        available = per_user[["protocol", "metric", "k"]].drop_duplicates().head(12)
        listed = ", ".join(f"{p}/{m}@{kk}" for p, m, kk in available.itertuples(index=False))
        raise InputError(
            f"per_user: no rows for {_where(metric, k, protocol)}; available: {listed or 'none'}"
        )
    return rows


def _where(metric: str, k: int, protocol: str) -> str:
    return f"protocol={protocol!r} metric={metric!r} k={k}"


def _sources(frame: pd.DataFrame) -> list[str]:
    """Source names in order of first appearance."""
    return [str(source) for source in pd.unique(frame["source"])]


def _finite(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(np.float64, na_value=np.nan)
    return array[np.isfinite(array)]


def _paired(rows: pd.DataFrame, reference: str, source: str) -> np.ndarray:
    """``(users, 2)`` array of (reference value, source value), users sorted, non-finite dropped."""
    sides = []
    for name in (reference, source):
        part = rows.loc[rows["source"] == name, ["user", "value"]]
        part = part[np.isfinite(part["value"].to_numpy(np.float64, na_value=np.nan))]
        duplicated = part["user"].duplicated()
        if duplicated.any():
            user = part["user"][duplicated].iloc[0]
            raise InputError(f"per_user: user {user!r} appears more than once for source {name!r}")
        sides.append(part)
    joined = sides[0].merge(sides[1], on="user", how="inner", suffixes=("_x", "_y"), sort=True)
    return joined[["value_x", "value_y"]].to_numpy(np.float64).reshape(-1, 2)


def _bins(values: np.ndarray) -> np.ndarray:
    # Values on a lattice (Precision@10 takes steps of 0.1) get one bin centred on each step, so
    # no value lands on a bin edge and no bin between two steps is left empty.
    distinct = np.unique(values)
    if 1 < distinct.size <= 60:
        step = float(np.diff(distinct).min())
        positions = (distinct - distinct[0]) / step
        if positions[-1] <= 60 and np.allclose(positions, np.round(positions)):
            return distinct[0] - step / 2 + step * np.arange(round(positions[-1]) + 2)
    if values.size == 0 or (values.min() >= 0.0 and values.max() <= 1.0):
        return np.linspace(0.0, 1.0, 21)
    return np.histogram_bin_edges(values, bins=30)


def _square_limits(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0 or (values.min() >= 0.0 and values.max() <= 1.0):
        low, high = 0.0, 1.0
    else:
        low, high = float(values.min()), float(values.max())
        if high == low:
            low, high = low - 0.5, high + 0.5
    pad = 0.03 * (high - low)
    return low - pad, high + pad


def _alpha(n: int) -> float:
    """Fainter points as they get more numerous, so dense regions still read as dense."""
    return float(np.clip(0.5 * math.sqrt(500 / max(n, 1)), 0.08, 0.5))


def _colour(index: int) -> str:
    return f"C{index % 10}"


def _metric_label(metric: str, k: int | None) -> str:
    name = REGISTRY[metric].label if metric in REGISTRY else metric
    return name if k is None else f"{name}@{k}"


def _in_order_of(curve: pd.DataFrame, per_user: pd.DataFrame) -> pd.DataFrame:
    """``curve`` with its sources in per_user's order (others after), so colours match across plots."""
    if "source" not in curve.columns or "source" not in per_user.columns:
        return curve
    order = {source: i for i, source in enumerate(_sources(per_user))}
    rank = (
        curve["source"].astype(str).replace(order).where(curve["source"].astype(str).isin(order), len(order))
    )
    return curve.iloc[np.argsort(rank.to_numpy(np.float64), kind="stable")]
