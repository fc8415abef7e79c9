"""``python -m fastrank evaluate | compare | bucketize``: argument parsing and printing only; the
work is :func:`fastrank.evaluate`, :func:`fastrank.compare` and :func:`fastrank.engines.bucketing.bucketize`.

Exit codes: 0 ok, 2 bad usage or bad input (one line on stderr), 3 the engine could not finish
(Dask workers lost beyond retries; one line), 1 internal error (a bug).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from ..api.render import RENDERED
from ..compare.confidence import RESAMPLING
from ..compare.stats import METHODS
from ..engines import NAMES as ENGINE_NAMES
from ..errors import EngineError, InputError, count
from ..inputs.columns import RUN, TABLE
from ..inputs.registry import FORMATS
from ..kernels.jit import on_first_compile
from ..metrics.options import DEFAULT_K, DEFAULTS, GAINS, GAUC_WEIGHTS, TAIL_TIES
from ..metrics.registry import DEFAULT, NONE, RUN_TIES, WHOLE, example, expand, names, parse_metric
from ..scoring import MODEL_DEFAULTS, PREDICTORS
from .flags import check_data_given, for_command_line, run_options, runs_given, table_options
from .report import epilog, format_comparison, format_table, format_trec, json_records, overview

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_ENGINE, EXIT_GATE = 0, 1, 2, 3, 4
COMPILING = "compiling the {family} for this machine (once: later runs load them from numba's cache)"
"""The note printed while kernels compile on a machine's first run (one line per family)."""


def _say(message: str) -> None:
    print(f"fastrank: {one_line(message)}", file=sys.stderr, flush=True)


