"""``python -m fastrank evaluate | compare | bucketize``: argument parsing and printing only; the
work is :func:`fastrank.evaluate`, :func:`fastrank.compare` and :func:`fastrank.bucketing.bucketize`.

Exit codes: 0 ok, 2 bad usage or bad input (one line on stderr), 3 the engine could not finish
(Dask workers lost beyond retries; one line), 1 internal error (a bug).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from ._jit import on_first_compile
from .errors import EngineError, InputError

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_ENGINE = 0, 1, 2, 3
COMPILING = "compiling kernels for this machine (first run only; later runs load them from a cache)"


def _say(message: str) -> None:
    print(f"fastrank: {message}", file=sys.stderr, flush=True)


# The library's messages name Python arguments; at the command line the same advice names flags.
_FLAGS_FOR_ARGUMENTS = {
    "safe_mode=False": "--no-safe-mode",
    "predictor='numpy'": "--predictor numpy",
    "predictor='auto'": "--predictor auto",
    "engine='memory'": "--engine memory",
    "model=": "--model",
    "scores=": "--scores",
    "baselines=": "--baseline",
    "features=": "--features",
    "n_buckets=": "--buckets",
    "allow_shared_columns=True": "--allow-shared-columns",
    "plot_dir:": "--plot:",
    "user_col=": "--user-col",
    "item_col=": "--item-col",
    "label_col=": "--label-col",
}


# "The 'n_resamples' parameter must be ..." reads "--resamples must be ..." at the command line.
_FLAG_OF_PARAMETER = {"k": "-k", "n_resamples": "--resamples", "n_buckets": "--buckets",
                      "buckets": "--buckets", "method": "--ci-method", "plot_dir": "--plot"}  # fmt: skip


def for_command_line(message: str) -> str:
    """``message`` with the Python arguments it names replaced by their command-line flags."""
    for argument, flag in _FLAGS_FOR_ARGUMENTS.items():
        message = re.sub(rf"(?<![\w-]){re.escape(argument)}", flag, message)
    return re.sub(
        r"The '(\w+)' parameter",
        lambda match: _FLAG_OF_PARAMETER.get(match[1], "--" + match[1].replace("_", "-")),
        message,
    )


class _Once(argparse.Action):
    """An option that takes one value and refuses to be given twice (the last would win silently)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        if getattr(namespace, self.dest) is not None:
            parser.error(f"{option_string} given twice; it takes one column (--baseline takes several)")
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other input error, instead of argparse's usage block.
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="fastrank", description="Exact, fast ranking-quality evaluation for recommender models."
    )
    parser.add_argument("--version", action="version", version=f"fastrank {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = commands.add_parser(
        "evaluate",
        help="per-user ranking metrics of a Keras model and baselines on a user x item table",
        description=(
            "Evaluate per-user ranking quality (NDCG, DCG, precision, recall, hit rate, MRR, MAP) on a "
            "user x item table. Without DATA, runs the built-in demo: a synthetic KuaiRec-shaped table, "
            "the shipped demo model and a popularity baseline."
        ),
    )
    _add_inputs(ev)
    ev.add_argument(
        "--protocol", nargs="+", choices=["standard", "notebook"], default=["standard"],
        help="standard: per-user --metrics at each -k, scores vs labels (default); notebook: the KuaiRec "
        "notebook's item-id NDCG, for migrating users",
    )  # fmt: skip
    ev.add_argument(
        "--per-user", metavar="PATH",
        help="write per-user values to this file: .parquet (or .pq) or .csv, by its suffix",
    )  # fmt: skip
    _add_output(ev)

    cmp = commands.add_parser(
        "compare",
        help="confidence intervals and paired tests of each source against a reference",
        description=(
            "Evaluate like 'evaluate', then give every source's mean with a user-level bootstrap "
            "interval and compare each source with a reference: mean difference with its interval, "
            "paired randomization and t-test p-values (Holm-adjusted), effect size, wins/ties/losses. "
            "Without DATA, runs the built-in demo."
        ),
    )
    _add_inputs(cmp)
    cmp.add_argument("--reference", help="source compared against (default: the first baseline)")
    cmp.add_argument(
        "--resamples",
        type=int,
        default=10_000,
        help="bootstrap and sign-flip resamples (default: %(default)s)",
    )
    cmp.add_argument(
        "--seed", type=int, default=0, help="random seed: same seed, same numbers (default: %(default)s)"
    )
    cmp.add_argument("--confidence", type=float, default=0.95, help="interval level (default: %(default)s)")
    cmp.add_argument(
        "--ci-method", choices=["percentile", "bca"], default="percentile",
        help="bootstrap interval (default: %(default)s)",
    )  # fmt: skip
    cmp.add_argument(
        "--slice-by", metavar="COLUMN", help="a user-level column, or 'activity' (row-count quartiles)"
    )
    cmp.add_argument("--plot", metavar="DIR", help="write distribution, scatter and NDCG@k curve PNGs there")
    _add_output(cmp)

    bucket = commands.add_parser(
        "bucketize",
        help="hash-partition a table by user into N parquet files sorted by user, for --stream and dask",
        description=(
            "Split a table into N parquet files by a stable hash of the user id: each user's rows land "
            "in one file, each file is sorted by user (rows of a user keep their order), and a manifest "
            "lists the files. Works on tables larger than memory. The output directory must not exist."
        ),
    )
    bucket.add_argument("data", help="parquet file, directory of parquet files, or CSV")
    bucket.add_argument("out", help="output directory (created; must not exist yet)")
    bucket.add_argument("--buckets", type=int, required=True, metavar="N", help="number of files")
    bucket.add_argument("--user-col", default="user_id", help="user id column (default: %(default)s)")
    bucket.add_argument("--quiet", action="store_true", help="print nothing on success")
    return parser


