"""A newcomer's first commands (fastrank.flags, fastrank.cli): their own column names, files named
alike, DATA written after an option that takes several values, metrics with their cutoffs, and
every message naming the flags they type. Each runs the CLI in this process."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import fastrank
from fastrank.demo import make_demo_table

from .cli import in_process, refused

BASELINE = "video_watch_ratio_mean"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("flags") / "data.parquet"
    make_demo_table(n_users=10, n_videos=30, seed=2).to_pandas().to_parquet(path)
    return path


def test_every_missing_column_is_named_at_once_with_its_flag_and_a_lookalike(tmp_path, capsys):
    path = tmp_path / "own.csv"
    pd.DataFrame({"uid": [1, 1], "item": [1, 2], "rating": [1.0, 0.0], "s": [0.2, 0.1]}).to_csv(
        path, index=False
    )
    err = refused(capsys, "evaluate", path, "--baseline", "s")
    assert (
        "no user column 'user_id' (--user-col; 'uid' looks like it); no item column 'video_id' (--item-col; "
        "'item' looks like it); no label column 'watch_ratio' (--label-col; 'rating' looks like it); columns "
        "are: uid, item, rating, s"
    ) in err, err
    code, out, err = in_process(
        capsys,
        "evaluate",
        path,
        "--baseline",
        "s",
        "--user-col",
        "uid",
        "--item-col",
        "item",
        "--label-col",
        "rating",
    )
    assert code == 0 and "2 rows, 1 user," in out, err  # one user: no "1 users"


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--model", "m.keras", "--features", "a", "b", "{t}"], "DATA is missing: --features took '{t}'"),
        (["--baseline", BASELINE, "--metrics", "ndcg", "{t}"], "DATA is missing: --metrics took '{t}'"),
        (["--protocol", "standard", "{t}"], "invalid choice: '{t}'"),
        (["-k", "5", "{t}"], "{t} is a file: put DATA before the options, or after --"),
        (["--baseline", BASELINE], "DATA is missing, but --baseline describes it"),
        (["--user-col", "uid"], "DATA is missing, but --user-col describes it"),
    ],
)
def test_options_about_data_without_data_never_run_the_demo(table, capsys, args, wanted):
    args = [a.format(t=table) for a in args]
    err = refused(capsys, "evaluate", *args)
    assert wanted.format(t=table) in err and "demo" not in err.split("DATA is missing")[0], err
    assert in_process(capsys, "evaluate", *args[:-1], "--", table)[0] in (0, 2)  # after --, DATA is DATA


def test_data_after_double_dash_is_data(table, capsys):
    code, out, err = in_process(
        capsys, "evaluate", "--baseline", BASELINE, "--metrics", "ndcg", "mrr", "--", table
    )
    assert code == 0 and "mrr" in out and "demo" not in err, err


def test_metrics_with_their_own_cutoff_from_the_cli(table, tmp_path, capsys):
    code, out, err = in_process(
        capsys,
        "evaluate",
        table,
        "--baseline",
        BASELINE,
        "--metrics",
        "ndcg@10",
        "recall",
        "-k",
        "3",
        "--json",
    )
    assert code == 0, err
    assert [(r["metric"], r["k"]) for r in json.loads(out)] == [("ndcg", 10), ("recall", 3)]
    run, truth = tmp_path / "r.trec", tmp_path / "q.trec"
    run.write_text("a Q0 x 1 0.3 t\na Q0 y 2 0.2 t\n")
    truth.write_text("a 0 y 1\n")
    code, out, err = in_process(
        capsys, "evaluate", "--run", run, "--truth", truth, "--metrics", "mrr@1", "mrr", "--json"
    )
    assert code == 0, err
    assert [(r["metric"], r["k"], r["mean"]) for r in json.loads(out)] == [("mrr", 1, 0.0), ("mrr", 10, 0.5)]


def test_runs_of_the_same_file_name_are_named_on_the_command_line(tmp_path, capsys):
    truth = tmp_path / "qrels.txt"
    truth.write_text("a 0 x 1\n")
    for exp, doc in (("exp1", "x"), ("exp2", "y")):
        (tmp_path / exp).mkdir()
        (tmp_path / exp / "test.run").write_text(f"a Q0 {doc} 1 0.5 t\n")
    one, two = tmp_path / "exp1" / "test.run", tmp_path / "exp2" / "test.run"
    code, out, err = in_process(capsys, "evaluate", "--run", one, "--run", two, "--truth", truth, "--json")
    assert code == 0, err
    assert [r["source"] for r in json.loads(out)] == ["exp1/test", "exp2/test"]
    code, out, err = in_process(
        capsys, "compare", "--run", f"bm25={one}", "--run", two, "--truth", truth, "--json"
    )
    assert code == 0, err
    assert [r["source"] for r in json.loads(out)["intervals"]] == ["bm25", "test"]
    err = refused(capsys, "evaluate", "--run", f"a={one}", "--run", f"a={two}", "--truth", truth)
    assert "two runs are named 'a'; give each run its own name" in err


def test_trec_files_take_no_column_flags(tmp_path, capsys):
    run, truth = tmp_path / "r.trec", tmp_path / "q.trec"
    run.write_text("a Q0 x 1 0.3 t\na Q0 y 2 0.2 t\n")
    truth.write_text("a 0 x 1\n")
    err = refused(capsys, "evaluate", "--run", run, "--truth", truth, "--item-col", "rank")
    assert (
        "--item-col rank names a table column, but " in err
        and "are TREC files, whose fields are fixed" in err
    )
    err = refused(capsys, "evaluate", "--run", run, "--truth", truth, "--label-col", "grade")
    assert "--label-col grade names a table column" in err
    code, out, err = in_process(
        capsys, "evaluate", "--run", run, "--truth", truth, "--rank-col", "rank", "--json"
    )
    assert code == 0 and json.loads(out)[0]["mean"] == 1.0, err  # a TREC run's own rank field


def test_a_run_that_shares_no_user_with_the_truth_is_said_or_refused(tmp_path, capsys):
    """With empty runs scored 0 the result stands (trec_eval -c gives the same), with a note that
    names both sides' ids; with them left out nothing is left to evaluate: refused."""
    run, truth = tmp_path / "r.trec", tmp_path / "q.trec"
    run.write_text("b Q0 x 1 0.3 t\n")
    truth.write_text("a 0 x 1\n")
    for command in ("evaluate", "compare"):
        err = refused(capsys, command, "--run", run, "--truth", truth, "--empty-run", "skip")
        assert "no user of the run is in the truth" in err and "run users look like 'b'" in err
        assert "with --empty-run skip no user is left to evaluate" in err
    code, out, err = in_process(capsys, "evaluate", "--run", run, "--truth", truth, "--json")
    assert code == 0 and json.loads(out)[0]["mean"] == 0.0, err
    assert "no user of the run is in the truth" in err and "every user of the truth scores 0" in err


