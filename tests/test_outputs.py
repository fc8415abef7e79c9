"""Outputs (fastrank.outputs): never written over an input, written atomically, and a failed
write (a full disk) leaves the target as it was, with one line from the CLI."""

from __future__ import annotations

import errno
import os

import pandas as pd
import pytest

import fastrank
from fastrank.demo import make_demo_table

from .cli import refused

BASELINE = "video_watch_ratio_mean"


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "data.parquet"
    make_demo_table(n_users=6, n_videos=20, seed=3).to_pandas().to_parquet(data)
    run, truth = tmp_path / "run.trec", tmp_path / "qrels.parquet"
    run.write_text("a Q0 x 1 0.3 t\na Q0 y 2 0.2 t\n")
    pd.DataFrame({"user_id": ["a"], "item_id": ["x"], "relevance": [1.0]}).to_parquet(truth)
    return data, run, truth


def _runs(run, truth, *more):
    return ["evaluate", "--run", run, "--truth", truth, *more]


def test_per_user_onto_the_truth_is_refused_and_the_truth_kept(files, capsys):
    _, run, truth = files
    before = truth.read_bytes()
    err = refused(capsys, *_runs(run, truth, "--per-user", truth))
    assert f"--per-user: {truth} is the input {truth}; writing it would destroy the input" in err
    assert truth.read_bytes() == before


def test_an_output_that_reaches_an_input_through_a_link_isrefused(files, tmp_path, capsys):
    data, run, truth = files
    (tmp_path / "soft.parquet").symlink_to(truth)
    os.link(data, tmp_path / "hard.parquet")
    assert "is the input" in refused(capsys, *_runs(run, truth, "--per-user", tmp_path / "soft.parquet"))
    err = refused(capsys, "evaluate", data, "--baseline", BASELINE, "--per-user", tmp_path / "hard.parquet")
    assert "is the input" in err
    inside = tmp_path / "dataset"
    inside.mkdir()
    (inside / "part.parquet").write_bytes(data.read_bytes())
    err = refused(capsys, "evaluate", inside, "--baseline", BASELINE, "--per-user", inside / "values.parquet")
    assert "is inside the input directory" in err


def test_a_plot_over_an_input_is_refused_before_any_work(tmp_path, capsys):
    plots = tmp_path / "plots"
    plots.mkdir()
    victim = plots / "scatter_ndcg@10.png"
    make_demo_table(n_users=6, n_videos=20, seed=3).to_pandas().to_parquet(victim)  # an input by that name
    before = victim.read_bytes()
    args = ["compare", victim, "--baseline", BASELINE, "--baseline", "user_watch_ratio_mean", "--plot", plots]
    assert "--plot: " in refused(capsys, *args) and victim.read_bytes() == before
    with pytest.raises(fastrank.InputError, match="writing it would destroy the input"):
        fastrank.compare(victim, baselines=[BASELINE], plot_dir=plots, n_resamples=10)


def test_a_full_disk_leaves_the_target_untouched_and_no_temporary(files, tmp_path, capsys, monkeypatch):
    import pyarrow.parquet as pq

    data, _, _ = files
    target = tmp_path / "out.parquet"
    target.write_bytes(b"the old file")

    def full(table, where, **kwargs):
        with open(where, "wb") as out:
            out.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    err = refused(capsys, "evaluate", data, "--baseline", BASELINE, "--per-user", target)
    assert "out.parquet: cannot write (No space left on device); nothing was written there" in err
    assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data.parquet",
        "out.parquet",
        "qrels.parquet",
        "run.trec",
    ]


def test_a_path_with_a_line_break_is_printed_on_one_line(files, tmp_path, capsys):
    err = refused(capsys, "evaluate", tmp_path / "two\nlines.parquet", "--baseline", BASELINE)
    assert "two\\nlines.parquet" in err
    # Every message is one line, whatever prints a path: the CLI escapes what is left.
    err = refused(
        capsys,
        "evaluate",
        files[0],
        "--baseline",
        BASELINE,
        "--per-user",
        tmp_path / "new\ndir" / "x.parquet",
    )
    assert "new\\ndir does not exist" in err


def test_buckets_inside_the_input_directory_arerefused(tmp_path, capsys):
    from fastrank.engines.bucketing import bucketize

    data = tmp_path / "dataset"
    data.mkdir()
    make_demo_table(n_users=6, n_videos=20, seed=3).to_pandas().to_parquet(data / "part.parquet")
    err = refused(capsys, "bucketize", data, data / "buckets", "--buckets", "2")
    assert "is inside the input directory" in err and not (data / "buckets").exists()
    with pytest.raises(fastrank.InputError, match="inside the input directory"):
        bucketize(data, data / "buckets", 2)
