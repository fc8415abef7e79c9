"""The HTML report (fastrank.compare.report): its tables hold the comparison's numbers, it is
self-contained (no script, nothing fetched), and headless Chromium renders it without a console
error or a network request into a picture that is not blank (skipped, saying why, where Chromium
is not installed; .ci/run installs Debian's ``chromium``)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import fastrank
from fastrank.demo import make_demo_table

from .cli import in_process, refused


class _Cells(HTMLParser):
    """Each table's rows of cell texts, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    table = make_demo_table(n_users=40, n_videos=60, seed=5).to_pandas()
    table["noisy <b>&"] = table["video_watch_ratio_mean"] + np.random.default_rng(3).normal(0, 1, len(table))
    root = tmp_path_factory.mktemp("report")
    comparison = fastrank.compare(
        table, baselines=["video_watch_ratio_mean", "noisy <b>&"], k=[5, 10], metrics=["ndcg", "coverage"],
        n_resamples=500, slice_by="activity", plot_dir=root / "plots",
    )  # fmt: skip
    page = comparison.to_html()
    path = root / "report.html"
    path.write_text(page)
    return comparison, page, path


def test_the_reports_tables_hold_the_comparisons_numbers(report):
    comparison, page, _ = report
    cells = _Cells()
    cells.feed(page)
    intervals, tests = cells.tables[0], cells.tables[1]
    assert len(intervals) - 1 == len(comparison.intervals) and len(tests) - 1 == len(comparison.comparisons)
    for row, expected in zip(intervals[1:], comparison.intervals.itertuples(), strict=True):
        assert row[0] == expected.slice and row[3] == expected.source  # escaped, read back as given
        assert row[4] == f"{expected.mean:.4f}" and row[5] == f"[{expected.low:.4f}, {expected.high:.4f}]"
    for row, expected in zip(tests[1:], comparison.comparisons.itertuples(), strict=True):
        assert row[5] == f"{expected.mean_diff:+.4f}" and row[10] == f"{expected.mde:.4f}"
        bound = "≤ " if expected.p_randomization_at_floor else ""
        assert row[7] == f"{bound}{expected.p_randomization:.4g}"
    overall = cells.tables[2]
    assert [r[0] for r in overall[1:]] == ["coverage"] * 4  # the values without an interval
    assert "activity Q4" in page  # the activity slices
    assert html.escape("noisy <b>&") in page and "<b>&" not in page.replace(html.escape("<b>&"), "")


def test_the_report_is_self_contained(report):
    comparison, page, _ = report
    cells = _Cells()
    cells.feed(page)
    assert "script" not in cells.tags and "link" not in cells.tags
    assert cells.urls and all(url.startswith("data:image/png;base64,") for url in cells.urls)
    assert len(cells.urls) == len(comparison.plots)
    assert not re.search(r"https?://|url\(", page)


def test_headless_chromium_renders_it_offline_without_errors(report, tmp_path):
    _, _, path = report
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here (.ci/run installs Debian's chromium package where it can)")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND", f"--screenshot={shot}",
         f"--log-net-log={tmp_path / 'net.json'}", "--window-size=1000,1400", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.exists(), done.stderr[-2000:]
    log = done.stderr
    assert "CONSOLE" not in log and "Uncaught" not in log, log[-2000:]
    # Every request the page made is in the browser's net log; the browser's own update and time
    # services (Google's hosts) are not the page's.
    urls = set(re.findall(r"https?://[^\s\"\\]+", (tmp_path / "net.json").read_text()))
    own = r"google(apis)?\.com|gvt1\.com|~notfound"  # its update, time and dictionary services
    assert {url for url in urls if not re.search(own, url, re.IGNORECASE)} == set()
    from matplotlib import image

    pixels = image.imread(shot)
    assert pixels.std() > 0.05  # not blank: text, tables and plots


def test_the_cli_writes_the_report_atomically_and_refuses_a_bad_name(tmp_path, capsys):
    table = make_demo_table(n_users=20, n_videos=40, seed=6).to_pandas()
    data = tmp_path / "t.parquet"
    table.to_parquet(data)
    args = ["compare", data, "--baseline", "video_watch_ratio_mean", "--baseline", "user_watch_ratio_mean",
            "--resamples", "200"]  # fmt: skip
    code, _, err = in_process(capsys, *args, "--report", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/png;base64,") == 3
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("fastrank-report-*"))
    assert "has no known suffix; name a .html or .htm file" in refused(
        capsys, *args, "--report", tmp_path / "r.txt"
    )
    assert "--report" in refused(capsys, *args, "--report", data.with_suffix(".html").parent)