def test_messages_name_flags_not_python_arguments(table, tmp_path, capsys):
    run, truth = tmp_path / "r.trec", tmp_path / "q.trec"
    run.write_text("a Q0 x 1 0.3 t\n")
    truth.write_text("a 0 x 1\n")
    err = refused(capsys, "evaluate", "--run", run, "--truth", truth, "--metrics", "auc")
    assert "auc is for tables of scored rows (fastrank evaluate DATA, not --run)" in err
    err = refused(
        capsys, "evaluate", table, "--baseline", BASELINE, "--metrics", "gauc", "--gauc-weight", "region"
    )
    assert "no weight column 'region' (--gauc-weight)" in err
    err = refused(capsys, "evaluate", table, "--baseline", BASELINE, "--workers", "2")
    assert "--workers needs --engine dask" in err and "--scheduler" not in err
    with pytest.raises(fastrank.InputError, match=r"^run: column 'score' is empty \(null\) at row 0"):
        fastrank.evaluate_run(
            pd.DataFrame({"user_id": [1], "item_id": [1], "score": [np.nan]}),
            pd.DataFrame({"user_id": [1], "item_id": [1], "relevance": [1.0]}),
        )


def test_a_file_that_is_no_model_is_named_before_keras_is_imported(table, capsys, monkeypatch):
    from fastrank.scoring import keras_model

    def no_keras(purpose=""):
        raise AssertionError("Keras imported for a file that is no model")

    monkeypatch.setattr(keras_model, "import_keras", no_keras)
    err = refused(capsys, "evaluate", table, "--model", table)
    assert "not a readable Keras model: it holds a parquet file (a table)" in err


