"""Tables to paste (fastrank.api.render, fastrank.compare.render): each format read back and held
against the numbers of the same Comparison or Evaluation."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import fastrank
from fastrank.api.render import cutoff_text, latex_escape
from fastrank.demo import make_demo_table

from .cli import in_process


@pytest.fixture(scope="module")
def comparison():
    table = make_demo_table(n_users=50, n_videos=80, seed=4).to_pandas()
    rng = np.random.default_rng(2)
    table["noisy_&_50%"] = table["video_watch_ratio_mean"] + rng.normal(0, 2.0, len(table))
    table["close"] = table["video_watch_ratio_mean"] + rng.normal(0, 0.01, len(table))
    sources = ["video_watch_ratio_mean", "noisy_&_50%", "close"]
    return fastrank.compare(table, baselines=sources, k=[5, 10], metrics=["ndcg", "rmse"], n_resamples=1000)


def _markdown_cells(text: str) -> tuple[list[str], list[list[str]], str]:
    lines = text.strip().splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    body = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))] for line in lines[2:]
            if line.startswith("|")]  # fmt: skip
    return header, body, lines[-1]


def _latex_cells(text: str) -> tuple[list[str], list[list[str]], str]:
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    header = text.split(r"\toprule")[1].split(r"\midrule")[0].strip().removesuffix(r"\\").split(" & ")
    rows = [line.strip().removesuffix(r"\\").strip().split(" & ") for line in body]
    return [h.strip() for h in header], [[c.strip() for c in row] for row in rows], text


def _holm(p):
    """Holm's step-down adjustment, written out: the i-th smallest times (m - i), running max."""
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(np.asarray(p)[order] * (len(p) - np.arange(len(p)))))
    out = np.empty(len(p))
    out[order] = adjusted
    return out


def _expected_letters(comparison, metric, k, sources):
    """Each source's letters from scipy's paired t-test of every pair, Holm-adjusted; None for a
    cell whose p-value is too near alpha for the two tests (sign-flip and t) to agree surely."""
    per_user = comparison.evaluation.per_user
    at = per_user[(per_user.metric == metric) & (per_user.k.map(cutoff_text) == k)]
    values = at.pivot(index="user", columns="source", values="value")
    pairs = [(a, b) for i, a in enumerate(sources) for b in sources[i + 1 :]]
    p = _holm([sps.ttest_rel(values[a], values[b]).pvalue for a, b in pairs])
    alpha = 1 - comparison.confidence
    letters = {source: "" for source in sources}
    for (a, b), p_value in zip(pairs, p, strict=True):
        if alpha / 5 < p_value < alpha * 5:
            letters[a] = letters[b] = None
            continue
        if p_value <= alpha:
            diff = (values[a] - values[b]).mean() * (-1 if metric == "rmse" else 1)
            winner, loser = (a, b) if diff > 0 else (b, a)
            if letters[winner] is not None:
                letters[winner] = "".join(sorted(letters[winner] + "abc"[sources.index(loser)]))
    return letters


def _check_against(comparison, header, rows, bold, mark, plain):
    """Every mean, the bold best of each column and the letters, against the comparison's numbers
    and an independent test."""
    intervals = comparison.intervals
    sources = list(dict.fromkeys(intervals.source))
    assert [plain(row[0]) for row in rows] == [f"{source} ({'abc'[i]})" for i, source in enumerate(sources)]
    for j, name in enumerate(header[1:], start=1):
        metric, _, k = name.partition("@")
        at = intervals[(intervals.metric == metric) & (intervals.k.map(cutoff_text) == k)]
        means = at.set_index("source")["mean"]
        best = means.min() if metric == "rmse" else means.max()
        letters = _expected_letters(comparison, metric, k, sources)
        for source, row in zip(sources, rows, strict=True):
            cell = row[j]
            value = float(re.sub(r"[^0-9.\-]+", "", mark.sub("", cell)))
            assert value == pytest.approx(means[source], abs=5e-5)
            assert bold(cell) == (means[source] == best), (name, source, cell)
            found = mark.search(cell)
            if letters[source] is not None:
                assert (found.group(1) if found else "") == letters[source], (name, source, cell)


