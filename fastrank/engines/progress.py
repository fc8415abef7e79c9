"""Progress bars for long work (streaming, bucketize, the Dask engine), drawn by tqdm on stderr
when asked for: the CLI asks when stderr is a terminal and ``--quiet`` is not given."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Silent:
    """The bar when none is drawn: counts nothing, prints nothing."""

    def update(self, n: int = 1) -> None:
        pass


@contextmanager
def progress_bar(enabled: bool, *, total: int | None, unit: str, desc: str) -> Iterator[Any]:
    """A bar with ``update(n)``: tqdm's on stderr (``total`` None: a running count), or a silent
    one when ``enabled`` is false. The bar is removed when the block ends."""
    if not enabled:
        yield _Silent()
        return
    from tqdm import tqdm

    with tqdm(
        total=total, unit=unit, desc=f"fastrank: {desc}", file=sys.stderr, leave=False,
        unit_scale=unit == "row", dynamic_ncols=True,
    ) as bar:  # fmt: skip
        yield bar