def _add_inputs(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "data", nargs="?", help="parquet file, directory of parquet files, or CSV (default: the demo)"
    )
    sub.add_argument("--model", help="Keras model file (.keras) scored in one whole-matrix predict")
    sub.add_argument(
        "--scores", metavar="COLUMN", action=_Once,
        help="column of precomputed scores to evaluate (no model needed)",
    )  # fmt: skip
    sub.add_argument(
        "--baseline", metavar="COLUMN", action="append", default=[], help="score column, as is; repeatable"
    )
    sub.add_argument("--user-col", default="user_id", help="user id column (default: %(default)s)")
    sub.add_argument("--item-col", default="video_id", help="item id column (default: %(default)s)")
    sub.add_argument(
        "--label-col", default="watch_ratio", help="relevance label column (default: %(default)s)"
    )
    sub.add_argument(
        "--features", metavar="COLUMN", nargs="+", help="model input columns (default: all others)"
    )
    sub.add_argument("-k", type=int, nargs="+", default=[10], help="cutoffs (default: 10)")
    sub.add_argument(
        "--metrics", nargs="+", default=["ndcg"], metavar="NAME",
        help="metrics at each k: ndcg (default), dcg, precision, recall, hit_rate, mrr, map",
    )  # fmt: skip
    sub.add_argument(
        "--threshold",
        type=float,
        default=1.0,
        help="binary metrics: relevant when label >= this (default: 1.0)",
    )
    sub.add_argument(
        "--min-items", type=int, default=2, help="exclude users with fewer rows (default: %(default)s)"
    )
    sub.add_argument("--batch-size", type=int, default=None, help="rows per predict batch (default: 65536)")
    sub.add_argument(
        "--predictor", choices=["auto", "numpy", "keras"], default="auto",
        help="auto: numpy forward pass when every layer is supported, else Keras (default)",
    )  # fmt: skip
    sub.add_argument(
        "--allow-shared-columns", action="store_true",
        help="let the user, item or label column also be a score or a feature (refused by default)",
    )  # fmt: skip
    sub.add_argument(
        "--no-safe-mode", action="store_true",
        help="load models holding Python code (Lambda layers): runs code from the file; trusted files only",
    )  # fmt: skip
    engine = sub.add_argument_group("engine (where the work runs; every engine gives the same numbers)")
    engine.add_argument(
        "--engine", choices=["auto", "memory", "stream", "dask"], default="auto",
        help="auto: in memory, or streamed when the input is too large for memory (default)",
    )  # fmt: skip
    engine.add_argument(
        "--stream", action="store_true",
        help="same as --engine stream: chunks of whole users; input sorted by user or bucketed",
    )  # fmt: skip
    engine.add_argument(
        "--chunk-rows", type=int, default=None, metavar="N",
        help="streaming: rows per chunk, which sets peak memory (default: 1048576)",
    )  # fmt: skip
    engine.add_argument(
        "--scheduler", metavar="ADDRESS", help="dask: an existing cluster's scheduler, e.g. tcp://host:8786"
    )
    engine.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="dask without --scheduler: local worker processes, one thread each (default: one per core)",
    )  # fmt: skip


