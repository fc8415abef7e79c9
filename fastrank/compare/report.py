"""A comparison as one self-contained HTML page (:meth:`Comparison.to_html`): the counts and
notes, every interval, the paired comparisons with their minimum detectable effects, the values
without an interval, slices as they were asked, and the plots inline as base64 PNG. No script,
no external style sheet, font or image: it reads the same with JavaScript off and offline."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from ..api.render import cutoff_text

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .7em; border-bottom: 1px solid #d8d8de; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f2f2f5; white-space: nowrap; }
p.note { color: #55555b; font-size: .92em; max-width: 60em; }
figure { display: inline-block; vertical-align: top; margin: .5em 1em .5em 0; }
img { max-width: 34em; border: 1px solid #e3e3e8; }
"""


def _table(frame: pd.DataFrame, numeric: set[str]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if c in numeric else f"<td>{html.escape(str(v))}</td>"
            for c, v in zip(frame.columns, row, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _number(value: Any, digits: int = 4) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def html_report(comparison: Any, title: str = "fastrank comparison") -> str:
    """The page (a string of HTML); the plots are those the comparison wrote (``plot_dir``)."""
    ev = comparison.evaluation
    level = f"{100 * comparison.confidence:g}%"
    iv = comparison.intervals
    spans = [f"[{_number(a)}, {_number(b)}]" for a, b in zip(iv["low"], iv["high"], strict=True)]
    intervals = pd.DataFrame({
        "slice": iv["slice"], "metric": iv["metric"], "k": iv["k"].map(cutoff_text), "source": iv["source"],
        "mean": iv["mean"].map(_number),
        f"{level} interval": spans,
        "users": iv["users"].map(lambda n: f"{n:,}"),
    })  # fmt: skip
    cp = comparison.comparisons
    record = [f"{w}/{t}/{lo}" for w, t, lo in cp[["wins", "ties", "losses"]].itertuples(index=False)]
    # A p-value at the test's resolution is a bound: the true one may be smaller.
    at_floor = zip(cp["p_randomization"], cp["p_randomization_at_floor"], strict=True)
    sign_flip = [f"≤ {p:.4g}" if floor else f"{p:.4g}" for p, floor in at_floor]
    comparisons = pd.DataFrame({
        "slice": cp["slice"], "metric": cp["metric"], "k": cp["k"].map(cutoff_text), "source": cp["source"],
        "vs": cp["reference"], "difference": cp["mean_diff"].map(lambda v: f"{v:+.4f}"),
        f"{level} interval": [f"[{a:+.4f}, {b:+.4f}]" for a, b in zip(cp["low"], cp["high"], strict=True)],
        "p (sign-flip)": sign_flip,
        "p (t)": cp["p_ttest"].map(lambda p: f"{p:.4g}"), "d": cp["effect_size"].map(lambda v: f"{v:.2f}"),
        "mde": cp["mde"].map(_number),
        "wins/ties/losses": record,
    })  # fmt: skip
    numbers = {"k", "mean", "users", "difference", "p (sign-flip)", "p (t)", "d", "mde", f"{level} interval"}
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{ev.n_rows:,} rows, {ev.n_users:,} users; user-level bootstrap of '
        f"{comparison.n_resamples:,} resamples, {level} intervals; reference: "
        f"{html.escape(comparison.reference)}.</p>",
        f"<h2>Means with {level} intervals</h2>",
        _table(intervals, numbers),
    ]
    if not cp.empty:
        parts += [
            f"<h2>Against {html.escape(comparison.reference)}</h2>",
            _table(comparisons, numbers),
            '<p class="note">difference: mean per-user difference (source - reference); d: Cohen\'s d_z; '
            "p-values two-sided, Holm-adjusted when several sources are compared with the reference; "
            "mde: the smallest difference the paired t-test detects with 80% power at alpha "
            f"{1 - comparison.confidence:g}.</p>",
        ]
    if not comparison.overall.empty:
        ov = comparison.overall
        overall = pd.DataFrame({"metric": ov["metric"], "k": ov["k"].map(cutoff_text), "source": ov["source"],
                                "value": ov["value"].map(_number), "users": ov["users"]})  # fmt: skip
        parts += ["<h2>Values without an interval</h2>", _table(overall, {"k", "value", "users"})]
    if comparison.plots:
        parts.append("<h2>Plots</h2>")
        for path in comparison.plots:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            name = html.escape(Path(path).stem)
            parts.append(
                f'<figure><img alt="{name}" src="data:image/png;base64,{data}"><figcaption>{name}'
                "</figcaption></figure>"
            )
    if ev.notes:
        parts += ["<h2>Notes</h2>", "<ul>", *(f"<li>{html.escape(note)}</li>" for note in ev.notes), "</ul>"]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
