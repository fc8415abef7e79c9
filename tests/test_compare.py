"""compare(): intervals and paired tests per slice, on score columns (no TensorFlow here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import fastrank
from fastrank.compare.confidence import ALL_USERS, compare
from fastrank.compare.stats import holm
from fastrank.demo import make_demo_table


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    table = make_demo_table(n_users=60, n_videos=90, seed=9).to_pandas()
    rng = np.random.default_rng(1)
    table["copy"] = table["video_watch_ratio_mean"]
    table["noisy"] = table["video_watch_ratio_mean"] + rng.normal(0, 2.0, len(table))
    table["oracle"] = table["watch_ratio"] + rng.normal(0, 0.05, len(table))
    users = table["user_id"].unique()
    table["region"] = table["user_id"].map(
        dict(zip(users, np.resize(["north", "south", "west"], len(users)), strict=True))
    )
    return table


OPTIONS = {"n_resamples": 2000, "seed": 3}


@pytest.mark.parametrize("slice_by", ["activity", "region"])
def test_slice_means_weighted_by_users_give_the_overall_mean(frame, slice_by):
    result = compare(
        frame, baselines=["video_watch_ratio_mean", "noisy"], slice_by=slice_by, k=[5, 10], **OPTIONS
    )
    iv = result.intervals
    for _, rows in iv.groupby(["k", "source"]):
        overall = rows[rows.slice == ALL_USERS].iloc[0]
        parts = rows[rows.slice != ALL_USERS]
        assert len(parts) >= 2
        assert parts.users.sum() == overall.users
        assert (parts["mean"] * parts.users).sum() / parts.users.sum() == pytest.approx(
            overall["mean"], abs=1e-12
        )
    comparisons = result.comparisons
    assert set(comparisons.slice) == set(iv.slice)


def test_same_seed_same_numbers(frame):
    a = compare(frame, baselines=["video_watch_ratio_mean", "noisy"], **OPTIONS)
    b = compare(frame, baselines=["video_watch_ratio_mean", "noisy"], **OPTIONS)
    pd.testing.assert_frame_equal(a.intervals, b.intervals)
    pd.testing.assert_frame_equal(a.comparisons, b.comparisons)
    c = compare(frame, baselines=["video_watch_ratio_mean", "noisy"], n_resamples=2000, seed=4)
    assert not np.array_equal(a.intervals["low"], c.intervals["low"])


def test_identical_source_and_clearly_better_source(frame):
    result = compare(frame, baselines=["video_watch_ratio_mean", "copy", "oracle"], **OPTIONS)
    rows = result.comparisons.set_index("source")
    same = rows.loc["copy"]
    assert same.p_randomization == 1.0 and same.p_ttest == 1.0
    assert same.mean_diff == same.low == same.high == 0.0
    better = rows.loc["oracle"]
    assert better.p_randomization < 0.01 and better.p_ttest < 0.01 and better.low > 0


def test_holm_over_several_sources(frame):
    sources = ["video_watch_ratio_mean", "noisy", "copy", "user_feat_watch_ratio_mean"]
    result = compare(frame, baselines=sources, **OPTIONS)
    per_user = result.evaluation.per_user.pivot(index="user", columns="source", values="value")
    raw = [sps.ttest_rel(per_user[s], per_user["video_watch_ratio_mean"]).pvalue for s in sources[1:]]
    raw = np.nan_to_num(raw, nan=1.0)  # scipy gives NaN for identical columns; fastrank gives 1
    got = result.comparisons.set_index("source").loc[sources[1:], "p_ttest"].to_numpy()
    np.testing.assert_allclose(got, holm(np.array(raw)), rtol=1e-9)


def test_reference_defaults_to_the_first_baseline_and_must_be_a_source(frame):
    result = compare(frame, scores="noisy", baselines=["video_watch_ratio_mean"], **OPTIONS)
    assert result.reference == "video_watch_ratio_mean"
    assert list(result.comparisons.source) == ["noisy"]
    with pytest.raises(fastrank.InputError, match=r"reference: 'nope' is not a source"):
        compare(frame, baselines=["video_watch_ratio_mean"], reference="nope", **OPTIONS)


def test_slice_column_must_be_constant_within_a_user(frame):
    with pytest.raises(fastrank.InputError, match=r"slice column 'video_id' is not constant within user"):
        compare(frame, baselines=["video_watch_ratio_mean", "noisy"], slice_by="video_id", **OPTIONS)


def test_plots_are_written(frame, tmp_path):
    pytest.importorskip("matplotlib")
    result = compare(
        frame, baselines=["video_watch_ratio_mean", "noisy"], plot_dir=tmp_path / "plots", **OPTIONS
    )
    assert sorted(p.name for p in result.plots) == [
        "curve.png",
        "distribution_ndcg@10.png",
        "scatter_ndcg@10.png",
    ]
    for path in result.plots:
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_every_metric_and_k_gets_intervals_and_comparisons(frame):
    sources = ["video_watch_ratio_mean", "oracle"]
    result = compare(frame, baselines=sources, metrics=["ndcg", "map"], k=[3, 10], **OPTIONS)
    assert set(zip(result.intervals.metric, result.intervals.k, strict=True)) == {
        ("ndcg", 3),
        ("ndcg", 10),
        ("map", 3),
        ("map", 10),
    }
    assert len(result.comparisons) == 4
    summary = result.evaluation.summary.set_index(["metric", "k", "source"])["mean"]
    for row in result.intervals.itertuples():
        assert row.mean == pytest.approx(summary[(row.metric, row.k, row.source)], abs=1e-12)


def test_new_metrics_get_intervals_where_they_are_means_of_per_user_values(frame):
    result = compare(
        frame, baselines=["video_watch_ratio_mean", "noisy"], k=[5],
        metrics=["auc", "gauc", "r_precision", "arp", "novelty", "long_tail", "coverage", "gini"], **OPTIONS,
    )  # fmt: skip
    iv = result.intervals
    assert set(zip(iv.metric, iv.k, strict=True)) == {
        ("auc", None), ("r_precision", None), ("arp", 5), ("novelty", 5), ("long_tail", 5)
    }  # fmt: skip
    summary = result.evaluation.summary
    for row in iv.itertuples():
        at_k = summary.k.isna() if row.k is None else summary.k == row.k
        mean = summary[(summary.metric == row.metric) & at_k & (summary.source == row.source)]["mean"]
        assert row.mean == pytest.approx(mean.iloc[0], rel=1e-12)
        assert row.low <= row.mean <= row.high
    assert set(result.comparisons.metric) == {"auc", "r_precision", "arp", "novelty", "long_tail"}
    note = [n for n in result.evaluation.notes if n.startswith("compare: no interval")]
    assert note and "gauc, coverage@5, gini@5" in note[0]
    assert {"gauc", "coverage", "gini"} <= set(summary.metric)  # still evaluated


def test_compare_of_summary_only_metrics_reports_them_without_intervals(frame):
    from fastrank.cli.report import format_comparison

    result = compare(
        frame, baselines=["video_watch_ratio_mean", "noisy"], metrics=["gauc", "coverage"], **OPTIONS
    )
    assert result.intervals.empty and result.comparisons.empty
    assert any("no interval or paired test for gauc, coverage@10" in note for note in result.evaluation.notes)
    assert format_comparison(result).startswith(f"{len(frame):,} rows")


def test_a_slice_whose_users_are_all_excluded_gives_no_interval_and_no_warning():
    """numpy's "Mean of empty slice" must not reach a user (this suite turns warnings into errors)."""
    frame = make_demo_table(n_users=30, n_videos=60, seed=5).to_pandas()
    frame = frame[frame.groupby("user_id").cumcount() < np.where(frame.user_id % 3 == 0, 2, 1000)]
    result = fastrank.compare(
        frame,
        baselines=["video_watch_ratio_mean", "user_watch_ratio_mean"],
        n_resamples=100,
        min_items=3,
        slice_by="activity",
    )
    empty = result.intervals[result.intervals.users == 0]
    assert len(empty) == 2 and empty["mean"].isna().all() and empty["low"].isna().all()
    assert result.intervals[result.intervals.users > 0]["mean"].notna().all()


