"""A path that needs an optional extra the install lacks: one line naming the pip command, exit 2.

Each case runs in a subprocess whose imports of the extra's modules fail as they do where the
extra is not installed (a meta-path finder raising ModuleNotFoundError), from the CLI and the API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastrank.demo import DEMO_MODEL_PATH, make_demo_table

ROOT = Path(__file__).resolve().parents[1]

HIDE = textwrap.dedent(
    """
    import importlib.abc, sys

    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NotInstalled())
    """
)


def run_without(hidden: set[str], code: str) -> subprocess.CompletedProcess:
    script = f"HIDDEN = {sorted(hidden)!r}\n{HIDE}\n{textwrap.dedent(code)}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )


def cli_without(hidden: set[str], *args: object) -> subprocess.CompletedProcess:
    return run_without(hidden, f"from fastrank.cli import main\nsys.exit(main({[str(a) for a in args]!r}))")


def assert_one_line_naming(done: subprocess.CompletedProcess, extra: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f'pip install "fastrank[{extra}]"' in lines[0]
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    root = tmp_path_factory.mktemp("extras")
    make_demo_table(n_users=12, n_videos=40, seed=3).to_pandas().to_parquet(root / "data.parquet")
    return root / "data.parquet"


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory):
    keras = pytest.importorskip("keras")
    path = tmp_path_factory.mktemp("extras_model") / "lambda.keras"
    keras.Sequential([keras.Input((5,)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Dense(1)]).save(
        path
    )
    return path


KERAS = {"keras", "tensorflow"}


def test_the_notebooks_case_on_a_base_install_names_the_keras_extra(table, lambda_model):
    done = cli_without(KERAS, "evaluate", table, "--model", lambda_model, "--no-safe-mode")
    assert_one_line_naming(done, "keras")
    assert str(lambda_model) in done.stderr and "Lambda" in done.stderr


@pytest.mark.parametrize("command", ["evaluate", "compare"])
def test_forcing_the_keras_predictor_names_the_keras_extra(table, command):
    done = cli_without(KERAS, command, table, "--model", DEMO_MODEL_PATH, "--predictor", "keras")
    assert_one_line_naming(done, "keras")


def test_the_api_raises_missing_extra_for_keras(table, lambda_model):
    done = run_without(
        KERAS,
        f"""
        import fastrank
        from fastrank.extras import MissingExtra
        for call in (
            lambda: fastrank.evaluate({str(table)!r}, {str(lambda_model)!r}, safe_mode=False),
            lambda: fastrank.compare({str(table)!r}, {str(DEMO_MODEL_PATH)!r}, predictor="keras"),
            lambda: fastrank.RankingMetrics,
        ):
            try:
                call()
            except MissingExtra as error:
                assert isinstance(error, fastrank.InputError)
                print(error)
            else:
                raise SystemExit("no error")
        """,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3 and all('pip install "fastrank[keras]"' in line for line in lines), lines


def test_the_base_install_runs_the_demo_model_and_baselines_without_any_extra(table):
    hidden = KERAS | {"matplotlib", "dask", "distributed"}
    args = ["evaluate", table, "--model", DEMO_MODEL_PATH, "--baseline", "video_watch_ratio_mean", "--quiet"]
    done = cli_without(hidden, *args)
    assert done.returncode == 0, done.stderr
    assert "model" in done.stdout and "video_watch_ratio_mean" in done.stdout


def test_plots_without_matplotlib_fail_before_the_work(table, tmp_path):
    done = cli_without({"matplotlib"}, "compare", table, "--baseline", "video_watch_ratio_mean",
                       "--plot", tmp_path / "plots")  # fmt: skip
    assert_one_line_naming(done, "plot")
    assert not (tmp_path / "plots").exists()
    api = run_without(
        {"matplotlib"},
        f"""
        import fastrank
        try:
            fastrank.compare({str(table)!r}, baselines=["video_watch_ratio_mean"], plot_dir={str(tmp_path)!r})
        except fastrank.InputError as error:
            print(type(error).__name__, error)
        """,
    )
    assert api.stdout.startswith("MissingExtra ") and 'pip install "fastrank[plot]"' in api.stdout, api


@pytest.mark.parametrize("hidden", ["dask", "distributed"])
def test_the_dask_engine_without_dask_names_the_dask_extra(table, hidden):
    done = cli_without(
        {hidden}, "evaluate", table, "--baseline", "video_watch_ratio_mean", "--engine", "dask"
    )
    assert_one_line_naming(done, "dask")
    api = run_without(
        {hidden},
        f"""
        import fastrank
        try:
            fastrank.evaluate({str(table)!r}, baselines=["video_watch_ratio_mean"], engine="dask")
        except fastrank.InputError as error:
            print(type(error).__name__, error)
        """,
    )
    assert api.stdout.startswith("MissingExtra ") and 'pip install "fastrank[dask]"' in api.stdout, api
