"""Time the demo command of two source trees, alternating, so that a shared machine's drift falls
on both alike: a refactor's before and after, side by side.

Each round runs ``python -m fastrank evaluate DEMO --model DEMO_MODEL --baseline ...`` once in
each tree (the tree's own ``fastrank/`` is found first from its folder), warm (a numba cache per
tree, filled before timing) and cold (an empty cache each time). Prints each tree's times, their
median and the ratio of the second tree's median to the first's.

Usage: python scripts/alternate_trees.py OLD_TREE NEW_TREE [ROUNDS]   (default 8 rounds)
e.g.   git worktree add /tmp/before before-issue-21
       python scripts/alternate_trees.py /tmp/before . 8
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastrank.demo import DEMO_MODEL_PATH, demo_table_path


def _seconds(command: list[str], tree: Path, cache: str) -> float:
    clock = time.perf_counter()
    done = subprocess.run(
        command, cwd=tree, env={**os.environ, "NUMBA_CACHE_DIR": cache}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - clock
    if done.returncode != 0:
        sys.exit(f"{tree}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def main(old: str, new: str, rounds: int = 8) -> None:
    trees = [Path(old).resolve(), Path(new).resolve()]
    command = [sys.executable, "-m", "fastrank", "evaluate", str(demo_table_path())]
    command += ["--model", str(DEMO_MODEL_PATH), "--baseline", "video_watch_ratio_mean", "--quiet"]
    with tempfile.TemporaryDirectory() as scratch:
        caches = [f"{scratch}/cache{i}" for i in range(len(trees))]
        for tree, cache in zip(trees, caches, strict=True):
            _seconds(command, tree, cache)  # fills the warm cache
        for mode in ("warm", "cold"):
            times: list[list[float]] = [[] for _ in trees]
            for _ in range(rounds if mode == "warm" else max(2, rounds // 2)):
                for i, (tree, cache) in enumerate(zip(trees, caches, strict=True)):
                    if mode == "warm":
                        times[i].append(_seconds(command, tree, cache))
                    else:
                        with tempfile.TemporaryDirectory() as empty:
                            times[i].append(_seconds(command, tree, empty))
            medians = [statistics.median(t) for t in times]
            for tree, t, m in zip(trees, times, medians, strict=True):
                print(f"{mode}  {tree}: median {m:.3f} s  ({' '.join(f'{x:.2f}' for x in t)})")
            print(f"{mode}  ratio new/old: {medians[1] / medians[0]:.3f}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-3])
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))