def _gate_frame(shift: float, noise: float = 0.02, users: int = 200) -> pd.DataFrame:
    """Users with 8 items each; 'prod' ranks by the label plus noise, 'new' by prod's scores
    with each user's list partly reversed so that its NDCG@5 drops by about ``shift``."""
    rng = np.random.default_rng(11)
    n = users * 8
    frame = pd.DataFrame({"user_id": np.repeat(np.arange(users), 8), "video_id": np.tile(np.arange(8), users),
                          "watch_ratio": rng.integers(0, 4, n).astype(float)})  # fmt: skip
    frame["prod"] = frame["watch_ratio"] + rng.normal(0, noise, n)
    flip = rng.random(n) < shift
    frame["new"] = np.where(flip, -frame["prod"], frame["prod"])
    return frame


def test_the_gate_fails_a_clearly_worse_source_and_passes_one_within_the_margin():
    options = {"k": 5, "reference": "prod", "n_resamples": 2000, "seed": 1}
    worse = compare(_gate_frame(0.5), baselines=["prod", "new"], **options)
    gate = worse.gate("ndcg@5", 0.01)
    row = worse.comparisons.iloc[0]
    assert not gate.passed and row["high"] < -0.01  # clearly worse: the whole interval below
    assert gate.lines() == [
        f"gate: 'new' may be worse than 'prod' by more than 0.01 on ndcg@5: difference {row.mean_diff:+.4f}, "
        f"95% interval [{row.low:+.4f}, {row.high:+.4f}] over 200 users (minimum detectable effect "
        f"{row.mde:.4f})"
    ]
    same = compare(_gate_frame(0.0), baselines=["prod", "new"], **options)
    assert same.comparisons.iloc[0]["mean_diff"] == 0.0
    assert same.gate("ndcg@5", 0.01).passed and same.gate("ndcg@5", 0.0).passed  # no difference at all
    # A margin as wide as the interval's reach passes the worse source too; one that the interval
    # straddles does not: non-inferiority is not shown (worse by more than it is not ruled out).
    assert worse.gate("ndcg@5", -row["low"] + 1e-9).passed
    assert not worse.gate("ndcg@5", -(row["low"] + row["high"]) / 2).passed


