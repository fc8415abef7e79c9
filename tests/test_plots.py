from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from fastrank import InputError
from fastrank.compare.plots import plot_curve, plot_distributions, plot_scatter, save_all

pytest.importorskip("matplotlib")
mcollections = pytest.importorskip("matplotlib.collections")
mlines = pytest.importorskip("matplotlib.lines")
mcolors = pytest.importorskip("matplotlib.colors")

PNG = b"\x89PNG\r\n\x1a\n"
SOURCES = ["model", "video_watch_ratio_mean", "random"]
REFERENCE = "video_watch_ratio_mean"
N_USERS = 60


def make_per_user(sources=SOURCES, seed=0):
    """60 users x sources at ndcg@10 and ndcg@5 (standard) and ndcg@10 (notebook), some NaN and ties."""
    rng = np.random.default_rng(seed)
    frames = []
    for protocol, k in [("standard", 10), ("standard", 5), ("notebook", 10)]:
        for j, source in enumerate(sources):
            values = rng.beta(2 + j, 2, N_USERS)
            values[rng.choice(N_USERS, 6, replace=False)] = 0.0  # ties on the diagonal at 0
            values[rng.choice(N_USERS, 2 + j, replace=False)] = np.nan  # users skipped, per source
            frames.append(
                pd.DataFrame(
                    {
                        "user": np.arange(100, 100 + N_USERS),
                        "protocol": protocol,
                        "metric": "ndcg",
                        "k": k,
                        "source": source,
                        "value": values,
                        "n_items": rng.integers(10, 50, N_USERS),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def make_curve(sources=SOURCES):
    ks = np.arange(1, 51)
    frames = []
    for j, source in enumerate(sources):
        mean = 0.3 + 0.1 * j + 0.2 * np.log(ks) / np.log(50)
        frames.append(
            pd.DataFrame(
                {
                    "source": source,
                    "k": ks,
                    "mean": mean,
                    "low": mean - 0.03 - 0.001 * ks,
                    "high": mean + 0.04,
                }
            )
        )
    # rows in scrambled order: the plot must sort each source by k
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1).reset_index(drop=True)


def selected(per_user, source, k=10, protocol="standard"):
    rows = per_user[(per_user.source == source) & (per_user.k == k) & (per_user.protocol == protocol)]
    return dict(zip(rows.user, rows.value, strict=True))


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG)
    assert len(data) > 10_000


def assert_labelled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_legend() is not None


def test_distributions_one_series_per_source_with_its_mean(tmp_path):
    per_user = make_per_user()
    path = tmp_path / "distribution.png"
    fig = plot_distributions(per_user, path)
    assert_png(path)
    (ax,) = fig.axes
    assert_labelled(ax)
    assert ax.get_title() == "Per-user NDCG@10 by source (standard protocol)"
    assert ax.get_xlabel() == "NDCG@10 per user"
    assert ax.get_ylabel() == "users"
    texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(texts) == len(SOURCES)
    for text, source in zip(texts, SOURCES, strict=True):
        values = np.array(list(selected(per_user, source).values()))
        finite = values[~np.isnan(values)]
        assert text == f"{source} (mean {finite.mean():.3f}, {finite.size} users)"
    # one step histogram per source, each counting that source's non-NaN users
    assert len(ax.patches) == len(SOURCES)
    for patch, source in zip(ax.patches, SOURCES, strict=True):
        values = np.array(list(selected(per_user, source).values()))
        counts, _ = np.histogram(values[~np.isnan(values)], bins=np.linspace(0, 1, 21))
        heights = patch.get_xy()[1:-1:2, 1]  # the step outline visits each bin's top twice
        np.testing.assert_array_equal(heights, counts)


def test_distributions_of_values_beyond_one_use_their_range(tmp_path):
    per_user = make_per_user()
    per_user["value"] = per_user["value"] * 7.0
    per_user["metric"] = "dcg"
    fig = plot_distributions(per_user, tmp_path / "d.png", metric="dcg")
    (ax,) = fig.axes
    low, high = ax.get_xlim()
    assert low >= 0.0 and high > 1.0
    assert ax.get_xlabel() == "DCG@10 per user"


def test_scatter_one_panel_per_other_source_with_joined_values(tmp_path):
    per_user = make_per_user()
    path = tmp_path / "scatter.png"
    fig = plot_scatter(per_user, path, reference=REFERENCE)
    assert_png(path)
    others = [source for source in SOURCES if source != REFERENCE]
    assert len(fig.axes) == len(others)
    reference = selected(per_user, REFERENCE)
    for ax, source in zip(fig.axes, others, strict=True):
        assert_labelled(ax)
        assert REFERENCE in ax.get_xlabel() and "NDCG@10" in ax.get_xlabel()
        assert source in ax.get_ylabel() and "NDCG@10" in ax.get_ylabel()
        values = selected(per_user, source)
        expected = np.array(
            [
                (reference[user], values[user])
                for user in sorted(reference)
                if not np.isnan(reference[user]) and not np.isnan(values[user])
            ]
        )
        assert 0 < len(expected) < N_USERS  # NaN users were dropped
        (points,) = [c for c in ax.collections if isinstance(c, mcollections.PathCollection)]
        np.testing.assert_array_equal(np.asarray(points.get_offsets()), expected)
        (diagonal,) = [line for line in ax.lines if line.get_label() == "y = x"]
        assert isinstance(diagonal, mlines.Line2D) and diagonal.get_linestyle() == "--"
        np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
        above = int(np.sum(expected[:, 1] > expected[:, 0]))
        below = int(np.sum(expected[:, 1] < expected[:, 0]))
        on = len(expected) - above - below
        assert on > 0  # both 0 for some users
        assert ax.get_title() == f"{source} vs {REFERENCE}\n{above} users above, {below} below, {on} on y = x"


def test_scatter_needs_another_source_and_a_known_reference(tmp_path):
    only = make_per_user(sources=[REFERENCE])
    with pytest.raises(InputError, match=r"only the reference source 'video_watch_ratio_mean' is present"):
        plot_scatter(only, tmp_path / "s.png", reference=REFERENCE)
    with pytest.raises(InputError, match=r"reference: no source 'nope' .*; sources are: model, "):
        plot_scatter(make_per_user(), tmp_path / "s.png", reference="nope")
    assert list(tmp_path.iterdir()) == []


def test_curve_one_line_and_one_band_per_source(tmp_path):
    curve = make_curve()
    path = tmp_path / "curve.png"
    fig = plot_curve(curve, path)
    assert_png(path)
    (ax,) = fig.axes
    assert_labelled(ax)
    assert ax.get_title() == "Mean NDCG@k with 95% confidence intervals"
    assert ax.get_xlabel() == "k (cutoff)" and ax.get_ylabel() == "mean NDCG@k"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == SOURCES
    assert len(ax.lines) == len(SOURCES)
    bands = [c for c in ax.collections if isinstance(c, mcollections.PolyCollection)]
    assert len(bands) == len(SOURCES)
    for line, band, source in zip(ax.lines, bands, SOURCES, strict=True):
        rows = curve[curve.source == source].sort_values("k")
        assert line.get_label() == source
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 51))
        np.testing.assert_allclose(line.get_ydata(), rows["mean"])
        vertices = band.get_paths()[0].vertices
        assert vertices[:, 1].min() == pytest.approx(rows["low"].min())
        assert vertices[:, 1].max() == pytest.approx(rows["high"].max())
        assert band.get_alpha() == pytest.approx(0.2)
        np.testing.assert_allclose(band.get_facecolor()[0][:3], mcolors.to_rgb(line.get_color()))