def _add_output(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.add_argument("--verbose", action="store_true", help="report time per stage on stderr")
    sub.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of evaluate() shared by both commands."""
    from .predict import DEFAULT_BATCH_SIZE

    if args.min_items < 1:
        raise InputError(f"--min-items must be >= 1, got {args.min_items}")
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise InputError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    engine = args.engine
    if args.stream:
        if engine not in ("auto", "stream"):
            raise InputError(f"--stream contradicts --engine {engine}; give one of them")
        engine = "stream"
    if (args.scheduler or args.workers) and engine != "dask":
        raise InputError("--scheduler and --workers need --engine dask")
    if args.scheduler and args.workers:
        raise InputError("--workers starts a local cluster; with --scheduler the cluster has its own workers")
    if args.chunk_rows is not None and engine not in ("auto", "stream"):
        raise InputError(f"--chunk-rows is for streaming, not for --engine {engine}")
    return {
        "scores": args.scores,
        "baselines": args.baseline,
        "user_col": args.user_col,
        "item_col": args.item_col or None,
        "label_col": args.label_col,
        "features": args.features,
        "k": args.k,
        "metrics": args.metrics,
        "threshold": args.threshold,
        "min_items": args.min_items,
        "batch_size": args.batch_size or DEFAULT_BATCH_SIZE,
        "safe_mode": not args.no_safe_mode,
        "predictor": args.predictor,
        "progress": not args.quiet and sys.stderr.isatty(),
        "engine": engine,
        "chunk_rows": args.chunk_rows,
        "scheduler": args.scheduler,
        "workers": args.workers,
        "allow_shared_columns": args.allow_shared_columns,
    }


def _notes(args: argparse.Namespace, evaluation: Any) -> None:
    if not args.quiet:
        for note in evaluation.notes:
            if not note.startswith("notebook-compatible"):
                print(f"fastrank: {note}", file=sys.stderr)
    if args.verbose:
        stages = " | ".join(f"{stage} {seconds:.2f} s" for stage, seconds in evaluation.timings.items())
        print(f"fastrank: time per stage: {stages}", file=sys.stderr)


def _evaluate_command(args: argparse.Namespace) -> int:
    from .api import evaluate
    from .io import check_writable, write_table_atomic

    inputs = _inputs(args)
    per_user = None if args.per_user is None else check_writable(args.per_user, "--per-user")
    result = evaluate(args.data, args.model, protocol=args.protocol, **inputs)
    _notes(args, result)
    if per_user is not None:
        import pyarrow as pa

        frame = result.per_user
        if args.user_col not in frame.columns:  # the user column keeps its name from the input
            frame = frame.rename(columns={"user": args.user_col})
        write_table_atomic(pa.Table.from_pandas(frame, preserve_index=False), per_user)
        if not args.quiet:
            _say(f"wrote {len(frame):,} per-user rows to {per_user}")
    if args.json:
        print(json.dumps(_json_records(result), indent=2))
    else:
        print(format_table(result))
    return EXIT_OK


def _compare_command(args: argparse.Namespace) -> int:
    from .compare import compare

    inputs = _inputs(args)
    result = compare(
        args.data, args.model, reference=args.reference, n_resamples=args.resamples, seed=args.seed,
        confidence=args.confidence, ci_method=args.ci_method, slice_by=args.slice_by, plot_dir=args.plot,
        **inputs,
    )  # fmt: skip
    _notes(args, result.evaluation)
    if args.json:
        print(json.dumps(result.records(), indent=2))
    else:
        print(format_comparison(result))
    for path in result.plots:
        print(f"fastrank: wrote {path}", file=sys.stderr)
    return EXIT_OK


def _bucketize_command(args: argparse.Namespace) -> int:
    from .bucketing import MANIFEST_NAME, bucketize

    manifest = bucketize(args.data, args.out, args.buckets, user_col=args.user_col)
    if not args.quiet:
        users = sum(file.users for file in manifest.files)
        print(
            f"fastrank: wrote {len(manifest.files)} files ({manifest.rows:,} rows, {users:,} users) to "
            f"{args.out}; manifest {MANIFEST_NAME}",
            file=sys.stderr,
        )
    return EXIT_OK


def _json_records(result: Any) -> list[dict[str, Any]]:
    from .protocols import NOTEBOOK_NOTE

    records = result.records()
    for record in records:
        if isinstance(record["mean"], float) and math.isnan(record["mean"]):
            record["mean"] = None
        if record["protocol"] == "notebook":
            record["note"] = NOTEBOOK_NOTE
    return records


def _align(columns: Sequence[str], rows: list[list[str]], right: set[str]) -> list[str]:
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if name in right else cell.ljust(w)
            for cell, w, name in zip(cells, widths, columns, strict=True)
        ).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *map(line, rows)]


def _number(value: float, digits: int = 4) -> str:
    return "nan" if value != value else f"{value:.{digits}f}"


def format_table(result: Any) -> str:
    """The summary as an aligned text table, with the dataset's counts above it."""
    from .protocols import NOTEBOOK_NOTE

    head = f"{result.n_rows:,} rows, {result.n_users:,} users"
    if result.duplicates is not None:
        head += f", {result.duplicates:,} duplicate (user, item) rows"
    columns = ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
    rows = [
        [str(r["protocol"]), str(r["metric"]), str(r["k"]), str(r["source"]), _number(r["mean"]),
         f"{r['users']:,}", f"{r['excluded']:,}"]
        for r in result.records()
    ]  # fmt: skip
    out = [head, "", *_align(columns, rows, {"k", "mean", "users", "excluded"})]
    if any(r[0] == "notebook" for r in rows):
        out += ["", f"* {NOTEBOOK_NOTE}."]
    return "\n".join(out)


def _p(value: float, at_floor: bool = False) -> str:
    if value != value:
        return "nan"
    if at_floor:  # the randomization test's resolution: the true p-value may be smaller
        return f"≤ {value:.4f}" if value >= 1e-4 else f"≤ {value:.1e}"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def format_comparison(result: Any) -> str:
    """Intervals, then paired comparisons, as aligned text tables."""
    level = f"{100 * result.confidence:g}%"
    ev = result.evaluation
    head = f"{ev.n_rows:,} rows, {ev.n_users:,} users; user-level bootstrap, {level} intervals"
    columns = ["slice", "metric", "k", "source", "mean", f"{level} CI", "users"]
    rows = [
        [r["slice"], r["metric"], str(r["k"]), r["source"], _number(r["mean"]),
         f"[{_number(r['low'])}, {_number(r['high'])}]", f"{r['users']:,}"]
        for r in result.records()["intervals"]
    ]  # fmt: skip
    out = [head, "", *_align(columns, rows, {"k", "mean", "users"})]
    comparisons = result.records()["comparisons"]
    if comparisons:
        columns = [
            "slice",
            "metric",
            "k",
            "source",
            "vs",
            "diff",
            f"{level} CI",
            "p (sign-flip)",
            "p (t)",
            "d",
            "wins/ties/losses",
        ]
        rows = [
            [r["slice"], r["metric"], str(r["k"]), r["source"], r["reference"], f"{r['mean_diff']:+.4f}",
             f"[{r['low']:+.4f}, {r['high']:+.4f}]", _p(r["p_randomization"], r["p_randomization_at_floor"]),
             _p(r["p_ttest"]),
             _number(r["effect_size"], 2), f"{r['wins']}/{r['ties']}/{r['losses']}"]
            for r in comparisons
        ]  # fmt: skip
        out += ["", *_align(columns, rows, {"k", "diff", "p (sign-flip)", "p (t)", "d"})]
        out += ["", "diff: mean per-user difference (source - reference); d: Cohen's d_z; p-values two-sided,"
                " Holm-adjusted when several sources are compared with the reference."]  # fmt: skip
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"evaluate": _evaluate_command, "compare": _compare_command, "bucketize": _bucketize_command}
    try:
        with on_first_compile(lambda: None if args.quiet else _say(COMPILING)):
            return commands[args.command](args)
    except InputError as error:
        print(f"fastrank: error: {for_command_line(str(error))}", file=sys.stderr)
        return EXIT_INPUT
    except EngineError as error:
        print(f"fastrank: error: {error}", file=sys.stderr)
        return EXIT_ENGINE
    except KeyboardInterrupt:
        print("fastrank: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("fastrank: internal error: this is a bug in fastrank, please report it", file=sys.stderr)
        return EXIT_BUG
