"""``python -m fastrank evaluate``: argument parsing and printing only; the work is :func:`evaluate`.

Exit codes: 0 ok, 2 bad usage or bad input (one line on stderr), 1 internal error (a bug).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from .errors import InputError

EXIT_OK, EXIT_BUG, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other input error, instead of argparse's usage block.
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastrank", description="Exact, fast ranking-quality evaluation for recommender models."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = commands.add_parser(
        "evaluate",
        help="per-user NDCG of a Keras model and baselines on a user x item table",
        description=(
            "Evaluate per-user ranking quality on a user x item table. Without DATA, runs the built-in "
            "demo: a synthetic KuaiRec-shaped table, the shipped demo model and a popularity baseline."
        ),
    )
    ev.add_argument(
        "data", nargs="?", help="parquet file, directory of parquet files, or CSV (default: the demo)"
    )
    ev.add_argument("--model", help="Keras model file (.keras) scored in one whole-matrix predict")
    ev.add_argument(
        "--scores", metavar="COLUMN", help="column of precomputed scores to evaluate (no model needed)"
    )
    ev.add_argument(
        "--baseline",
        metavar="COLUMN",
        action="append",
        default=[],
        help="score column evaluated as is; repeatable",
    )
    ev.add_argument("--user-col", default="user_id", help="user id column (default: %(default)s)")
    ev.add_argument("--item-col", default="video_id", help="item id column (default: %(default)s)")
    ev.add_argument(
        "--label-col", default="watch_ratio", help="relevance label column (default: %(default)s)"
    )
    ev.add_argument(
        "--features",
        metavar="COLUMN",
        nargs="+",
        help="model input columns, in order (default: every other column)",
    )
    ev.add_argument("-k", type=int, nargs="+", default=[10], help="NDCG cutoffs (default: 10)")
    ev.add_argument(
        "--protocol", nargs="+", choices=["standard", "notebook"], default=["standard"],
        help="standard: per-user NDCG@k of scores vs labels (default); notebook: the KuaiRec notebook's",
    )  # fmt: skip
    ev.add_argument(
        "--min-items", type=int, default=2, help="exclude users with fewer rows (default: %(default)s)"
    )
    ev.add_argument("--batch-size", type=int, default=None, help="rows per predict batch (default: 65536)")
    ev.add_argument(
        "--no-safe-mode", action="store_true",
        help="load models holding Python code (Lambda layers): runs code from the file; trusted files only",
    )  # fmt: skip
    ev.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    ev.add_argument("--per-user", metavar="PATH.parquet", help="write per-user values to this parquet file")
    ev.add_argument("--verbose", action="store_true", help="report time per stage on stderr")
    ev.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")
    return parser


def _evaluate_command(args: argparse.Namespace) -> int:
    from .api import evaluate
    from .io import check_writable, write_parquet_atomic
    from .predict import DEFAULT_BATCH_SIZE

    if args.min_items < 1:
        raise InputError(f"--min-items must be >= 1, got {args.min_items}")
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    per_user = check_writable(args.per_user, "--per-user") if args.per_user else None
    result = evaluate(
        args.data,
        args.model,
        scores=args.scores,
        baselines=args.baseline,
        user_col=args.user_col,
        item_col=args.item_col or None,
        label_col=args.label_col,
        features=args.features,
        k=args.k,
        protocol=args.protocol,
        min_items=args.min_items,
        batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
        safe_mode=not args.no_safe_mode,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    if per_user is not None:
        import pyarrow as pa

        write_parquet_atomic(pa.Table.from_pandas(result.per_user, preserve_index=False), per_user)
    if not args.quiet:
        for note in result.notes:
            if not note.startswith("notebook-compatible"):
                print(f"fastrank: {note}", file=sys.stderr)
    if args.verbose:
        stages = " | ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
        print(f"fastrank: time per stage: {stages}", file=sys.stderr)
    if args.json:
        print(json.dumps(_json_records(result), indent=2))
    else:
        print(format_table(result))
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


def format_table(result: Any) -> str:
    """The summary as an aligned text table, with the dataset's counts above it."""
    from .protocols import NOTEBOOK_NOTE

    head = f"{result.n_rows:,} rows, {result.n_users:,} users"
    if result.duplicates is not None:
        head += f", {result.duplicates:,} duplicate (user, item) rows"
    columns = ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
    rows = [
        [
            str(r["protocol"]),
            str(r["metric"]),
            str(r["k"]),
            str(r["source"]),
            "nan" if r["mean"] != r["mean"] else f"{r['mean']:.4f}",
            f"{r['users']:,}",
            f"{r['excluded']:,}",
        ]
        for r in result.records()
    ]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    right = {"k", "mean", "users", "excluded"}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if name in right else cell.ljust(w)
            for cell, w, name in zip(cells, widths, columns, strict=True)
        ).rstrip()

    out = [head, "", line(columns), line(["-" * w for w in widths]), *map(line, rows)]
    if any(r[0] == "notebook" for r in rows):
        out += ["", f"* {NOTEBOOK_NOTE}."]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "evaluate":
            return _evaluate_command(args)
        parser.error(f"unknown command {args.command!r}")
    except InputError as error:
        print(f"fastrank: error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("fastrank: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("fastrank: internal error: this is a bug in fastrank, please report it", file=sys.stderr)
        return EXIT_BUG
    return EXIT_OK