def test_the_gate_refuses_a_metric_not_compared_and_sources_without_shared_users(tmp_path):
    result = compare(_gate_frame(0.2), baselines=["prod", "new"], k=5, reference="prod", n_resamples=200)
    with pytest.raises(
        fastrank.InputError, match=r"gate: no paired comparison of ndcg@10 with 'prod' \(compared: ndcg@5\)"
    ):
        result.gate("ndcg@10", 0.01)
    with pytest.raises(fastrank.InputError, match="'margin' parameter must be >= 0"):
        result.gate("ndcg@5", -0.1)
    truth = pd.DataFrame({"user_id": range(6), "item_id": 1, "relevance": 1.0})
    runs = {"a": pd.DataFrame({"user_id": [0, 1, 2], "item_id": 1, "score": 1.0}),
            "b": pd.DataFrame({"user_id": [3, 4, 5], "item_id": 1, "score": 1.0})}  # fmt: skip
    disjoint = fastrank.compare_runs(runs, truth, k=1, empty_run="skip", n_resamples=200)
    with pytest.raises(fastrank.InputError, match=r"gate: 'b' and 'a' share no user with a value of ndcg@1"):
        disjoint.gate("ndcg@1", 0.01)


def test_the_cli_gate_exits_4_with_one_line_and_0_within_the_margin(tmp_path, capsys):
    from .cli import in_process, refused

    path = tmp_path / "t.parquet"
    _gate_frame(0.5).to_parquet(path)
    args = ["compare", path, "--baseline", "prod", "--baseline", "new", "-k", "5", "--resamples", "500"]
    code, out, err = in_process(capsys, *args, "--fail-if-worse", "0.01")
    lines = err.strip().splitlines()
    assert (
        code == 4 and out and len(lines) == 1 and lines[0].startswith("fastrank: gate: 'new' may be worse")
    ), err
    code, _, err = in_process(capsys, *args, "--fail-if-worse", "0.9", "--gate-metric", "ndcg@5")
    assert code == 0 and "gate" not in err
    assert "--gate-metric names the metric of --fail-if-worse" in refused(
        capsys, *args, "--gate-metric", "ndcg@5"
    )
    # A gate that cannot run is refused before the work, with nothing printed.
    line = refused(capsys, *args, "--fail-if-worse", "0.1", "--gate-metric", "ndcg@10")
    assert line.endswith("--gate-metric ndcg@10: the comparison holds ndcg@5; name one"), line
    single = ["compare", path, "--baseline", "prod", "-k", "5", "--fail-if-worse", "0.1"]
    assert "give a second source (--baseline)" in refused(capsys, *single)
