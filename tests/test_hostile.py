"""Hostile input, class by class (issue 12): one line naming what is wrong, exit 2 from the CLI,
``fastrank.InputError`` from the API, no traceback, nothing written at or beside the target."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest

import fastrank
from fastrank.cli.commands import main
from fastrank.compare.stats import bootstrap_intervals
from fastrank.demo import make_demo_table
from fastrank.engines.bucketing import bucketize

from .cli import refused

HUGE = 10**30
BASELINE = "video_watch_ratio_mean"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "data.parquet"
    make_demo_table(n_users=8, n_videos=30, seed=5).to_pandas().to_parquet(path)
    return path


# Class 1: integers too large for the kernels, refused where they enter.


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["evaluate", "{t}", "--baseline", BASELINE, "-k", str(HUGE)], "-k must be an int <= 9,223,372"),
        (
            ["evaluate", "{t}", "--baseline", BASELINE, "--min-items", str(HUGE)],
            "--min-items must be an int <=",
        ),
        (
            ["evaluate", "{t}", "--baseline", BASELINE, "--batch-size", str(HUGE)],
            "--batch-size must be an int <=",
        ),
        (
            ["evaluate", "{t}", "--baseline", BASELINE, "--stream", "--chunk-rows", str(HUGE)],
            "--chunk-rows must",
        ),
        (["compare", "{t}", "--baseline", BASELINE, "--seed", str(HUGE)], "--seed must be an int <="),
        (["compare", "{t}", "--baseline", BASELINE, "--seed", "-1"], "--seed must be an int >= 0"),
        (
            ["compare", "{t}", "--baseline", BASELINE, "--resamples", "10000000000"],
            "--resamples must be an int <= 10,000,000",
        ),
        (
            ["evaluate", "{t}", "--baseline", BASELINE, "--metrics", f"ndcg@{HUGE}"],
            "the cutoff k must be an int <= 9,223,372,036,854,775,807",
        ),
    ],
)
def test_huge_integer_options_exit_2_in_one_line(table, capsys, args, wanted):
    line = refused(capsys, *(a.format(t=table) for a in args))
    assert wanted in line, line


def test_huge_buckets_are_refused_before_any_file_is_written(table, tmp_path, capsys):
    line = refused(capsys, "bucketize", table, tmp_path / "out", "--buckets", HUGE)
    assert "--buckets must be an int <= 65,536" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("call", "wanted"),
    [
        (lambda u, y, s: fastrank.ndcg(u, y, s, k=HUGE), "'k' parameter must be an int <= 9,223,372"),
        (
            lambda u, y, s: fastrank.ranking_metrics(u, y, s, [f"ndcg@{HUGE}"]),
            r"the cutoff k must be an int <= 9,223,372",
        ),
        (
            lambda u, y, s: fastrank.ranking_metrics(u, y, s, min_items=HUGE),
            "'min_items' parameter must be an int <=",
        ),
        (
            lambda u, y, s: bootstrap_intervals(y, seed=HUGE),
            "'seed' parameter must be an int <=",
        ),
        (
            lambda u, y, s: bootstrap_intervals(y, n_resamples=HUGE),
            "'n_resamples' parameter must",
        ),
    ],
)
def test_huge_integer_parameters_raise_input_error(call, wanted):
    users, labels, scores = [1, 1, 2, 2], [1.0, 0.0, 2.0, 1.0], [0.3, 0.1, 0.2, 0.5]
    with pytest.raises(fastrank.InputError, match=wanted):
        call(users, np.array(labels), scores)


def test_the_api_bounds_evaluate_and_compare_too(table):
    with pytest.raises(fastrank.InputError, match="'k' parameter must be an int <="):
        fastrank.evaluate(table, baselines=[BASELINE], k=[10, HUGE])
    with pytest.raises(fastrank.InputError, match="'n_resamples' parameter must be an int <= 10,000,000"):
        fastrank.compare(table, baselines=[BASELINE], n_resamples=10_000_000_000)
    with pytest.raises(fastrank.InputError, match=r"'buckets' parameter must be an int <= 65,536"):
        bucketize(table, table.parent / "never", HUGE)
    assert not (table.parent / "never").exists()


# Class 8: the API refuses what the CLI refuses, with InputError.


@pytest.mark.parametrize(
    ("kwargs", "wanted"),
    [
        ({"min_items": 0}, "'min_items' parameter must be an int >= 1"),
        ({"threshold": "1"}, "'threshold' parameter must be a finite number"),
        ({"threshold": None}, "'threshold' parameter must be a finite number"),
        ({"k": []}, "'k' parameter must name at least one cutoff"),
        ({"metrics": None}, "'metrics' parameter must be a name or a list of names"),
        ({"batch_size": 0}, "'batch_size' parameter must be an int >= 1"),
    ],
)
def test_evaluate_refuses_what_the_cli_refuses(table, kwargs, wanted):
    with pytest.raises(fastrank.InputError, match=wanted):
        fastrank.evaluate(table, baselines=[BASELINE], **kwargs)


@pytest.mark.parametrize(
    ("call", "wanted"),
    [
        (
            lambda: fastrank.ranking_metrics([1, 1], [1.0, 0.0], [0.2, 0.1], None),
            "'metrics' parameter must be",
        ),
        (
            lambda: fastrank.ranking_metrics([1, 1], [1.0, 0.0], [0.2, 0.1], threshold="1"),
            "'threshold' parameter",
        ),
        (lambda: fastrank.ndcg([1, 1], [1.0, 0.0], [0.2, 0.1], k=[]), "'k' parameter must name at least one"),
        (lambda: fastrank.ndcg([1, 1], [[1.0], [0.0, 2.0]], [0.2, 0.1]), "labels: "),
        (lambda: fastrank.ndcg([1, 1], [1.0, 0.0], pd.DataFrame({"a": [1, 2], "b": [3, 4]})), "scores: "),
        (lambda: fastrank.ndcg([[1, 2], [3]], [1.0, 0.0], [0.2, 0.1]), "users: "),
    ],
)
def test_ranking_metrics_refuses_bad_arguments_with_input_error(call, wanted):
    with pytest.raises(fastrank.InputError, match=wanted):
        call()


# Class 9: resource bounds.


def test_more_buckets_than_rows_is_refused_before_writing(tmp_path, capsys):
    frame = pd.DataFrame({"user_id": np.arange(331) % 40, "x": np.arange(331)})
    frame.to_parquet(tmp_path / "small.parquet")
    line = refused(capsys, "bucketize", tmp_path / "small.parquet", tmp_path / "out", "--buckets", 200_000)
    assert "--buckets must be an int <= 65,536" in line
    line = refused(capsys, "bucketize", tmp_path / "small.parquet", tmp_path / "out", "--buckets", 1000)
    assert "1,000 buckets for 331 rows" in line and "choose at most 331 (--buckets)" in line
    frame.to_csv(tmp_path / "small.csv", index=False)  # rows unknown until read: refused after pass 1
    with pytest.raises(fastrank.InputError, match=r"1,000 buckets for 331 rows .* \(n_buckets=\)"):
        bucketize(tmp_path / "small.csv", tmp_path / "out", 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.csv", "small.parquet"]


# Class 3: parser limits. Whatever fails while reading a model archive is a bad model file.


def _archive(path, config_text):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config_text)
        archive.writestr("model.weights.h5", b"not hdf5")
    return path


@pytest.mark.parametrize(
    "config",
    [
        "[" * 200_000 + "]" * 200_000,  # nests past the JSON parser's recursion limit
        '{"class_name": "Sequential", "config": {"layers": ' + "[" * 50_000 + "]" * 50_000 + "}}",
        '{"class_name": 7}',
        "\xff\xfe",
    ],
    ids=["deep-json", "deep-layers", "odd-types", "not-utf8"],
)
def test_hostile_model_archives_are_bad_model_files(table, tmp_path, capsys, config):
    path = _archive(tmp_path / "hostile.keras", config)
    line = refused(capsys, "evaluate", table, "--model", path, "--predictor", "numpy")
    assert str(path) in line, line
    with pytest.raises(fastrank.InputError, match=r"hostile\.keras"):
        fastrank.evaluate(table, path, predictor="numpy")


# Class 7: one column in two roles.


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (
            ["--user-col", "watch_ratio", "--baseline", BASELINE],
            "'watch_ratio' is both --user-col and --label-col",
        ),
        (["--item-col", "user_id", "--baseline", BASELINE], "'user_id' is both --user-col and --item-col"),
        (["--scores", "watch_ratio"], "'watch_ratio' is --label-col and also a score column"),
        (["--baseline", "watch_ratio"], "'watch_ratio' is --label-col and also a score column"),
        (
            [
                "--model",
                "{m}",
                "--features",
                "video_duration",
                "watch_ratio",
                "user_watch_ratio_mean",
                "video_watch_ratio_mean",
                "user_feat_watch_ratio_mean",
            ],
            "also a feature",
        ),
    ],
)
def test_a_column_in_two_roles_is_refused(table, capsys, args, wanted):
    from fastrank.demo import DEMO_MODEL_PATH

    line = refused(capsys, "evaluate", table, *(a.format(m=DEMO_MODEL_PATH) for a in args))
    assert wanted in line, line


def test_a_column_in_two_roles_only_when_asked(table, capsys):
    with pytest.raises(fastrank.InputError, match="pass allow_shared_columns=True if that is what you mean"):
        fastrank.evaluate(table, baselines=["watch_ratio"])
    result = fastrank.evaluate(table, baselines=["watch_ratio"], allow_shared_columns=True)
    assert result.mean("watch_ratio") == pytest.approx(1.0, abs=1e-12)  # ranked by the answer itself
    assert main(["evaluate", str(table), "--baseline", "watch_ratio", "--allow-shared-columns"]) == 0
    with pytest.raises(fastrank.InputError, match="both user_col= and label_col="):
        fastrank.evaluate(table, baselines=[BASELINE], user_col="watch_ratio", allow_shared_columns=True)


# Class 2: output targets are checked before the work, and temporary names fit the file system.

READ_ONLY = "/sys"  # a read-only file system, for root as well (chmod does not stop root)
needs_read_only = pytest.mark.skipif(
    not os.path.isdir(READ_ONLY) or (os.access(READ_ONLY, os.W_OK) and os.geteuid() != 0),
    reason="needs a read-only directory",
)


def _files_beside(path):
    return sorted(p.name for p in path.parent.iterdir())


def test_per_user_under_a_regular_file_fails_first(table, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    line = refused(
        capsys, "evaluate", table, "--baseline", BASELINE, "--per-user", tmp_path / "file.txt" / "o.csv"
    )
    assert "is a file, not a directory" in line
    assert _files_beside(tmp_path / "file.txt") == ["file.txt"]


@needs_read_only
def test_targets_in_a_read_only_directory_fail_first(table, tmp_path, capsys):
    line = refused(
        capsys, "evaluate", table, "--baseline", BASELINE, "--per-user", f"{READ_ONLY}/out.parquet"
    )
    assert f"--per-user: cannot write in {READ_ONLY}" in line
    line = refused(capsys, "compare", table, "--baseline", BASELINE, "--plot", f"{READ_ONLY}/plots")
    assert f"--plot: cannot write in {READ_ONLY}" in line
    line = refused(capsys, "bucketize", table, f"{READ_ONLY}/buckets", "--buckets", 2)
    assert f"cannot write in {READ_ONLY}" in line
    with pytest.raises(fastrank.InputError, match=f"plot_dir: cannot write in {READ_ONLY}"):
        fastrank.compare(table, baselines=[BASELINE], plot_dir=f"{READ_ONLY}/plots")


def test_plots_onto_an_existing_file_fail_first(table, tmp_path, capsys):
    (tmp_path / "plots").write_text("x")
    line = refused(capsys, "compare", table, "--baseline", BASELINE, "--plot", tmp_path / "plots")
    assert "is a file, not a directory" in line
    assert (tmp_path / "plots").read_text() == "x"


def test_a_long_but_legal_name_is_written(table, tmp_path, capsys):
    target = tmp_path / ("n" * 240 + ".parquet")  # 248 bytes: legal, but its old temp name was not
    assert main(["evaluate", str(table), "--baseline", BASELINE, "--per-user", str(target), "--quiet"]) == 0
    assert _files_beside(target) == [target.name]
    capsys.readouterr()  # the table printed
    too_long = tmp_path / ("n" * 300 + ".csv")
    line = refused(capsys, "evaluate", table, "--baseline", BASELINE, "--per-user", too_long)
    assert "longer than this file system allows" in line


# Classes 4 and 6: directories of parquet files, read the same way by every engine.


@pytest.fixture
def parts(tmp_path):
    frame = make_demo_table(n_users=8, n_videos=30, seed=5).to_pandas()
    root = tmp_path / "parts"
    root.mkdir()
    for i, users in enumerate(np.array_split(frame["user_id"].unique(), 3)):
        frame[frame["user_id"].isin(users)].to_parquet(root / f"part-{i}.parquet", index=False)
    return root, frame


def test_a_directory_symlink_loop_is_refused_not_read_again(parts, capsys):
    root, frame = parts
    good = fastrank.evaluate(root, baselines=[BASELINE])
    assert good.n_rows == len(frame)
    (root / "loop").symlink_to(".", target_is_directory=True)
    line = refused(capsys, "evaluate", root, "--baseline", BASELINE)
    assert "directory symlink loop" in line and "loop" in line
    for engine in ("stream", "dask"):  # every engine refuses the same input with the same line
        assert refused(capsys, "evaluate", root, "--baseline", BASELINE, "--engine", engine) == line
    (root / "loop").unlink()
    (root / "again").symlink_to(root / "part-0.parquet")
    line = refused(capsys, "evaluate", root, "--baseline", BASELINE)
    assert "is the same file as" in line and f"{root / 'again'}" in line


@pytest.mark.parametrize("engine", ["memory", "stream", "dask"])
def test_a_file_of_a_directory_at_fault_is_named_with_its_column(parts, capsys, engine):
    root, _ = parts
    bad = pd.read_parquet(root / "part-1.parquet")
    bad["watch_ratio"] = bad["watch_ratio"].astype(str)  # numeric strings in one file only
    bad.to_parquet(root / "part-1.parquet", index=False)
    args = ["evaluate", root, "--baseline", BASELINE, "--engine", engine]
    line = refused(capsys, *args)
    wanted = r"part-1.parquet: column 'watch_ratio' holds (large_)?string, but .*part-0.parquet holds double"
    assert re.search(wanted, line) and line.count(str(root)) == 2 and "the same types" in line
    bad.drop(columns=["watch_ratio"]).to_parquet(root / "part-1.parquet", index=False)
    line = refused(capsys, *args)
    assert f"{root / 'part-1.parquet'}: no column 'watch_ratio'" in line  # missing, not "empty (null)"


def test_a_scheduler_address_dask_cannot_parse_exits_2(table, capsys):
    line = refused(
        capsys,
        "evaluate",
        table,
        "--baseline",
        BASELINE,
        "--engine",
        "dask",
        "--scheduler",
        "notascheme://::::",
    )
    assert "not a scheduler address" in line


# Class 5: native log lines (TensorFlow's C++ start-up) are replayed only when an import fails.


def test_a_refused_model_prints_one_line_not_the_native_log(table, tmp_path, capfd, monkeypatch):
    import types

    from fastrank.scoring import keras_model as predict

    def load_model(path, safe_mode, compile):
        os.write(2, b"E0000 cuda_executor.cc: failed call to cuInit: UNKNOWN ERROR (303)\n")
        raise ValueError("Requested the deserialization of a Lambda layer ... safe_mode=True")

    fake = types.SimpleNamespace(models=types.SimpleNamespace(load_model=load_model))
    monkeypatch.setattr(predict, "import_keras", lambda purpose="": fake)
    (tmp_path / "m.keras").write_bytes(b"PK\x03\x04 a zip archive's start, so Keras is asked")
    code = main(["evaluate", str(table), "--model", str(tmp_path / "m.keras"), "--predictor", "keras"])
    err = capfd.readouterr().err
    assert code == 2 and "cuInit" not in err and len(err.strip().splitlines()) == 1, err
    assert "safe mode" in err


def test_a_failed_import_replays_the_native_log(capfd):
    from fastrank.scoring.keras_model import native_stderr_captured as _native_stderr_captured

    with pytest.raises(ImportError), _native_stderr_captured(replay=True):
        os.write(2, b"libcudart.so: cannot open shared object file\n")
        raise ImportError("no tensorflow")
    assert "libcudart.so" in capfd.readouterr().err


# Issue 20: the runs path's hostile inputs and the regressions they found.


def test_two_columns_of_one_name_exit_2_in_one_line(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [pa.array([1, 1]), pa.array([1, 2]), pa.array([1.0, 0.0]), pa.array([0.5, 0.1])]
    names = ["user_id", "video_id", "watch_ratio", "watch_ratio"]
    pq.write_table(pa.table(columns, names=names), tmp_path / "twice.parquet")
    line = refused(capsys, "evaluate", tmp_path / "twice.parquet", "--baseline", "watch_ratio")
    assert "two columns are named 'watch_ratio'" in line
    frame = pd.DataFrame([[1, 1, 1.0, 0.5]], columns=names)
    with pytest.raises(fastrank.InputError, match="frame: two columns are named 'watch_ratio'"):
        fastrank.evaluate(frame, baselines=["watch_ratio"])


@pytest.mark.parametrize(
    ("column", "values", "wanted"),
    [
        ("user_id", [1, "a", 2, 2], r"frame: column 'user_id' mixes types .* numbers or text, not both"),
        ("video_id", [1.5, "x", 1.0, 2.0], r"frame: column 'video_id' mixes types"),
    ],
)
def test_object_columns_of_mixed_types_raise_input_error(column, values, wanted):
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "video_id": [1, 2, 1, 2], "watch_ratio": [1.0, 0, 1, 0],
                          "s": [0.9, 0.1, 0.2, 0.8]})  # fmt: skip
    frame[column] = pd.Series(values, dtype=object)
    with pytest.raises(fastrank.InputError, match=wanted):
        fastrank.evaluate(frame, baselines=["s"])


def test_uint64_ids_beyond_int64(tmp_path, capsys):
    big = np.array([2**63 + 1, 2**63 + 1, 2**64 - 1, 2**64 - 1], np.uint64)
    labels, scores = [1.0, 0.0, 1.0, 0.0], [0.9, 0.1, 0.2, 0.8]
    small = np.array([1, 1, 2, 2])
    want = fastrank.ranking_metrics(small, labels, scores, ["ndcg@2"]).mean["ndcg@2"]
    frame = pd.DataFrame({"user_id": big, "video_id": big[::-1], "watch_ratio": labels, "s": scores})
    frame.to_parquet(tmp_path / "big.parquet")
    assert fastrank.evaluate(frame, baselines=["s"], k=2, metrics=["ndcg", "coverage"]).mean("s", k=2) == want
    items = np.array([2**63 + 1, 2**63 + 2, 2**64 - 2, 2**64 - 1], np.uint64)  # each user's best: 0 and 3
    run = pd.DataFrame({"user_id": big, "item_id": items, "score": scores})
    truth = pd.DataFrame({"user_id": big[[0, 2]], "item_id": items[[0, 3]], "relevance": [1.0, 1.0]})
    run.to_parquet(tmp_path / "run.parquet")
    truth.to_parquet(tmp_path / "truth.parquet")
    assert fastrank.evaluate_run(tmp_path / "run.parquet", tmp_path / "truth.parquet").mean("run") == 1.0
    assert main(["evaluate", str(tmp_path / "big.parquet"), "--baseline", "s", "-k", "2", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("items", "wanted"),
    [
        ([1.0, np.nan, 1.0, 2.0], r"items: no id \(null\) at row 1 \(user 1\)"),
        (np.array(["a", None, "a", "b"], dtype=object), r"items: no id \(null\) at row 1 \(user 1\)"),
        (pd.array([1, None, 1, 2], "Int64"), r"items: null at row 1"),
    ],
)
def test_null_or_nan_item_ids_are_refused_for_beyond_accuracy(items, wanted):
    users, labels, scores = [1, 1, 2, 2], [1.0, 0.0, 1.0, 0.0], [0.9, 0.1, 0.2, 0.8]
    with pytest.raises(fastrank.InputError, match=wanted):
        fastrank.ranking_metrics(users, labels, scores, ["coverage@1"], items=items)
    frame = pd.DataFrame({"user_id": users, "video_id": items, "watch_ratio": labels, "s": scores})
    with pytest.raises(fastrank.InputError, match=r"column 'video_id' is empty \(null\) at row 1 \(user 1\)"):
        fastrank.evaluate(frame, baselines=["s"], metrics=["coverage"])


def test_a_nan_item_id_that_is_not_null_in_arrow_is_refused_too():
    import pyarrow as pa

    items = pa.array([1.0, np.nan, 1.0, 2.0], from_pandas=False)
    table = pa.table({"user_id": [1, 1, 2, 2], "video_id": items, "watch_ratio": [1.0, 0.0, 1.0, 0.0],
                      "s": [0.9, 0.1, 0.2, 0.8]})  # fmt: skip
    assert table.column("video_id").null_count == 0  # NaN, not null
    with pytest.raises(fastrank.InputError, match=r"'video_id' is empty \(null\) at row 1 \(user 1\)"):
        fastrank.evaluate(table, baselines=["s"])


def test_gauc_weights_that_sum_to_zero_or_overflow(table, capsys):
    users, labels, scores = [1, 1, 2, 2], [1.0, 0.0, 1.0, 0.0], [0.9, 0.1, 0.2, 0.8]
    with pytest.raises(fastrank.InputError, match="gauc: the weights of the 2 users with a value sum to 0"):
        fastrank.ranking_metrics(users, labels, scores, ["gauc"], gauc_weight=[0.0] * 4).mean
    with pytest.raises(fastrank.InputError, match="the weights of user 1 sum past the largest float64"):
        fastrank.ranking_metrics(users, labels, scores, ["gauc"], gauc_weight=[1e308] * 4)
    # Per-user sums that fit, whose total would not: the exact weighted mean (1 x 1e308 + 0) / 2.5e308.
    huge = fastrank.ranking_metrics(users, labels, scores, ["gauc"], gauc_weight=[1e308, 0, 1.5e308, 0])
    assert huge.mean["gauc"] == 0.4
    frame = make_demo_table(n_users=8, n_videos=30, seed=5).to_pandas().assign(zero=0.0)
    path = table.parent / "zero_weight.parquet"
    frame.to_parquet(path)
    line = refused(
        capsys, "evaluate", path, "--baseline", BASELINE, "--metrics", "gauc", "--gauc-weight", "zero"
    )
    assert "sum to 0, so their weighted mean is undefined" in line


def test_popularity_that_overflows_a_sum_gives_the_exact_shares():
    users, labels, scores, items = [1, 1, 2, 2], [1.0, 0.0, 1.0, 0.0], [0.9, 0.1, 0.2, 0.8], [1, 2, 1, 2]
    names = ["arp@1", "novelty@1", "long_tail@1"]
    huge = fastrank.ranking_metrics(
        users, labels, scores, names, items=items, popularity=[1e308, 1e308, 1e308, 3e307]
    )
    plain = fastrank.ranking_metrics(
        users, labels, scores, names, items=items, popularity=[10.0, 10.0, 10.0, 3.0]
    )
    assert huge.mean == plain.mean and np.isfinite(list(huge.mean.values())).all()


def test_slices_of_a_trec_truth(tmp_path, capsys):
    (tmp_path / "a.run").write_text("q1 Q0 d1 1 0.9 t\nq2 Q0 d1 1 0.9 t\n")
    (tmp_path / "b.run").write_text("q1 Q0 d2 1 0.9 t\nq2 Q0 d1 1 0.9 t\n")
    (tmp_path / "q.qrels").write_text("q1 0 d1 1\nq2 0 d1 1\n")
    runs = ["--run", tmp_path / "a.run", "--run", tmp_path / "b.run", "--truth", tmp_path / "q.qrels"]
    line = refused(capsys, "compare", *runs, "--slice-by", "region", "--resamples", "50")
    assert "--slice-by region: " in line and "is a TREC qrels file" in line and "slice by 'activity'" in line
    assert main(["compare", *map(str, runs), "--slice-by", "activity", "--resamples", "50", "--quiet"]) == 0