def test_markdown_reads_back_as_the_comparisons_numbers(comparison):
    header, rows, note = _markdown_cells(comparison.render("markdown"))
    assert header == ["source", "ndcg@5", "ndcg@10", "rmse"]
    sup = re.compile(r"<sup>([a-c]+)</sup>")
    _check_against(comparison, header, rows, bold=lambda c: c.startswith("**"), mark=sup,
                   plain=lambda c: c.replace("\\|", "|"))  # fmt: skip
    assert "alpha 0.05" in note and "1,000 resamples" in note and "50 users" in note


def test_latex_reads_back_balanced_escaped_and_compiles_where_tex_is(comparison, tmp_path):
    text = comparison.render("latex")
    header, rows, _ = _latex_cells(text)
    unescape = {latex_escape(ch): ch for ch in "&%_$#{}"}

    def plain(cell):
        for escaped, ch in unescape.items():
            cell = cell.replace(escaped, ch)
        return cell

    _check_against(comparison, header, rows, bold=lambda c: c.startswith(r"\textbf{"),
                   mark=re.compile(r"\\textsuperscript\{([a-c]+)\}"), plain=plain)  # fmt: skip
    assert r"noisy\_\&\_50\%" in text  # special characters escaped
    for env in ("table", "tabular"):
        assert text.count(rf"\begin{{{env}}}") == text.count(rf"\end{{{env}}}") == 1
    assert text.count("{") - text.count(r"\{") == text.count("}") - text.count(r"\}")
    tex = shutil.which("pdflatex")
    if tex is None:
        pytest.skip("no pdflatex here: balance and escapes checked, not compiled")
    document = (
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + text + "\\end{document}\n"
    )
    (tmp_path / "t.tex").write_text(document)
    done = subprocess.run([tex, "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stdout[-2000:]


def test_html_reads_back_as_the_markdown_does(comparison):
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell, self.bold, self.depth = [], None, False, 0

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""
            elif tag == "b":
                self.cell += "**"
            elif tag == "sup":
                self.cell += "<sup>"

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell)
                self.cell = None
            elif tag == "b":
                self.cell += "**"
            elif tag == "sup":
                self.cell += "</sup>"

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    cells = Cells()
    cells.feed(comparison.render("html"))
    header, rows, _ = _markdown_cells(comparison.render("markdown"))
    assert cells.rows == [header, *rows]  # the same cells, bold and marks as the Markdown
    assert comparison._repr_html_() == comparison.render("html")
    assert "&amp;" in comparison.render("html")  # "noisy_&_50%" escaped


def test_csv_and_an_evaluations_tables_read_back(comparison):
    frame = pd.read_csv(io.StringIO(comparison.render("csv")))
    rmse = comparison.intervals[comparison.intervals.metric == "rmse"].set_index("source")["mean"]
    assert list(frame.columns) == ["source", "ndcg@5", "ndcg@10", "rmse"]
    evaluation = comparison.evaluation
    for fmt in ("csv", "markdown", "latex", "html"):
        text = evaluation.render(fmt)
        for value in evaluation.summary["mean"]:
            assert f"{value:.4f}" in text
    got = frame.assign(source=frame.source.str.replace(r" \([a-c]\)$", "", regex=True)).set_index("source")
    assert got["rmse"].round(4).to_dict() == rmse.round(4).to_dict()
    with pytest.raises(fastrank.InputError, match="'alpha' parameter must be between 0 and 1"):
        comparison.render("markdown", alpha=1.5)
    with pytest.raises(fastrank.InputError, match="format: must be one of csv, markdown, latex, html"):
        evaluation.render("docx")


def test_the_cli_prints_each_format_as_the_api_renders_it(tmp_path, capsys):
    table = make_demo_table(n_users=20, n_videos=40, seed=2).to_pandas()
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    for fmt in ("csv", "markdown", "latex", "html"):
        code, out, err = in_process(
            capsys, "evaluate", path, "--baseline", "video_watch_ratio_mean", "--format", fmt
        )
        assert code == 0, err
        assert out == fastrank.evaluate(path, baselines=["video_watch_ratio_mean"]).render(fmt)
    args = ["compare", path, "--baseline", "video_watch_ratio_mean", "--baseline", "user_watch_ratio_mean",
            "--resamples", "300", "--format", "markdown", "--alpha", "0.01"]  # fmt: skip
    code, out, err = in_process(capsys, *args)
    assert code == 0 and "alpha 0.01" in out, err
