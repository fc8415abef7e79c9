"""End to end: the CLI as a user runs it (subprocess), against the API and the oracles.

These tests build tiny Keras models, so they import TensorFlow (once here, once per CLI run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import ndcg_score

import fastrank
import fastrank.api.evaluate as api
from fastrank.demo import FEATURES, make_demo_table
from tests import notebook_oracle as nb
from tests.cli import in_process
from tests.records import assert_records_close

keras = pytest.importorskip("keras")
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    # PYTHONPATH: run this checkout's fastrank, also from another working directory.
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "fastrank", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    frame = make_demo_table(n_users=20, n_videos=50, seed=11).to_pandas()
    frame.to_parquet(root / "data.parquet")
    frame.sample(frac=1.0, random_state=2).to_parquet(root / "shuffled.parquet")
    keras.utils.set_random_seed(0)
    tiny = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    tiny.save(root / "tiny.keras")
    wide = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    wide.save(root / "wide.keras")
    risky = keras.Sequential(
        [keras.Input((5,)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Dense(1)]
    )
    risky.save(root / "lambda.keras")
    (root / "notamodel.keras").write_text("just text")
    return root


def test_cli_and_api_agree_and_match_the_oracles(workdir):
    out = workdir / "per_user.parquet"
    # Keras' own predict, so the oracles below see exactly the scores fastrank ranks.
    args = ["--model", workdir / "tiny.keras", "--predictor", "keras", "--baseline", "video_watch_ratio_mean"]
    args += ["-k", "5", "10"]
    done = run_cli(
        "evaluate",
        workdir / "data.parquet",
        *args,
        "--protocol",
        "standard",
        "notebook",
        "--json",
        "--per-user",
        out,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert {r["protocol"] for r in records} == {"standard", "notebook"}
    assert all("not ranking quality" in r["note"] for r in records if r["protocol"] == "notebook")

    result = api.evaluate(
        workdir / "data.parquet", workdir / "tiny.keras", baselines=["video_watch_ratio_mean"],
        k=[5, 10], protocol=["standard", "notebook"], predictor="keras",
    )  # fmt: skip
    assert [r["mean"] for r in records] == result.summary["mean"].tolist()
    assert [r["users"] for r in records] == result.summary["users"].tolist()
    # the file names the user column as the input does
    pd.testing.assert_frame_equal(pd.read_parquet(out), result.per_user.rename(columns={"user": "user_id"}))

    frame = pd.read_parquet(workdir / "data.parquet")
    model = keras.models.load_model(workdir / "tiny.keras")
    scores = model.predict(frame[list(FEATURES)].to_numpy(np.float32), batch_size=65536, verbose=0).ravel()
    per_user = result.per_user
    model_std = per_user[
        (per_user.source == "model") & (per_user.protocol == "standard") & (per_user.k == 10)
    ]
    got = model_std.set_index("user")["value"]
    for user, rows in frame.groupby("user_id"):
        want = ndcg_score([rows["watch_ratio"].to_numpy()], [scores[rows.index]], k=10)
        assert got[user] == pytest.approx(want, abs=1e-12)

    # the notebook's own code, with its per-user model.predict, on users without ties
    def predict(features):
        return model.predict(features, batch_size=2048, verbose=0)

    notebook = per_user[(per_user.source == "model") & (per_user.metric == "ndcg_notebook")].set_index(
        "user"
    )["value"]
    want = nb.per_user(frame, nb.get_user_recommendation_data, predict)
    compared = 0
    for user, value in want.items():
        rows = frame[frame.user_id == user]
        if nb.has_ties(rows["watch_ratio"]) or nb.has_ties(predict(rows[list(FEATURES)]).ravel()):
            continue
        assert notebook[user] == pytest.approx(value, abs=1e-12)
        compared += 1
    assert compared >= len(want) // 2
    rounded = per_user[(per_user.source == "model") & (per_user.metric == "ndcg_notebook_rounded")]
    want = nb.per_user(frame, nb.get_user_recommendation_data_rounded, predict)
    assert rounded.set_index("user")["value"].to_dict() == pytest.approx(want, abs=1e-12)


def test_shuffled_rows_give_the_same_table(workdir):
    a = run_cli("evaluate", workdir / "data.parquet", "--baseline", "video_watch_ratio_mean", "--json")
    b = run_cli("evaluate", workdir / "shuffled.parquet", "--baseline", "video_watch_ratio_mean", "--json")
    assert a.returncode == b.returncode == 0
    assert_records_close(json.loads(a.stdout), json.loads(b.stdout))


def test_table_output_is_readable(workdir):
    done = run_cli("evaluate", workdir / "data.parquet", "--baseline", "video_watch_ratio_mean", "--protocol",
                   "standard", "notebook", "--verbose")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{len(pd.read_parquet(workdir / 'data.parquet')):,} rows, 20 users")
    assert lines[2].split() == ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
    assert "notebook-compatible" in done.stdout and "not ranking quality" in done.stdout
    assert "time per stage: load" in done.stderr


def _bad_inputs(root):
    frame = pd.read_parquet(root / "data.parquet")
    labels = frame.watch_ratio.to_numpy().copy()
    labels[3] = np.nan
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # from_pandas=False keeps NaN a value, as writers outside pandas may; pandas would make it null
    nan_labels = table.set_column(2, "watch_ratio", pa.array(labels, from_pandas=False))
    pq.write_table(nan_labels, root / "nan.parquet")
    frame.assign(watch_ratio=frame.watch_ratio.where(frame.index != 3)).to_csv(
        root / "blank.csv", index=False
    )
    frame.iloc[:0].to_parquet(root / "empty.parquet")
    (root / "corrupt.parquet").write_bytes(b"PAR1 garbage")
    data = root / "data.parquet"
    return {
        "missing file": ([root / "nope.parquet"], "nope.parquet: no such file or directory"),
        "missing column": (
            [data, "--label-col", "rating", "--baseline", "video_watch_ratio_mean"],
            "no label column 'rating' (--label-col; 'watch_ratio' looks like it)",
        ),
        "wrong number of features": (
            [data, "--model", root / "wide.keras"],
            "the model takes 6 features, but 5",
        ),
        "NaN labels": (
            [root / "nan.parquet", "--baseline", "video_watch_ratio_mean"],
            "column 'watch_ratio': NaN at row 3",
        ),
        "blank label": (
            [root / "blank.csv", "--baseline", "video_watch_ratio_mean"],
            "column 'watch_ratio' is empty (null) at row 3",
        ),
        "empty table": (
            [root / "empty.parquet", "--baseline", "video_watch_ratio_mean"],
            "the table has no rows",
        ),
        "corrupt parquet": ([root / "corrupt.parquet"], "corrupt.parquet: cannot read as parquet"),
        "not a model": (
            [data, "--model", root / "notamodel.keras"],
            "notamodel.keras: not a readable Keras model",
        ),
        "lambda model": ([data, "--model", root / "lambda.keras"], "--no-safe-mode"),
        "bad k": (
            [data, "--baseline", "video_watch_ratio_mean", "-k", "0"],
            "-k must be an int >= 1. Got 0 instead",
        ),
        "bad option": ([data, "--frobnicate"], "unrecognized arguments: --frobnicate"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing file", "missing column", "wrong number of features", "NaN labels", "blank label", "empty table",
     "corrupt parquet", "not a model", "lambda model", "bad k", "bad option"],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_no_output_file(workdir, case):
    args, message = _bad_inputs(workdir)[case]
    out = workdir / f"out-{case.replace(' ', '-')}.parquet"
    done = run_cli("evaluate", *args, "--per-user", out)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("fastrank") and message in lines[0], lines[0]
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert not [p for p in os.listdir(workdir) if p.startswith(".out-")]


def test_lambda_model_loads_with_no_safe_mode(workdir, capsys):
    code, out, err = in_process(
        capsys,
        "evaluate",
        workdir / "data.parquet",
        "--model",
        workdir / "lambda.keras",
        "--no-safe-mode",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)[0]["source"] == "model"


def test_compare_runs_on_the_demo_with_no_arguments(tmp_path):
    """The acceptance check of `python -m fastrank compare`: demo table, demo model, baseline."""
    done = run_cli("compare", "--resamples", "2000", "--plot", tmp_path / "plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "user-level bootstrap, 95% intervals" in lines[0]
    assert lines[2].split()[:5] == ["slice", "metric", "k", "source", "mean"]
    assert any(
        line.split()[:6] == ["all", "users", "ndcg", "10", "model", "video_watch_ratio_mean"]
        for line in lines
    )
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "curve.png",
        "distribution_ndcg@10.png",
        "scatter_ndcg@10.png",
    ]


def test_compare_json_and_bad_slice(workdir):
    sources = ["--baseline", "video_watch_ratio_mean", "--baseline", "user_feat_watch_ratio_mean"]
    done = run_cli(
        "compare",
        workdir / "data.parquet",
        *sources,
        "--resamples",
        "500",
        "--slice-by",
        "activity",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"intervals", "comparisons", "overall", "pairs"} == set(out)
    assert {r["slice"] for r in out["comparisons"]} >= {"all users"}
    bad = run_cli(
        "compare", workdir / "data.parquet", "--baseline", "video_watch_ratio_mean", "--slice-by", "video_id"
    )
    assert bad.returncode == 2 and "not constant within user" in bad.stderr and "Traceback" not in bad.stderr


def test_numpy_and_keras_predictors_agree_and_numpy_refuses_a_lambda(workdir, capsys):
    model = ["--model", workdir / "tiny.keras"]
    runs = {
        p: in_process(capsys, "evaluate", workdir / "data.parquet", *model, "--predictor", p, "--json")
        for p in ("numpy", "keras", "auto")
    }
    assert all(code == 0 for code, _, _ in runs.values()), {p: err for p, (_, _, err) in runs.items()}
    means = {p: json.loads(out)[0]["mean"] for p, (_, out, _) in runs.items()}
    assert means["numpy"] == means["auto"]
    assert means["numpy"] == pytest.approx(means["keras"], abs=1e-5)
    code, _, err = in_process(
        capsys,
        "evaluate",
        workdir / "data.parquet",
        "--model",
        workdir / "lambda.keras",
        "--predictor",
        "numpy",
    )
    assert code == 2 and "numpy predictor cannot run this model: Lambda layer" in err


def test_the_demo_evaluation_never_imports_tensorflow():
    code = (
        "import sys, fastrank\n"
        "result = fastrank.evaluate()\n"
        "assert result.summary['source'].tolist() == ['model', 'video_watch_ratio_mean'], result.summary\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


# In-process runs of the CLI (fastrank.cli.commands), for what needs no fresh interpreter.


def test_version(capsys):
    from fastrank import __version__
    from fastrank.cli.commands import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"fastrank {__version__}"


def test_scores_given_twice_is_refused(workdir, capsys):
    from fastrank.cli.commands import main

    with pytest.raises(SystemExit) as done:
        main(
            ["evaluate", str(workdir / "data.parquet"), "--scores", "video_watch_ratio_mean", "--scores", "x"]
        )
    err = capsys.readouterr().err
    assert done.value.code == 2 and len(err.strip().splitlines()) == 1 and "--scores given twice" in err


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_per_user_is_written_by_suffix_with_the_inputs_user_column(workdir, tmp_path, capsys, suffix):
    from fastrank.cli.commands import main

    out = tmp_path / f"values{suffix}"
    args = ["evaluate", str(workdir / "data.parquet"), "--baseline", "video_watch_ratio_mean"]
    assert main([*args, "--user-col", "user_id", "--per-user", str(out)]) == 0
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    want = api.evaluate(workdir / "data.parquet", baselines=["video_watch_ratio_mean"]).per_user
    assert list(frame.columns) == ["user_id", *want.columns[1:]]
    np.testing.assert_array_equal(frame["user_id"], want["user"])
    np.testing.assert_allclose(frame["value"], want["value"], rtol=1e-15)
    assert f"wrote {len(want):,} per-user rows to {out}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("values.txt", "no known table suffix"),
        ("", "the path is empty"),
        ("missing/values.csv", "does not exist"),
    ],
)
def test_per_user_targets_that_cannot_be_written_fail_first(
    workdir, tmp_path, capsys, monkeypatch, target, message
):
    from fastrank.cli.commands import main

    monkeypatch.chdir(tmp_path)
    args = ["evaluate", str(workdir / "data.parquet"), "--baseline", "video_watch_ratio_mean"]
    assert main([*args, "--per-user", target]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_help_describes_what_is_computed(capsys):
    from fastrank.cli.commands import main

    for args, wanted in (
        (["--help"], "per-user ranking metrics"),
        (["compare", "--help"], "default: percentile"),
    ):
        with pytest.raises(SystemExit):
            main(args)
        text = " ".join(capsys.readouterr().out.split())
        assert wanted in text and "per-user NDCG of" not in text


def test_compare_with_a_single_source_says_there_is_nothing_to_compare(workdir, capsys):
    from fastrank.cli.commands import main

    assert main(["compare", str(workdir / "data.parquet"), "--baseline", "video_watch_ratio_mean"]) == 0
    captured = capsys.readouterr()
    assert "the only source, so there is nothing to compare it with" in captured.err


def test_a_p_value_at_the_tests_resolution_is_printed_as_a_bound(workdir, tmp_path, capsys):
    from fastrank.cli.commands import main

    frame = pd.read_parquet(workdir / "data.parquet")
    frame["oracle"] = frame["watch_ratio"] + 1.0  # ranks exactly as the labels: clearly the better source
    frame.to_parquet(tmp_path / "data.parquet")
    args = [
        "compare",
        str(tmp_path / "data.parquet"),
        "--scores",
        "oracle",
        "--baseline",
        "video_watch_ratio_mean",
    ]
    assert main([*args, "--resamples", "99"]) == 0
    row = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("all users") and "oracle" in line
    ]
    assert "≤ 0.0200" in row[-1], row  # 2 / (99 + 1): no resample was as extreme


def test_library_messages_name_python_arguments_and_the_cli_names_flags(workdir, capsys):
    from fastrank.cli.commands import main

    with pytest.raises(fastrank.InputError, match=r"with features=$"):
        api.evaluate(workdir / "data.parquet", workdir / "wide.keras")
    assert main(["evaluate", str(workdir / "data.parquet"), "--model", str(workdir / "wide.keras")]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("with --features") and "features=" not in err


def _kernel(module):
    import numba

    def kernel(x):
        return x + 1

    kernel.__module__ = module  # a kernel of that module, compiled for the first time
    return numba.njit(kernel)


def test_the_compile_note_names_each_family_of_kernels_once_and_only_fastrank_s():
    from fastrank.kernels.jit import on_first_compile

    tables = _kernel("fastrank.kernels.grouped")
    runs = _kernel("fastrank.kernels.ranked")
    other = _kernel("someone.else")
    calls = []
    with on_first_compile(calls.append, delay=0):
        other(1)
        assert calls == []  # someone else's function compiling is not fastrank's first run
        tables(1), tables(1.5)  # two compilations, one note
        runs(1)
    assert calls == ["ranking-metric kernels for tables", "ranking-metric kernels for runs"]


def test_a_compile_shorter_than_the_delay_says_nothing():
    """Small helpers compile in a moment, often just before an input error: no note, one line."""
    from fastrank.kernels.jit import on_first_compile

    quick = _kernel("fastrank.kernels.checks")
    calls = []
    with on_first_compile(calls.append, delay=30):
        quick(1)
    assert calls == []


def test_the_compile_note_is_printed_for_a_compile_that_takes_longer(capsys, monkeypatch):
    import time

    from fastrank.cli import commands as cli

    slow = _kernel("fastrank.kernels.exposure")

    def evaluate_slowly(args):
        from numba.core import event

        # A compile event that lasts past the note's delay, as a cold cache's kernels do.
        with event.trigger_event("numba:compile", data={"dispatcher": slow, "args": (), "return_type": None}):
            time.sleep(1.5)
        return 0

    monkeypatch.setattr(cli, "_evaluate_command", evaluate_slowly)
    assert cli.main(["evaluate"]) == 0
    err = capsys.readouterr().err
    assert err == "fastrank: " + cli.COMPILING.format(family="beyond-accuracy kernels") + "\n"
    assert cli.main(["evaluate", "--quiet"]) == 0 and capsys.readouterr().err == ""
