"""The CLI's printed output: summaries and comparisons as aligned text tables, JSON records, and
the examples that ``python -m fastrank`` alone and each command's ``--help`` show."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import count
from ..metrics.protocols import NOTEBOOK_NOTE
from ..metrics.registry import MetricSpec, trec_eval_name


def json_records(result: Any) -> list[dict[str, Any]]:
    """An evaluation's summary as JSON records: NaN as null, the notebook protocol's caveat attached."""
    records = result.records()
    for record in records:
        if isinstance(record["mean"], float) and math.isnan(record["mean"]):
            record["mean"] = None
        if record["protocol"] == "notebook":
            record["note"] = NOTEBOOK_NOTE
    return records


def _align(columns: Sequence[str], rows: list[list[str]], right: set[str]) -> list[str]:
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if name in right else cell.ljust(w)
            for cell, w, name in zip(cells, widths, columns, strict=True)
        ).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _k(k: Any) -> str:
    """A cutoff; ``-`` for the metrics of the whole list."""
    return "-" if k is None or k != k else str(k)


def _number(value: float, digits: int = 4) -> str:
    if value != value:
        return "nan"
    if 0 < abs(value) < 10 ** (1 - digits):  # e.g. ARP, a popularity share: significant digits
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


def format_table(result: Any) -> str:
    """The summary as an aligned text table, with the dataset's counts above it."""
    head = f"{count(result.n_rows, 'row')}, {count(result.n_users, 'user')}"
    if result.duplicates is not None:
        head += f", {count(result.duplicates, 'duplicate (user, item) row')}"
    columns = ["protocol", "metric", "k", "source", "mean", "users", "excluded"]
    rows = [
        [str(r["protocol"]), str(r["metric"]), _k(r["k"]), str(r["source"]), _number(r["mean"]),
         f"{r['users']:,}", f"{r['excluded']:,}"]
        for r in result.records()
    ]  # fmt: skip
    out = [head, "", *_align(columns, rows, {"k", "mean", "users", "excluded"})]
    if any(r[0] == "notebook" for r in rows):
        out += ["", f"* {NOTEBOOK_NOTE}."]
    return "\n".join(out)


def format_trec(result: Any) -> str:
    """The evaluation as trec_eval -q prints it, one block per source: ``runid``, then each user's
    lines (``measure<TAB>query<TAB>value``), then the ``all`` lines (the mean over users; the sum
    for the counts, as trec_eval). Measures carry trec_eval's names where it has them."""
    standard = result.per_user[result.per_user.protocol == "standard"]
    summary = result.summary[result.summary.protocol == "standard"]
    lines = []
    for source in dict.fromkeys(summary.source):
        rows = standard[standard.source == source].dropna(subset=["value"])
        lines.append(_trec_line("runid", "all", str(source)))
        lines.append(_trec_line("num_q", "all", str(rows.user.nunique())))
        for user, values in rows.groupby("user", sort=False):
            for r in values.itertuples(index=False):
                spec = _spec(r)
                lines.append(_trec_line(trec_eval_name(spec), str(user), _trec_value(spec, r.value)))
        for r in summary[summary.source == source].itertuples(index=False):
            spec = _spec(r)
            if spec.metric.summed:
                total = rows[(rows.metric == r.metric)]["value"].sum()
                lines.append(_trec_line(trec_eval_name(spec), "all", _trec_value(spec, total)))
            else:
                lines.append(_trec_line(trec_eval_name(spec), "all", _trec_value(spec, r.mean)))
    return "\n".join(lines)


def _spec(row: Any) -> MetricSpec:
    """The metric and cutoff of a summary or per-user row (k NaN or None: the whole list)."""
    return MetricSpec(row.metric, None if row.k is None or row.k != row.k else int(row.k))


def _trec_line(measure: str, query: str, value: str) -> str:
    return f"{measure:<22}\t{query}\t{value}"