def test_compare_prints_the_metrics_without_an_interval(table, capsys):
    args = [
        "compare",
        table,
        "--baseline",
        BASELINE,
        "--baseline",
        "user_watch_ratio_mean",
        "--resamples",
        "50",
    ]
    code, out, err = in_process(capsys, *args, "--metrics", "gauc", "gini", "-k", "5")
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.split()[:3] == ["gauc", "-", BASELINE] for line in lines), out
    assert any(line.split()[:3] == ["gini", "5", "user_watch_ratio_mean"] for line in lines), out
    code, out, err = in_process(capsys, *args, "--metrics", "gauc", "gini", "--json")
    overall = json.loads(out)["overall"]
    assert {(r["metric"], r["source"]) for r in overall} == {
        ("gauc", BASELINE),
        ("gauc", "user_watch_ratio_mean"),
        ("gini", BASELINE),
        ("gini", "user_watch_ratio_mean"),
    }
    evaluation = fastrank.evaluate(table, baselines=[BASELINE], metrics=["gauc"])
    assert overall[0]["value"] == evaluation.mean(BASELINE, metric="gauc")
    code, out, err = in_process(capsys, *args, "--metrics", "gauc", "--gauc-weight", "positives", "--json")
    by_positives = fastrank.evaluate(table, baselines=[BASELINE], metrics=["gauc"], gauc_weight="positives")
    assert json.loads(out)["overall"][0]["value"] == by_positives.mean(BASELINE, metric="gauc")
    assert by_positives.mean(BASELINE, metric="gauc") != evaluation.mean(BASELINE, metric="gauc")


def test_compare_with_no_user_evaluated_says_so(table, capsys):
    err = refused(
        capsys, "compare", table, "--baseline", BASELINE, "--min-items", "1000", "--resamples", "50"
    )
    assert "compare: no user has a value of ndcg@10 for 'video_watch_ratio_mean'" in err
    err = refused(
        capsys,
        "compare",
        table,
        "--baseline",
        BASELINE,
        "--metrics",
        "auc",
        "--threshold",
        "1e9",
        "--resamples",
        "50",
    )
    assert "no user has a value of auc" in err


def test_the_commands_and_their_examples(capsys):
    code, out, _ = in_process(capsys)
    assert code == 0
    for command in ("evaluate", "compare", "bucketize"):
        assert f"fastrank {command}: " in out and f"\n  fastrank {command} " in out
    code, out, _ = in_process(capsys, "evaluate", "--help")
    assert code == 0 and "examples:" in out and "--run bm25=bm25.run" in out


def test_library_warnings_are_not_a_second_line(table, capsys, monkeypatch):
    import warnings

    from fastrank.api import evaluate as api

    real = api.evaluate_options

    def warns(*args, **kwargs):
        warnings.warn("a library's remark", RuntimeWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "evaluate_options", warns)
    code, _, err = in_process(capsys, "evaluate", table, "--baseline", BASELINE, "--quiet")
    assert code == 0 and err == "", err
    code, _, err = in_process(capsys, "evaluate", table, "--baseline", BASELINE, "--verbose")
    assert "fastrank: warning: RuntimeWarning: a library's remark" in err


def test_the_runs_catalog_popularity_and_tail_flags_reach_evaluate_run(tmp_path, capsys):
    rng = np.random.default_rng(4)
    run = pd.DataFrame({"user_id": np.repeat(np.arange(30), 8), "item_id": rng.permutation(240) % 60,
                        "score": rng.random(240)}).drop_duplicates(["user_id", "item_id"])  # fmt: skip
    truth = pd.DataFrame({"user_id": np.arange(30), "item_id": rng.integers(0, 60, 30), "relevance": 1.0})
    train = pd.DataFrame({"item_id": rng.integers(0, 70, 600), "weight": rng.random(600)})
    catalog = pd.DataFrame({"id": np.arange(80)})  # one column: whatever its name
    paths = {name: tmp_path / f"{name}.parquet" for name in ("run", "truth", "train", "catalog")}
    for name, frame in zip(paths, (run, truth, train, catalog), strict=True):
        frame.to_parquet(paths[name])
    metrics = ["coverage@5", "arp@5", "long_tail@5"]
    code, out, err = in_process(
        capsys, "evaluate", "--run", paths["run"], "--truth", paths["truth"], "--metrics", *metrics,
        "--catalog", paths["catalog"], "--popularity", paths["train"], "--popularity-col", "weight",
        "--tail-share", "0.1", "--tail-ties", "item", "--json",
    )  # fmt: skip
    assert code == 0, err
    evaluation = fastrank.evaluate_run(
        run, truth, metrics=metrics, catalog=catalog.id, popularity=train, popularity_col="weight",
        tail_share=0.1, tail_ties="item",
    )  # fmt: skip
    got = {(row["metric"]): row["mean"] for row in json.loads(out)}
    assert got == {
        name: evaluation.mean("run", k=5, metric=name) for name in ("coverage", "arp", "long_tail")
    }
    top5 = run.sort_values("score", ascending=False).groupby("user_id").head(5)  # distinct scores
    assert got["coverage"] == pytest.approx(top5.item_id.nunique() / 80, rel=1e-12)
    default_tail = fastrank.evaluate_run(run, truth, metrics=["long_tail@5"], popularity=train)
    assert default_tail.mean("run", k=5, metric="long_tail") != got["long_tail"]
