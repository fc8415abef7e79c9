"""Shared data and the side-by-side summary for the pytest-benchmark suite.

Implementations are timed in one run on the same data, and the summary prints each one's time
for *all* users (slow loops are timed on a sample of users and scaled up) next to its ratio to
fastrank, because these machines are shared and noisy: ratios travel, absolute times do not.
Set ``FASTRANK_BENCH_USERS`` to shrink the data (CI runs the suite once that way as a smoke test).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest

import fastrank
from fastrank.demo import make_demo_table

N_USERS = int(os.environ.get("FASTRANK_BENCH_USERS", "1354"))
SAMPLE_USERS = min(N_USERS, 40)


@dataclass
class KuaiRecCase:
    """The notebook's frame, flat: 1,354 users x ~2,830 videos, grouped by user."""

    frame: object  # pandas DataFrame, the notebook's input
    users: np.ndarray
    labels: np.ndarray
    scores: np.ndarray  # float32, like a Keras prediction
    groups: fastrank.Groups

    @property
    def n_users(self) -> int:
        return self.groups.n_groups


@pytest.fixture(scope="session")
def kuairec() -> KuaiRecCase:
    frame = make_demo_table(n_users=N_USERS).to_pandas()
    users = frame["user_id"].to_numpy()
    labels = frame["watch_ratio"].to_numpy()
    # The notebook's baseline score, as float32 like a model's output.
    scores = frame["video_watch_ratio_mean"].to_numpy(np.float32)
    _ROWS.append(len(frame))
    return KuaiRecCase(frame, users, labels, scores, fastrank.group_rows(users))


_RESULTS: dict[str, dict[str, dict[str, float]]] = {}
_ROWS: list[int] = []


@pytest.fixture
def record(benchmark):
    """``record(group, name, users_timed, users_total)`` after a benchmark ran: keeps its median
    scaled to all users for the summary table. ``value`` replaces the time (e.g. memory); ``base``
    marks the row the others are divided by (default: the row named "fastrank")."""

    def _record(
        group: str,
        name: str,
        users_timed: int,
        users_total: int,
        value: float | None = None,
        base: bool = False,
    ) -> None:
        stats = benchmark.stats.stats if benchmark.stats else None
        if stats is None:  # --benchmark-disable: nothing was timed
            return
        scale = users_total / users_timed
        benchmark.extra_info.update(users_timed=users_timed, users_total=users_total, scale=scale)
        median = stats.median * scale if value is None else value
        _RESULTS.setdefault(group, {})[name] = {
            "median_s": median, "min_s": median, "raw": value is not None, "base": base or name == "fastrank"
        }  # fmt: skip

    return _record


@pytest.fixture
def record_seconds(benchmark):
    """``record_seconds(group, name, seconds, base=False)`` after a benchmark ran: like ``record``,
    for a time the test measured itself (several commands timed inside one benchmark), shown as is
    next to its ratio to the ``base`` row. ``seconds=None`` adds a line of text (``record``'s
    ``value``)."""

    def _record(group: str, name: str, seconds: float | None = None, base: bool = False) -> None:
        if benchmark.stats is None:  # --benchmark-disable: nothing was timed
            return
        _RESULTS.setdefault(group, {})[name] = {
            "median_s": seconds, "min_s": seconds, "raw": seconds is None, "base": base
        }  # fmt: skip

    return _record


def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    size = f"{_ROWS[0]:,} rows, " if _ROWS else ""
    write(f"fastrank side by side ({size}{N_USERS:,} users)")
    write("time for all users; slow loops are timed on a sample of users and scaled up")
    for group, rows in _RESULTS.items():
        base = next((row for row in rows.values() if row.get("base")), None)
        base_name = next((name for name, row in rows.items() if row.get("base")), "fastrank")
        write("")
        write(f"| {group} | median, all users | x {base_name} |")
        write("|---|---:|---:|")
        for name, row in rows.items():
            if row.get("raw"):
                write(f"| {name} | | |")
                continue
            ratio = row["median_s"] / base["median_s"] if base else float("nan")
            write(f"| {name} | {_fmt(row['median_s'])} | {ratio:,.1f} |")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


# Run with `python -c PEAK_SCRIPT module args...`: runs `python -m module args...` and prints the
# process's own peak resident memory as "peak-kib N" on stderr (VmHWM, which exec resets;
# getrusage's ru_maxrss would count the pages the child inherited from pytest).
PEAK_SCRIPT = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    print('peak-kib', hwm[0].split()[1], file=sys.stderr)\n"
)