def test_save_all_writes_three_pngs_into_a_new_nested_directory(tmp_path):
    directory = tmp_path / "a" / "b" / "plots"
    paths = save_all(make_per_user(), make_curve(), directory, reference=REFERENCE)
    assert paths == [
        directory / "distribution_ndcg@10.png",
        directory / "scatter_ndcg@10.png",
        directory / "curve.png",
    ]
    for path in paths:
        assert_png(path)
    # written atomically: nothing but the three files, no temporary left behind
    assert sorted(p.name for p in directory.iterdir()) == [
        "curve.png",
        "distribution_ndcg@10.png",
        "scatter_ndcg@10.png",
    ]


def test_unmatched_selection_names_what_is_available(tmp_path):
    with pytest.raises(InputError, match=r"no rows for protocol='standard' metric='ndcg' k=20; available: "):
        plot_distributions(make_per_user(), tmp_path / "d.png", k=20)
    with pytest.raises(InputError, match=r"per_user: no column 'value'"):
        plot_distributions(make_per_user().drop(columns="value"), tmp_path / "d.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        InputError, match=r'plots: matplotlib is not installed; add it with: pip install "fastrank\[plot\]"'
    ):
        plot_curve(make_curve(), tmp_path / "c.png")
    with pytest.raises(InputError, match=r'pip install "fastrank\[plot\]"'):
        save_all(make_per_user(), make_curve(), tmp_path / "out", reference=REFERENCE)
    assert list(tmp_path.iterdir()) == []


def test_save_all_draws_every_metric_and_k(tmp_path):
    per_user = make_per_user()
    precision = per_user[per_user.protocol == "standard"].assign(metric="precision")
    precision["value"] = np.round(precision["value"] * 10) / 10  # precision@k: steps of 1/10
    both = pd.concat([per_user, precision], ignore_index=True)
    pairs = [("ndcg", 5), ("precision", 10)]  # two metrics, two cutoffs
    paths = save_all(both, make_curve(), tmp_path, reference=REFERENCE, metrics=pairs)
    names = [f"{kind}_{m}@{k}.png" for m, k in pairs for kind in ("distribution", "scatter")]
    assert [p.name for p in paths] == [*names, "curve.png"]
    for path in paths:
        assert_png(path)


def test_values_on_a_lattice_get_one_bin_per_step_centred_on_it(tmp_path):
    values = np.array([0.0, 0.1, 0.1, 0.3, 0.7, 1.0])  # precision@10
    rows = pd.DataFrame({"user": range(6), "protocol": "standard", "metric": "precision", "k": 10,
                         "source": "a", "value": values, "n_items": 10})  # fmt: skip
    fig = plot_distributions(rows, tmp_path / "d.png", metric="precision")
    (patch,) = fig.axes[0].patches
    edges = np.unique(np.round(patch.get_path().vertices[:, 0], 9))
    want = np.round(np.arange(11 + 1) * 0.1 - 0.05, 9)  # 11 bins of 0.1, each centred on a step
    np.testing.assert_allclose(edges, want)
    counts, _ = np.histogram(values, bins=want)  # no value on an edge: each step in its own bin
    assert counts.tolist() == [1, 2, 0, 1, 0, 0, 0, 1, 0, 0, 1]
