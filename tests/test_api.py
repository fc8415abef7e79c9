"""fastrank.evaluate without a model: score columns, inputs of every kind, accounting, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import ndcg_score

import fastrank
import fastrank.api.evaluate as api
from fastrank.demo import make_demo_table


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_demo_table(n_users=25, n_videos=80, seed=5).to_pandas()


def _sklearn_loop(frame, column, k):
    return {
        user: ndcg_score([rows["watch_ratio"].to_numpy()], [rows[column].to_numpy()], k=k)
        for user, rows in frame.groupby("user_id", sort=False)
    }


def test_standard_protocol_equals_a_per_user_sklearn_loop(frame):
    result = api.evaluate(
        frame, baselines=["video_watch_ratio_mean", "user_feat_watch_ratio_mean"], k=[3, 10]
    )
    assert len(result.summary) == 4
    for column in ("video_watch_ratio_mean", "user_feat_watch_ratio_mean"):
        for k in (3, 10):
            want = _sklearn_loop(frame, column, k)
            rows = result.per_user
            got = rows[(rows.source == column) & (rows.k == k)].set_index("user")["value"]
            assert got.to_dict() == pytest.approx(want, abs=1e-12)
            assert result.mean(column, k=k) == pytest.approx(np.mean(list(want.values())), abs=1e-12)


@pytest.mark.parametrize("kind", ["frame", "table", "parquet", "directory", "csv"])
def test_every_input_kind_gives_the_same_numbers(frame, tmp_path, kind):
    if kind == "frame":
        data = frame
    elif kind == "table":
        data = pa.Table.from_pandas(frame, preserve_index=False)
    elif kind == "parquet":
        data = tmp_path / "t.parquet"
        frame.to_parquet(data)
    elif kind == "directory":
        data = tmp_path / "parts"
        data.mkdir()
        half = len(frame) // 2
        frame.iloc[:half].to_parquet(data / "a.parquet")
        frame.iloc[half:].to_parquet(data / "b.parquet")
    else:
        data = tmp_path / "t.csv"
        frame.to_csv(data, index=False, float_format="%.17g")
    result = api.evaluate(data, baselines=["video_watch_ratio_mean"])
    want = api.evaluate(frame, baselines=["video_watch_ratio_mean"])
    pd.testing.assert_frame_equal(result.summary, want.summary, rtol=1e-12)


def test_shuffled_rows_give_the_same_results(frame):
    shuffled = frame.sample(frac=1.0, random_state=1)
    a = api.evaluate(frame, scores="video_watch_ratio_mean", protocol=["standard", "notebook"])
    b = api.evaluate(shuffled, scores="video_watch_ratio_mean", protocol=["standard", "notebook"])
    pd.testing.assert_frame_equal(a.summary, b.summary, rtol=1e-12)
    key = ["protocol", "metric", "k", "source", "user"]
    pa_, pb = (r.per_user.sort_values(key).reset_index(drop=True) for r in (a, b))
    pd.testing.assert_frame_equal(pa_, pb, rtol=1e-12)


def test_precomputed_scores_array_and_duplicates_counted_not_dropped(frame):
    doubled = pd.concat([frame, frame.iloc[:7]], ignore_index=True)
    result = api.evaluate(doubled, scores=doubled["video_watch_ratio_mean"].to_numpy())
    assert result.duplicates == 7
    assert result.n_rows == len(frame) + 7
    assert any("7 rows repeat" in note for note in result.notes)
    assert list(result.summary.source) == ["scores"]


def test_min_items_excludes_and_counts(frame):
    sizes = frame.groupby("user_id").size()
    cut = int(sizes.median()) + 1
    result = api.evaluate(frame, baselines=["video_watch_ratio_mean"], min_items=cut)
    row = result.summary.iloc[0]
    assert row["users"] == int((sizes >= cut).sum())
    assert row["excluded"] == int((sizes < cut).sum())
    assert row["users"] + row["excluded"] == result.n_users


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (
            lambda f: f.drop(columns="watch_ratio"),
            {},
            r"no label column 'watch_ratio' \(label_col=\); columns are: user_id",
        ),
        (lambda f: f, {"baselines": ["nope"]}, r"no score column 'nope'"),
        (
            lambda f: f.assign(watch_ratio=f.watch_ratio.where(f.index != 4)),
            {},
            r"column 'watch_ratio'.*(NaN|null).* at row 4 \(user \d+\)",
        ),
        (lambda f: f.assign(watch_ratio=-f.watch_ratio), {}, r"negative value"),
        (lambda f: f.iloc[:0], {}, r"the table has no rows"),
        (lambda f: f, {"k": 0}, r"The 'k' parameter must be an int >= 1\. Got 0 instead"),
        (lambda f: f, {"protocol": "magic"}, r"unknown protocol 'magic'"),
        (lambda f: f, {"baselines": []}, r"nothing to evaluate"),
        (
            lambda f: f,
            {"scores": "video_watch_ratio_mean"},
            r"source 'video_watch_ratio_mean' is given twice",
        ),
        (
            lambda f: f.assign(video_id=f.video_id.astype(str)),
            {"protocol": "notebook"},
            r"needs integer item ids",
        ),
    ],
)
def test_bad_input_raises_input_error(frame, change, kwargs, match):
    args = {"baselines": ["video_watch_ratio_mean"], **kwargs}
    with pytest.raises(fastrank.InputError, match=match):
        api.evaluate(change(frame.copy()), **args)


def test_null_user_is_reported(frame):
    table = pa.Table.from_pandas(frame, preserve_index=False)
    users = table.column("user_id").to_pylist()
    users[3] = None
    table = table.set_column(0, "user_id", pa.array(users, pa.int64()))
    with pytest.raises(fastrank.InputError, match=r"column 'user_id' is empty \(null\) at row 3"):
        api.evaluate(table, baselines=["video_watch_ratio_mean"])


def test_standard_protocol_with_several_metrics_equals_ranking_metrics(frame):
    metrics = ["ndcg", "precision", "mrr"]
    result = api.evaluate(
        frame, baselines=["video_watch_ratio_mean"], k=[3, 10], metrics=metrics, threshold=1.5
    )
    assert list(dict.fromkeys(result.summary.metric)) == ["ndcg", "precision", "mrr"]
    want = fastrank.ranking_metrics(
        frame["user_id"], frame["watch_ratio"], frame["video_watch_ratio_mean"],
        ["ndcg@3", "ndcg@10", "precision@3", "precision@10", "mrr@3", "mrr@10"], threshold=1.5,
    ).to_frame()  # fmt: skip
    rows = result.per_user
    for metric in ("ndcg", "precision", "mrr"):
        for k in (3, 10):
            got = rows[(rows.metric == metric) & (rows.k == k)].set_index("user")["value"]
            np.testing.assert_array_equal(got.loc[want.index].to_numpy(), want[f"{metric}@{k}"].to_numpy())


def test_a_metric_named_with_its_cutoff_takes_that_cutoff_only(frame):
    """``ndcg@10`` is computed at 10; a bare name at every k; the cutoffs come from both."""
    result = api.evaluate(
        frame, baselines=["video_watch_ratio_mean"], k=[3, 5], metrics=["ndcg@10", "mrr", "ndcg@3"]
    )
    pairs = list(zip(result.summary.metric, result.summary.k, strict=True))
    assert pairs == [("ndcg", 3), ("ndcg", 10), ("mrr", 3), ("mrr", 5)]
    want = fastrank.ranking_metrics(
        frame["user_id"], frame["watch_ratio"], frame["video_watch_ratio_mean"], ["ndcg@10"]
    )
    assert result.mean("video_watch_ratio_mean", k=10) == want.mean["ndcg@10"]


ALL_NEW = ["auc", "gauc", "f1", "r_precision", "coverage", "arp", "novelty", "gini", "entropy", "long_tail"]


def test_new_metrics_equal_ranking_metrics_on_the_same_rows(frame):
    """evaluate's summary and per-user rows carry ranking_metrics' values: the metrics of the whole
    list once (k None), GAUC and the catalog-wide metrics in the summary only."""
    frame = frame.assign(weight=np.arange(len(frame)) % 3 + 0.5, plays=np.arange(len(frame)) % 7 + 1.0)
    result = api.evaluate(
        frame, baselines=["video_watch_ratio_mean"], k=[3, 10], metrics=["ndcg", *ALL_NEW],
        gauc_weight="weight", popularity_col="plays",
    )  # fmt: skip
    whole = ["auc", "gauc", "r_precision"]
    specs = [f"{m}@{k}" for m in ["ndcg", *ALL_NEW] for k in (3, 10) if m not in whole]
    want = fastrank.ranking_metrics(
        frame.user_id, frame.watch_ratio, frame.video_watch_ratio_mean, [*specs, *whole],
        items=frame.video_id, popularity=frame.plays, gauc_weight=frame.weight,
    )  # fmt: skip
    summary = result.summary.set_index(["metric", "k"])
    for name, mean in want.mean.items():
        metric, _, k = name.partition("@")
        key = (metric, int(k) if k else None)
        assert summary.loc[[key], "mean"].iloc[0] == pytest.approx(mean, rel=1e-12, abs=1e-15), name
        assert (
            result.mean("video_watch_ratio_mean", k=key[1], metric=metric)
            == summary.loc[[key], "mean"].iloc[0]
        )
    per_user = result.per_user
    assert set(per_user.metric) == {"ndcg", "auc", "f1", "r_precision", "arp", "novelty", "long_tail"}
    got = per_user[per_user.metric == "auc"].set_index("user")["value"]
    np.testing.assert_allclose(got.loc[want.users], want["auc"], rtol=0, atol=0)
    assert per_user[per_user.metric == "auc"].k.isna().all()
    assert list(result.summary.metric.drop_duplicates()) == ["ndcg", *ALL_NEW]  # in the order asked


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["coverage"], "item_col": None}, r"coverage needs an item column \(item_col=\)"),
        ({"metrics": ["ndcg"], "popularity_col": "plays"}, r"popularity_col= is for the beyond-accuracy"),
        ({"metrics": ["arp"], "popularity_col": "nope"}, r"popularity column 'nope'"),
        ({"metrics": ["ndcg"], "gauc_weight": "users"}, r"gauc_weight= weights GAUC"),
        ({"metrics": ["gauc"], "gauc_weight": "nope"}, r"weight column 'nope'"),
        ({"metrics": ["auc@3"]}, r"auc ranks the whole list, so it takes no cutoff"),
        (
            {"metrics": ["gauc"], "gauc_weight": "neg"},
            r"column 'neg': negative value -1.0 at row 0 .*weights must",
        ),
        (
            {"metrics": ["arp"], "popularity_col": "neg"},
            r"column 'neg': negative value .*popularity must be >= 0",
        ),
    ],
)
def test_new_metric_options_are_checked(frame, kwargs, match):
    frame = frame.assign(plays=1.0, neg=-1.0)
    with pytest.raises(fastrank.InputError, match=match):
        api.evaluate(frame, baselines=["video_watch_ratio_mean"], **kwargs)


def test_text_item_ids_coded_once_give_the_same_counts_and_coverage(frame):
    """The catalog's codes also count duplicates: text ids, as integer ids, give equal numbers."""
    repeated = pd.concat([frame, frame.iloc[:7]], ignore_index=True)  # 7 duplicate (user, item) rows
    as_text = repeated.assign(video_id="v" + repeated["video_id"].astype(str))
    kwargs = dict(baselines=["video_watch_ratio_mean"], k=[3], metrics=["coverage", "gini", "ndcg"])
    want = api.evaluate(repeated, **kwargs)
    got = api.evaluate(as_text, **kwargs)
    assert got.duplicates == want.duplicates == 7
    pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=True)


