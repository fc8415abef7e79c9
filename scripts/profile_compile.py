"""Where a cold run's compilation goes: run a fastrank command in-process with an empty numba cache
and print the time of every top-level kernel compilation (numba's ``numba:compile`` events).

Usage: python scripts/profile_compile.py [fastrank CLI arguments]   (default: evaluate --quiet)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp())  # before numba is imported

from numba.core import event

records: list[tuple[int, str, str, float]] = []
stack: list[tuple[str, str, float]] = []


class _Timer(event.Listener):
    def on_start(self, ev: event.Event) -> None:
        name = ev.data["dispatcher"].py_func.__qualname__
        stack.append((name, str(ev.data["args"])[:80], time.perf_counter()))

    def on_end(self, ev: event.Event) -> None:
        name, args, start = stack.pop()
        records.append((len(stack), name, args, time.perf_counter() - start))


def main() -> int:
    event.register("numba:compile", _Timer())
    start = time.perf_counter()
    from fastrank.cli.commands import main as cli

    code = cli(sys.argv[1:] or ["evaluate", "--quiet"])
    print(f"exit code {code}, {time.perf_counter() - start:.1f} s in all (imports excluded)", file=sys.stderr)
    top = sorted((r for r in records if r[0] == 0), key=lambda r: -r[3])
    for _, name, args, seconds in top:
        print(f"  {seconds:6.2f} s  {name} {args}", file=sys.stderr)
    print(f"  {sum(r[3] for r in top):6.2f} s  compiling, {len(records)} compilations", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
