"""Command-line flags and the library's options, both ways: the parsed flags as the
:class:`~fastrank.api.options.Options` or :class:`~fastrank.api.options.RunOptions` the API takes, and the
API's messages (which name Python arguments) with the flags a command-line user types."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

from ..api.options import Options, RunOptions
from ..errors import InputError

# The library's messages name Python arguments; at the command line the same advice names flags.
_FLAGS_FOR_ARGUMENTS = {  # the irregular ones; for_command_line maps any other name= itself
    "safe_mode=False": "--no-safe-mode",
    "allow_shared_columns=True": "--allow-shared-columns",
    "baselines=": "--baseline",
    "n_buckets=": "--buckets",
    "plot_dir:": "--plot:",
    "plot_dir=": "--plot",
    "(fastrank.evaluate)": "(fastrank evaluate DATA, not --run)",
    "pass a dict {name: run}": "name each run: --run NAME=PATH",
}


# "The 'n_resamples' parameter must be ..." reads "--resamples must be ..." at the command line.
_FLAG_OF_PARAMETER = {"k": "-k", "n_resamples": "--resamples", "n_buckets": "--buckets",
                      "buckets": "--buckets", "method": "--ci-method", "plot_dir": "--plot"}  # fmt: skip


def for_command_line(message: str) -> str:
    """``message`` with the Python arguments it names replaced by their command-line flags."""
    for argument, flag in _FLAGS_FOR_ARGUMENTS.items():
        message = re.sub(rf"(?<![\w-]){re.escape(argument)}", flag, message)
    # Any other ``name='value'`` or bare ``name=`` is the flag of the same name.
    message = re.sub(
        r"(?<![\w'-])([a-z]+(?:_[a-z]+)*)='([\w.@-]+)'", lambda m: f"--{dashed(m[1])} {m[2]}", message
    )
    message = re.sub(r"(?<![\w'-])([a-z]+(?:_[a-z]+)*)=(?=[\s,;)]|$)", lambda m: f"--{dashed(m[1])}", message)
    return re.sub(
        r"The '(\w+)' parameter",
        lambda match: _FLAG_OF_PARAMETER.get(match[1], "--" + match[1].replace("_", "-")),
        message,
    )


def dashed(name: str) -> str:
    return name.replace("_", "-")


_TABLE_ONLY = ("data", "model", "scores", "baseline", "features", "min_items", "batch_size", "protocol",
               "chunk_rows", "scheduler", "workers", "stream", "no_safe_mode",
               "allow_shared_columns", "gauc_weight")  # fmt: skip
_RUN_ONLY = ("score_col", "rank_col", "map_denominator", "empty_run", "depth", "judged_only", "duplicates",
             "catalog", "popularity")  # fmt: skip
# Options that describe a table: given without DATA, the demo must not run in its place.
_ABOUT_DATA = ("model", "scores", "baseline", "features", "user_col", "item_col", "label_col", "gauc_weight",
               "popularity_col", "delimiter", "allow_shared_columns")  # fmt: skip
# Options that take several values: the ones that can swallow a DATA written after them.
_SEVERAL = ("features", "metrics", "protocol", "k")


def _flag(dest: str) -> str:
    return {"data": "DATA", "k": "-k"}.get(dest, "--" + dashed(dest))


def runs_given(args: argparse.Namespace) -> bool:
    return bool(args.run or args.truth)


def check_data_given(args: argparse.Namespace) -> None:
    """Refuse to run the demo in place of the user's data: DATA is missing while options about a
    table are given, or an option that takes several values took DATA as one of them."""
    if args.data is not None or runs_given(args):
        return
    for dest in _SEVERAL:
        values = getattr(args, dest, None) or []
        if values and isinstance(values[-1], str) and os.path.isfile(values[-1]):
            raise InputError(
                f"DATA is missing: {_flag(dest)} took {values[-1]!r} as one of its values; put DATA before "
                f"the options (fastrank {args.command} {values[-1]} {_flag(dest)} ...) or after -- "
                f"({_flag(dest)} ... -- {values[-1]})"
            )
    about = [dest for dest in _ABOUT_DATA if getattr(args, dest, None) not in (None, [], False)]
    if about:
        raise InputError(
            f"DATA is missing, but {_flag(about[0])} describes it; put DATA before the options "
            f"(fastrank {args.command} data.parquet {_flag(about[0])} ...) or after -- "
            "(... -- data.parquet); the demo runs only when no option about data is given"
        )


def _given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options ``names`` given on the command line (flag destinations are the API's names):
    those left out take the API's defaults, declared once in its records."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


_SHARED = ("k", "metrics", "threshold", "ties", "gain", "max_grade", "tail_share", "tail_ties",
           "popularity_col", "exclude", "item_features", "history", "cooccurrence", "user_col", "item_col",
           "label_col", "delimiter", "input_format")  # fmt: skip


def run_options(args: argparse.Namespace) -> tuple[Any, RunOptions]:
    """The runs (a dict when any is named ``NAME=PATH``) and :class:`~fastrank.api.options.RunOptions`
    of ``--run ... --truth ...``; table options refused."""
    if not (args.run and args.truth):
        raise InputError("--run and --truth go together: the runs are evaluated against the truth")
    given = [dest for dest in _TABLE_ONLY if getattr(args, dest, None)]
    given += [name for name in ("engine", "predictor") if getattr(args, name) is not None]
    if given:
        raise InputError(f"{_flag(given[0])} is for evaluating a table; with --run and --truth, leave it out")
    return named_runs(args.run), RunOptions(**_given(args, (*_SHARED, *_RUN_ONLY)))


def named_runs(values: list[str]) -> Any:
    """``--run`` values as the API takes them: the paths, or a dict {name: path} when some are
    given as ``NAME=PATH`` (a value that is an existing path is a path, ``=`` or not); the others
    are named by their file names."""
    from ..api.runs import run_sources

    named: dict[str, str] = {}
    unnamed: list[str] = []
    for value in values:
        name, equals, path = value.partition("=")
        if equals and name and not os.path.exists(value):
            if name in named:
                raise InputError(f"--run: two runs are named {name!r}; give each run its own name")
            named[name] = path
        else:
            unnamed.append(value)
    if not named:
        return values
    runs = dict(run_sources(unnamed)) if unnamed else {}
    clash = sorted(set(runs) & set(named))
    if clash:
        raise InputError(f"--run: two runs are named {clash[0]!r}; give each run its own name")
    return {**named, **runs}


def table_options(args: argparse.Namespace) -> Any:
    """The :class:`~fastrank.api.options.Options` both commands share; they are checked by the API."""
    given = [dest for dest in _RUN_ONLY if getattr(args, dest) is not None]
    if given:
        raise InputError(f"{_flag(given[0])} is for evaluating runs (--run and --truth)")
    if args.ties == "trec":
        raise InputError(
            "--ties is for evaluating runs when it is trec (trec_eval's order, by item id); a table's "
            "ties are average, pessimistic or optimistic"
        )
    engine = args.engine
    if args.stream:
        if engine not in (None, "auto", "stream"):
            raise InputError(f"--stream contradicts --engine {engine}; give one of them")
        engine = "stream"
    table_only = ("model", "scores", "features", "gauc_weight", "protocol", "min_items",
                  "batch_size", "predictor", "chunk_rows", "scheduler", "workers")  # fmt: skip
    given = _given(args, (*_SHARED, *table_only))
    if args.item_col == "":  # --item-col "": no item column
        given["item_col"] = None
    return Options(
        **given, baselines=args.baseline, safe_mode=not args.no_safe_mode, engine=engine or "auto",
        progress=not args.quiet and sys.stderr.isatty(), allow_shared_columns=args.allow_shared_columns,
    )  # fmt: skip