@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
def test_ties_are_an_option_of_evaluate_as_of_ranking_metrics(frame, ties, capsys, tmp_path):
    rounded = frame.assign(score=frame["video_watch_ratio_mean"].round(1))  # ties in the scores
    metrics = ["ndcg", "map", "mrr", "auc", "r_precision"]
    got = api.evaluate(rounded, baselines=["score"], k=[5], metrics=metrics, ties=ties)
    specs = ["ndcg@5", "map@5", "mrr@5", "auc", "r_precision"]
    want = fastrank.ranking_metrics(
        rounded["user_id"], rounded["watch_ratio"], rounded["score"], specs, ties=ties
    ).mean
    for metric, spec in zip(metrics, specs, strict=True):
        assert got.mean("score", k=5, metric=metric) == want[spec], spec
    averaged = api.evaluate(rounded, baselines=["score"], k=[5], metrics=metrics)
    assert averaged.mean("score", k=5) != got.mean("score", k=5)  # the rounding made ties that matter
    path = tmp_path / "t.parquet"
    rounded.to_parquet(path)
    from fastrank.cli.commands import main

    assert main(["evaluate", str(path), "--baseline", "score", "-k", "5", "--ties", ties, "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)[0]["mean"] == want["ndcg@5"]


@pytest.mark.parametrize("gain", ["exponential", "binary"])
def test_the_gain_is_an_option_of_every_entry_point(frame, gain, capsys, tmp_path):
    """``gain=`` / ``--gain`` in evaluate (every engine), evaluate_run and the CLI gives
    ranking_metrics' NDCG with that gain."""
    from fastrank.cli.commands import main

    score = "video_watch_ratio_mean"
    want = fastrank.ranking_metrics(
        frame["user_id"], frame["watch_ratio"], frame[score], ["ndcg@5"], gain=gain, threshold=1.5
    ).mean["ndcg@5"]
    linear = api.evaluate(frame, baselines=[score], k=[5], threshold=1.5).mean(score, k=5)
    assert want != pytest.approx(linear)  # the gain changes the number
    for engine in ("memory", "stream"):
        got = api.evaluate(frame, baselines=[score], k=[5], gain=gain, threshold=1.5, engine=engine)
        assert got.mean(score, k=5) == pytest.approx(want, rel=1e-12), engine
    run = frame.rename(columns={"video_id": "item_id", score: "score"})[["user_id", "item_id", "score"]]
    truth = frame.rename(columns={"video_id": "item_id", "watch_ratio": "relevance"})[
        ["user_id", "item_id", "relevance"]
    ]
    runs = fastrank.evaluate_run(run, truth, k=5, gain=gain, threshold=1.5)
    assert runs.mean("run", k=5) == pytest.approx(want, rel=1e-12)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    args = ["evaluate", str(path), "--baseline", score, "-k", "5", "--threshold", "1.5", "--json"]
    assert main([*args, "--gain", gain]) == 0
    assert json.loads(capsys.readouterr().out)[0]["mean"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("weight", ["positives", "rows", "users"])
def test_gauc_of_a_table_weights_each_users_sklearn_auc_by_its_named_weight(frame, weight):
    """The table path's GAUC (``evaluate``): np.average of scikit-learn's per-user AUC, weighted by
    the user's relevant rows (RecBole), its rows (DIN's impressions) or 1."""
    from sklearn.metrics import roc_auc_score

    result = api.evaluate(frame, baselines=["video_watch_ratio_mean"], metrics=["gauc"], gauc_weight=weight)
    values, weights = [], []
    for _, user in frame.groupby("user_id"):
        relevant = (user.watch_ratio >= 1.0).to_numpy()
        if relevant.all() or not relevant.any():
            continue
        values.append(roc_auc_score(relevant, user.video_watch_ratio_mean))
        weights.append({"positives": relevant.sum(), "rows": len(user), "users": 1}[weight])
    want = np.average(values, weights=weights)
    assert result.mean("video_watch_ratio_mean", metric="gauc") == pytest.approx(want, rel=1e-12)
