"""The one exception type for a user's mistake, so callers can tell it from a bug, and the count
its messages (and the CLI's lines) write."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a file, column, user, row or argument at fault, named in a one-line message.

    The CLI prints the message and exits with code 2; any other exception is a bug (exit 1).
    """


def count(n: int, what: str) -> str:
    """``n`` things, singular or plural, thousands separated: ``1 row``, ``3,000 rows``."""
    return f"{n:,} {what}" + ("" if n == 1 else "s")


class EngineError(RuntimeError):
    """An engine could not finish: the Dask cluster lost workers beyond its retries, or its
    results did not cover the input. Never a partial result; the CLI exits with code 3."""
