"""Tables as text others read: CSV, Markdown and LaTeX (``booktabs``), from a header, rows of
cells, which cells are bold, and a footnote. :meth:`fastrank.Evaluation.render` and
:meth:`fastrank.Comparison.render` build their tables and pass them here."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InputError

RENDERED = ("csv", "markdown", "latex", "html")
"""The formats :func:`render_table` writes."""

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


@dataclass(frozen=True)
class Table:
    """A table to render: ``header`` and ``rows`` of cells (text), ``bold`` the (row, column)
    cells to set in bold, ``marks`` a superscript per (row, column) cell, ``numeric`` the columns
    aligned right, ``note`` a footnote."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)
    marks: dict[tuple[int, int], str] = field(default_factory=dict)
    numeric: set[int] = field(default_factory=set)
    note: str = ""


def cutoff_text(k: object) -> str:
    """A cutoff as a cell: empty for the metrics of the whole list."""
    return "" if k is None or k != k else str(int(k))  # type: ignore[call-overload]


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in str(text))


def render_table(table: Table, fmt: str) -> str:
    """``table`` as CSV (plain cells, no bold, marks or note), Markdown (a pipe table, bold as
    ``**x**``, marks as ``<sup>``, the note below), LaTeX (a ``table`` with a ``booktabs``
    ``tabular``, bold as ``\\textbf``, marks as ``\\textsuperscript``, the note below the rule) or
    HTML (a ``<table>`` and the note in a ``<p>``, text escaped; a fragment for a page or a
    notebook)."""
    if fmt not in RENDERED:
        raise InputError(f"format: must be one of {', '.join(RENDERED)}. Got {fmt!r} instead.")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.header)
        writer.writerows(table.rows)
        return out.getvalue()
    if fmt == "markdown":
        return _markdown(table)
    if fmt == "html":
        return _html(table)
    return _latex(table)


def _cell(table: Table, i: int, j: int, text: str, bold: str, mark: str) -> str:
    if (i, j) in table.bold:
        text = bold.format(text)
    if (i, j) in table.marks:
        text += mark.format(table.marks[i, j])
    return text


def _markdown(table: Table) -> str:
    def escape(text: str) -> str:
        return str(text).replace("|", r"\|")

    lines = ["| " + " | ".join(escape(h) for h in table.header) + " |"]
    lines.append(
        "|" + "|".join("---:" if j in table.numeric else "---" for j in range(len(table.header))) + "|"
    )
    for i, row in enumerate(table.rows):
        cells = [_cell(table, i, j, escape(text), "**{}**", "<sup>{}</sup>") for j, text in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    if table.note:
        lines += ["", escape(table.note)]
    return "\n".join(lines) + "\n"


def _html(table: Table) -> str:
    def cell(i: int, j: int, text: str) -> str:
        inner = _cell(table, i, j, html.escape(text), "<b>{}</b>", "<sup>{}</sup>")
        return f'<td style="text-align:right">{inner}</td>' if j in table.numeric else f"<td>{inner}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(cell(i, j, text) for j, text in enumerate(row)) + "</tr>"
        for i, row in enumerate(table.rows)
    )
    note = f"<p>{html.escape(table.note)}</p>" if table.note else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}\n"


def _latex(table: Table) -> str:
    spec = "".join("r" if j in table.numeric else "l" for j in range(len(table.header)))
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in table.header) + r" \\")
    lines.append(r"\midrule")
    for i, row in enumerate(table.rows):
        cells = [
            _cell(table, i, j, latex_escape(text), r"\textbf{{{}}}", r"\textsuperscript{{{}}}")
            for j, text in enumerate(row)
        ]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines.append(rf"\par\smallskip{{\footnotesize {latex_escape(table.note)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