def _trec_value(spec: MetricSpec, value: float) -> str:
    """trec_eval's way: counts as integers, the rest with 4 decimals."""
    if value != value:
        return "nan"
    return str(round(value)) if spec.metric.summed else f"{value:.4f}"


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
    head = f"{count(ev.n_rows, 'row')}, {count(ev.n_users, 'user')}; user-level bootstrap, {level} intervals"
    columns = ["slice", "metric", "k", "source", "mean", f"{level} CI", "users"]
    rows = [
        [r["slice"], r["metric"], _k(r["k"]), r["source"], _number(r["mean"]),
         f"[{_number(r['low'])}, {_number(r['high'])}]", f"{r['users']:,}"]
        for r in result.records()["intervals"]
    ]  # fmt: skip
    out = [head] + (["", *_align(columns, rows, {"k", "mean", "users"})] if rows else [])
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
            "mde",
            "wins/ties/losses",
        ]
        rows = [
            [r["slice"], r["metric"], _k(r["k"]), r["source"], r["reference"], f"{r['mean_diff']:+.4f}",
             f"[{r['low']:+.4f}, {r['high']:+.4f}]", _p(r["p_randomization"], r["p_randomization_at_floor"]),
             _p(r["p_ttest"]),
             _number(r["effect_size"], 2), "-" if r["mde"] is None else f"{r['mde']:.4f}",
             f"{r['wins']}/{r['ties']}/{r['losses']}"]
            for r in comparisons
        ]  # fmt: skip
        out += ["", *_align(columns, rows, {"k", "diff", "p (sign-flip)", "p (t)", "d", "mde"})]
        out += ["", "diff: mean per-user difference (source - reference); d: Cohen's d_z; p-values two-sided,"
                " Holm-adjusted when several sources are compared with the reference; mde: the smallest"
                f" difference the paired t-test detects with 80% power at alpha"
                f" {1 - result.confidence:g}."]  # fmt: skip
    overall = result.records()["overall"]
    if overall:
        columns = ["metric", "k", "source", "value", "users"]
        rows = [
            [r["metric"], _k(r["k"]), r["source"], _number(r["value"]), f"{r['users']:,}"] for r in overall
        ]
        out += ["", *_align(columns, rows, {"k", "value", "users"})]
        out += ["", "no interval or paired test for these: not means of per-user values (a weighted mean, "
                "or one number for all lists at once)."]  # fmt: skip
    return "\n".join(out)


EXAMPLES = {
    "evaluate": [
        ("the built-in demo (synthetic KuaiRec-shaped table, demo model, baseline)", "fastrank evaluate"),
        ("a table and a model", "fastrank evaluate data.parquet --model model.keras --baseline popularity"),
        ("your column names", "fastrank evaluate ratings.csv --scores pred --user-col uid --item-col item "
                              "--label-col rating -k 5 10"),
        ("runs against held-out truth", "fastrank evaluate --run bm25=bm25.run --run dense.parquet "
                                        "--truth qrels.txt -k 10 100"),
    ],
    "compare": [
        ("model vs baseline, intervals and paired tests", "fastrank compare data.parquet --model model.keras "
                                                           "--baseline popularity"),
        ("two runs", "fastrank compare --run a=exp1/test.run --run b=exp2/test.run --truth qrels.txt"),
    ],
    "bucketize": [
        ("16 files by user, for --stream and --engine dask", "fastrank bucketize data.parquet buckets/ "
                                                            "--buckets 16"),
    ],
}  # fmt: skip
"""One or two examples per command: ``python -m fastrank`` alone and each ``--help`` show them."""


def epilog(command: str) -> str:
    """A command's examples, for the end of its ``--help``."""
    return "examples:\n" + "\n".join(f"  {text}:\n    {line}" for text, line in EXAMPLES[command])


def overview() -> str:
    """What ``python -m fastrank`` alone prints: the commands, with their examples."""
    helps = {"evaluate": "per-user ranking metrics of a model, score columns or runs",
             "compare": "the same, with confidence intervals and paired tests against a reference",
             "bucketize": "hash-partition a table by user into parquet files"}  # fmt: skip
    lines = ["usage: fastrank {evaluate,compare,bucketize} ...  (fastrank COMMAND --help for its options)"]
    for command, text in helps.items():
        lines += ["", f"fastrank {command}: {text}"]
        for what, line in EXAMPLES[command]:
            lines += [f"  # {what}", f"  {line}"]
    return "\n".join(lines)