def one_line(message: str) -> str:
    """``message`` on one line: a line break or other control character (in a path, say) is
    written as its escape, so every message stays one line."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], message)


class _Once(argparse.Action):
    """An option that takes one value and refuses to be given twice (the last would win silently)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        if getattr(namespace, self.dest) is not None:
            parser.error(f"{option_string} given twice; it takes one column (--baseline takes several)")
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other input error, instead of argparse's usage block.
        value = re.search(r"invalid (?:choice|int value|float value): '([^']*)'", message)
        if value and os.path.exists(value[1]):
            message += f"; {value[1]} is a file: put DATA before the options, or after --"
        self.exit(EXIT_INPUT, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="fastrank", description="Exact, fast ranking-quality evaluation for recommender models."
    )
    parser.add_argument("--version", action="version", version=f"fastrank {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    ev = commands.add_parser(
        "evaluate",
        help="per-user ranking metrics of a Keras model and baselines on a user x item table",
        description=_wrapped(
            "Evaluate per-user ranking quality (NDCG, MAP, Recall and more: see --metrics) on "
            "a user x item table, or of runs against held-out truth. Without DATA (and without options "
            "about data), runs the built-in demo: a synthetic KuaiRec-shaped table, the shipped demo "
            "model and a popularity baseline."
        ),
        epilog=epilog("evaluate"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_inputs(ev)
    ev.add_argument(
        "--protocol", nargs="+", choices=["standard", "notebook"],
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
        description=_wrapped(
            "Evaluate like 'evaluate', then give every source's mean with a user-level bootstrap "
            "interval and compare each source with a reference: mean difference with its interval, "
            "paired randomization and t-test p-values (Holm-adjusted), effect size, wins/ties/losses. "
            "Without DATA, runs the built-in demo."
        ),
        epilog=epilog("compare"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_inputs(cmp)
    cmp.add_argument("--reference", help="source compared against (default: the first baseline)")
    cmp.add_argument(
        "--resamples", type=int, help=f"bootstrap and sign-flip resamples (default: {RESAMPLING.n_resamples})"
    )
    cmp.add_argument(
        "--seed", type=int, help=f"random seed: same seed, same numbers (default: {RESAMPLING.seed})"
    )
    cmp.add_argument("--confidence", type=float, help=f"interval level (default: {RESAMPLING.confidence})")
    cmp.add_argument(
        "--ci-method", choices=list(METHODS), help=f"bootstrap interval (default: {RESAMPLING.ci_method})"
    )
    cmp.add_argument(
        "--slice-by", metavar="COLUMN", help="a user-level column, or 'activity' (row-count quartiles)"
    )
    cmp.add_argument("--plot", metavar="DIR", help="write distribution, scatter and NDCG@k curve PNGs there")
    cmp.add_argument(
        "--report", metavar="PATH",
        help="write the whole comparison as one self-contained HTML page (tables, notes and the plots "
        "inline; needs matplotlib), atomically",
    )  # fmt: skip
    cmp.add_argument(
        "--alpha", type=float,
        help="--format markdown, latex, csv: mark means significantly above or below the reference at "
        "this level (default: 1 - --confidence)",
    )  # fmt: skip
    cmp.add_argument(
        "--fail-if-worse", type=float, metavar="MARGIN",
        help=f"exit {EXIT_GATE} when a source may be worse than the reference by more than MARGIN on the "
        "gate metric: its paired difference's interval reaches below -MARGIN (non-inferiority not shown)",
    )  # fmt: skip
    cmp.add_argument(
        "--gate-metric", metavar="NAME@K", help="the metric of --fail-if-worse (default: the first compared)"
    )
    _add_output(cmp)

    bucket = commands.add_parser(
        "bucketize",
        help="hash-partition a table by user into N parquet files sorted by user, for --stream and dask",
        description=_wrapped(
            "Split a table into N parquet files by a stable hash of the user id: each user's rows land "
            "in one file, each file is sorted by user (rows of a user keep their order), and a manifest "
            "lists the files. Works on tables larger than memory. The output directory must not exist."
        ),
        epilog=epilog("bucketize"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bucket.add_argument("data", help="parquet file, directory of parquet files, or CSV")
    bucket.add_argument("out", help="output directory (created; must not exist yet)")
    bucket.add_argument("--buckets", type=int, required=True, metavar="N", help="number of files")
    bucket.add_argument("--user-col", default=TABLE.user_col, help="user id column (default: %(default)s)")
    bucket.add_argument("--delimiter", metavar="CHAR", help="a CSV's delimiter (default: sniffed)")
    bucket.add_argument("--quiet", action="store_true", help="no progress bar; print nothing on success")
    return parser


def _wrapped(text: str) -> str:
    """A description wrapped as argparse would, since the raw formatter (which keeps the
    examples' layout) wraps nothing."""
    import textwrap

    return textwrap.fill(text, width=88)


def _add_inputs(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "data", nargs="?",
        help="parquet file or directory, CSV/TSV (gzip too; delimiter sniffed), a pipe, or - for standard "
        "input; told by content, not name (default: the demo)",
    )  # fmt: skip
    sub.add_argument("--model", help="Keras model file (.keras) scored in one whole-matrix predict")
    sub.add_argument(
        "--scores", metavar="COLUMN", action=_Once,
        help="column of precomputed scores to evaluate (no model needed)",
    )  # fmt: skip
    sub.add_argument(
        "--baseline", metavar="COLUMN", action="append", default=[], help="score column, as is; repeatable"
    )
    sub.add_argument("--user-col", help=f"user id column (default: {TABLE.user_col})")
    sub.add_argument(
        "--item-col", help=f"item id column (default: {TABLE.item_col}; with --run: {RUN.item_col})"
    )
    sub.add_argument(
        "--label-col",
        help=f"relevance label column (default: {TABLE.label_col}; with --run: {RUN.label_col})",
    )
    sub.add_argument(
        "--features", metavar="COLUMN", nargs="+", help="model input columns (default: all others)"
    )
    sub.add_argument(
        "-k", type=int, nargs="+", help=f"cutoffs of the metrics named without one (default: {DEFAULT_K})"
    )
    sub.add_argument("--metrics", nargs="+", metavar="NAME", help=_metrics_help())
    sub.add_argument(
        "--threshold", type=float,
        help=f"binary metrics and AUC: relevant when label >= this (default: {DEFAULTS.threshold})",
    )  # fmt: skip
    sub.add_argument(
        "--ties", choices=list(RUN_TIES),
        help=f"tied scores: averaged over their orders ({DEFAULTS.ties}), ordered worst- or best-first; runs "
        "also take trec, trec_eval's order by item id",
    )  # fmt: skip
    sub.add_argument(
        "--gain", type=_gain, metavar="|".join([*GAINS, "LABEL:GAIN,..."]),
        help=f"DCG's gain of a label: the label ({DEFAULTS.gain}, trec_eval), 2^label - 1 (exponential), "
        "1 when relevant (binary), or one per label, e.g. 0:0,1:1,2:3",
    )  # fmt: skip
    sub.add_argument(
        "--max-grade", type=float, metavar="G",
        help="err: the top of the relevance scale, stop probability (2^label - 1) / 2^G (default: the "
        "largest label)",
    )  # fmt: skip
    sub.add_argument(
        "--gauc-weight", metavar="|".join([*GAUC_WEIGHTS, "COLUMN"]),
        help="GAUC's weight of a user: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in GAUC_WEIGHTS.items())
        + " (default: rows); or a column summed per user",
    )  # fmt: skip
    sub.add_argument(
        "--popularity-col", metavar="COLUMN",
        help="item popularity of the beyond-accuracy metrics: this column summed per item (default: rows); "
        "with --run, a column of the --popularity table",
    )  # fmt: skip
    sub.add_argument(
        "--exclude", metavar="PATH",
        help="(user, item) pairs to leave out before anything is ranked, e.g. the training interactions "
        "(parquet or CSV with the user and item columns); the rows left out, and truth rows among "
        "them, are counted",
    )  # fmt: skip
    sub.add_argument(
        "--item-features", metavar="PATH",
        help="diversity metrics: one row per item, its id and numeric columns (or one list column), "
        "compared by cosine",
    )  # fmt: skip
    sub.add_argument(
        "--cooccurrence", metavar="PATH",
        help="diversity metrics, instead of --item-features: (user, item) interactions whose co-occurrence "
        "gives the item similarity (cosine of the items' sets of users)",
    )  # fmt: skip
    sub.add_argument(
        "--history", metavar="PATH",
        help="diversity metrics: (user, item) pairs of what each user had before, e.g. the training data",
    )  # fmt: skip
    sub.add_argument(
        "--tail-share", type=float, metavar="SHARE",
        help="long-tail share: the tail is the int(n x SHARE) least popular of the n items (default: "
        f"{DEFAULTS.tail_share}; RecBole: 0.1)",
    )  # fmt: skip
    sub.add_argument(
        "--tail-ties", choices=list(TAIL_TIES),
        help="long-tail share: items tied with the tail's border; "
        + "; ".join(f"{name}: {meaning}" for name, meaning in TAIL_TIES.items())
        + f" (default: {DEFAULTS.tail_ties})",
    )  # fmt: skip
    sub.add_argument(
        "--min-items", type=int, help=f"exclude users with fewer rows (default: {DEFAULTS.min_items})"
    )
    sub.add_argument("--delimiter", metavar="CHAR", help="CSV delimiter (default: sniffed: , ; tab or |)")
    sub.add_argument(
        "--input-format", choices=list(FORMATS),
        help="read DATA, runs and truth in this format (default: told by their content)",
    )  # fmt: skip
    sub.add_argument(
        "--batch-size", type=int, help=f"rows per predict batch (default: {MODEL_DEFAULTS.batch_size})"
    )
    sub.add_argument(
        "--predictor", choices=list(PREDICTORS),
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
    runs = sub.add_argument_group(
        "runs against held-out truth (instead of DATA: each user's top-N list from the whole catalog)"
    )
    runs.add_argument(
        "--run", metavar="[NAME=]PATH", action="append", default=[],
        help="a run: parquet, CSV or TREC run file (qid Q0 docno rank score tag), a pipe or -; named "
        "NAME, else by its file name; repeatable",
    )  # fmt: skip
    runs.add_argument(
        "--truth", metavar="PATH", help="held-out truth: parquet, CSV or TREC qrels (qid iter docno rel)"
    )
    runs.add_argument("--score-col", help="the run's score column (default: score)")
    runs.add_argument(
        "--catalog", metavar="PATH",
        help="beyond-accuracy metrics: the items a list could hold (parquet or CSV, item column or one "
        "column; default: the items of the truth, the runs and --popularity together)",
    )  # fmt: skip
    runs.add_argument(
        "--popularity", metavar="PATH",
        help="beyond-accuracy metrics: interactions (e.g. the training data) whose rows per item, or "
        "--popularity-col summed, are its popularity; needed by the metrics that weigh items by it",
    )  # fmt: skip
    runs.add_argument("--rank-col", help="the run's rank column (1 = best), instead of a score")
    runs.add_argument(
        "--map-denominator", choices=["min", "relevant"],
        help="AP@k divided by min(k, relevant) (default) or by the relevant items (trec_eval, ranx)",
    )  # fmt: skip
    runs.add_argument(
        "--depth", type=int, metavar="N",
        help="keep each user's first N items in trec_eval's order (score, then id as text): trec_eval -M",
    )  # fmt: skip
    runs.add_argument(
        "--judged-only", action="store_true", default=None,
        help="leave out the run's unjudged items before ranking (Sakai's condensed lists)",
    )  # fmt: skip
    runs.add_argument(
        "--empty-run", choices=["zero", "skip"],
        help="truth users without recommendations: 0 for every metric (default) or left out",
    )  # fmt: skip
    runs.add_argument(
        "--duplicates", choices=["refuse", "first"],
        help="a (user, item) twice in a run or the truth: an error (default) or keep the first",
    )  # fmt: skip
    engine = sub.add_argument_group("engine (where the work runs; every engine gives the same numbers)")
    engine.add_argument(
        "--engine", choices=list(ENGINE_NAMES),
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


def _gain(text: str) -> Any:
    """``--gain``: a gain's name, or ``LABEL:GAIN`` pairs separated by commas."""
    if text in GAINS or ":" not in text:
        return text  # a name, checked (with the names offered) by the API
    pairs = {}
    for pair in text.split(","):
        level, _, value = pair.partition(":")
        try:
            pairs[float(level)] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{pair!r} is not LABEL:GAIN (e.g. 2:3)") from None
    return pairs


def _metrics_help() -> str:
    """The --metrics help, from the metric registry."""
    at_k = names(lambda metric: metric.cutoff != NONE and not metric.needs_items)
    whole = names(lambda metric: metric.cutoff == NONE)
    beyond = names(lambda metric: metric.needs_items)
    return (
        f"metrics at each k (default {DEFAULT.name}): {', '.join(at_k)}; or at their own cutoff: "
        f"{example()}, or over the whole list: {example(None)}@{WHOLE}; over the whole list only: "
        f"{', '.join(whole)}; beyond accuracy (top-k lists, tables "
        f"only): {', '.join(beyond)}"
    )


def _add_output(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table (--format json)")
    sub.add_argument(
        "--format", choices=list(dict.fromkeys([*EVALUATE_FORMATS, *COMPARE_FORMATS])),
        help="what to print: an aligned table (default), JSON records, CSV, a Markdown or a LaTeX "
        "(booktabs) table, or trec_eval's lines (evaluate: measure, query, value, as trec_eval -q "
        "prints them)",
    )  # fmt: skip
    sub.add_argument("--verbose", action="store_true", help="report time per stage on stderr")
    sub.add_argument("--quiet", action="store_true", help="no progress bars or notes on stderr")


EVALUATE_FORMATS = ("table", "json", *RENDERED, "trec")
"""What evaluate prints: an aligned table, JSON records, CSV, Markdown or LaTeX, or trec_eval's
lines (``trec_eval -q``)."""
COMPARE_FORMATS = ("table", "json", *RENDERED)


def _format(args: argparse.Namespace, formats: tuple[str, ...]) -> str:
    """The output format asked for: ``--format``, or ``--json`` (its older name)."""
    if args.format is not None and args.format not in formats:
        raise InputError(f"--format {args.format}: {args.command} prints {', '.join(formats)}")
    if args.json and args.format not in (None, "json"):
        raise InputError(f"--json contradicts --format {args.format}; give one of them")
    return "json" if args.json else args.format or formats[0]


def _notes(args: argparse.Namespace, evaluation: Any) -> None:
    if not args.quiet:
        for note in evaluation.notes:
            if not note.startswith("notebook-compatible"):
                _say(for_command_line(note))
    if args.verbose:
        stages = " | ".join(f"{stage} {seconds:.2f} s" for stage, seconds in evaluation.timings.items())
        _say(f"time per stage: {stages}")


def _inputs(args: argparse.Namespace) -> list[Any]:
    """The paths a command reads: what no output may be written over."""
    from ..inputs.outputs import input_paths

    runs = [value.partition("=")[2] if "=" in value and not os.path.exists(value) else value
            for value in args.run]  # fmt: skip
    return input_paths(args.data, runs, args.truth, args.model)


def _evaluate_command(args: argparse.Namespace) -> int:
    from ..api.evaluate import evaluate_options
    from ..inputs.outputs import check_not_input, check_writable, write_table_atomic

    check_data_given(args)
    shown = _format(args, EVALUATE_FORMATS)
    per_user = None
    if args.per_user is not None:
        per_user = check_writable(args.per_user, "--per-user")
        check_not_input([per_user], _inputs(args), "--per-user")
    if runs_given(args):
        from ..api.runs import evaluate_run_options

        runs, options = run_options(args)
        result = evaluate_run_options(runs, args.truth, options)
    else:
        options = table_options(args)
        result = evaluate_options(args.data, options)
    _notes(args, result)
    if per_user is not None:
        import pyarrow as pa

        frame = result.per_user
        if options.user_col not in frame.columns:  # the user column keeps its name from the input
            frame = frame.rename(columns={"user": options.user_col})
        write_table_atomic(pa.Table.from_pandas(frame, preserve_index=False), per_user)
        if not args.quiet:
            _say(f"wrote {count(len(frame), 'per-user row')} to {per_user}")
    if shown == "json":
        print(json.dumps(json_records(result), indent=2))
    elif shown == "trec":
        print(format_trec(result))
    elif shown in RENDERED:
        print(result.render(shown), end="")
    else:
        print(format_table(result))
    return EXIT_OK


def _compare_command(args: argparse.Namespace) -> int:
    import dataclasses

    from ..compare.confidence import compare_options, compare_runs

    check_data_given(args)
    if args.gate_metric is not None and args.fail_if_worse is None:
        raise InputError("--gate-metric names the metric of --fail-if-worse; give --fail-if-worse MARGIN")
    if args.fail_if_worse is not None:
        _check_gate(args)
    shown = _format(args, COMPARE_FORMATS)
    report = None
    plot_dir = args.plot
    if args.report is not None:
        from ..inputs.outputs import check_not_input, check_writable

        report = check_writable(args.report, "--report", (".html", ".htm"))
        check_not_input([report], _inputs(args), "--report")
        if plot_dir is None:  # the report's plots, drawn in a folder of our own
            import tempfile

            plot_dir = tempfile.mkdtemp(prefix="fastrank-report-")
    given = {"reference": args.reference, "n_resamples": args.resamples, "seed": args.seed,
             "confidence": args.confidence, "ci_method": args.ci_method, "slice_by": args.slice_by,
             "plot_dir": plot_dir}  # fmt: skip
    resampling = {name: value for name, value in given.items() if value is not None}  # defaults: compare's
    if runs_given(args):
        runs, options = run_options(args)
        result = compare_runs(runs, args.truth, **resampling, **dataclasses.asdict(options))
    else:
        result = compare_options(args.data, table_options(args), **resampling)
    _notes(args, result.evaluation)
    if shown == "json":
        print(json.dumps(result.records(), indent=2))
    elif shown in RENDERED:
        print(result.render(shown, args.alpha), end="")
    else:
        print(format_comparison(result))
    if report is not None:
        from ..inputs.outputs import write_atomic

        page = result.to_html()
        write_atomic(report, lambda path: path.write_text(page, encoding="utf-8"))
        if args.plot is None:
            import shutil

            shutil.rmtree(plot_dir, ignore_errors=True)
            result = dataclasses.replace(result, plots=[])
        if not args.quiet:
            _say(f"wrote {report}")
    for path in result.plots:
        _say(f"wrote {path}")
    if args.fail_if_worse is None:
        return EXIT_OK
    compared = result.comparisons
    metric = args.gate_metric
    if metric is None and not compared.empty:
        first = compared.iloc[0]
        metric = (
            first["metric"]
            if first["k"] is None or first["k"] != first["k"]
            else f"{first['metric']}@{int(first['k'])}"
        )
    gate = result.gate(metric or DEFAULT.name, args.fail_if_worse)
    for line in gate.lines():
        _say(line)
    return EXIT_OK if gate.passed else EXIT_GATE


def _check_gate(args: argparse.Namespace) -> None:
    """Refuse a gate that cannot be run, before the work: one source only, or a gate metric that
    the comparison will not hold."""
    n_sources = len(args.run) if runs_given(args) else len(args.baseline) + (args.model is not None)
    n_sources += args.scores is not None
    if args.data is not None and not runs_given(args) and n_sources < 2:
        raise InputError(
            "--fail-if-worse compares sources with the reference; give a second source (--baseline)"
        )
    if args.gate_metric is not None:
        spec = parse_metric(args.gate_metric)
        compared = expand(args.metrics or [DEFAULT.name], args.k or [DEFAULT_K])
        if spec not in compared:
            raise InputError(
                f"--gate-metric {spec}: the comparison holds {', '.join(map(str, compared))}; name one"
            )


def _bucketize_command(args: argparse.Namespace) -> int:
    from ..engines.bucketing import MANIFEST_NAME, bucketize

    manifest = bucketize(
        args.data, args.out, args.buckets, user_col=args.user_col, delimiter=args.delimiter,
        progress=not args.quiet and sys.stderr.isatty(),
    )  # fmt: skip
    if not args.quiet:
        users = sum(file.users for file in manifest.files)
        _say(
            f"wrote {count(len(manifest.files), 'file')} ({count(manifest.rows, 'row')}, "
            f"{count(users, 'user')}) to {args.out}; manifest {MANIFEST_NAME}"
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print(overview())
        return EXIT_OK
    commands = {"evaluate": _evaluate_command, "compare": _compare_command, "bucketize": _bucketize_command}
    quiet = getattr(args, "quiet", False)
    try:
        # A library's warning is not a second line of output; --verbose shows them as notes.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with on_first_compile(lambda family: None if quiet else _say(COMPILING.format(family=family))):
                code = commands[args.command](args)
        if getattr(args, "verbose", False):
            for warning in caught:
                _say(f"warning: {warning.category.__name__}: {warning.message}")
        return code
    except InputError as error:
        print(f"fastrank: error: {one_line(for_command_line(str(error)))}", file=sys.stderr)
        return EXIT_INPUT
    except EngineError as error:
        print(f"fastrank: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_ENGINE
    except KeyboardInterrupt:
        print("fastrank: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("fastrank: internal error: this is a bug in fastrank, please report it", file=sys.stderr)
        return EXIT_BUG
