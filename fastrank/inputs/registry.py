"""The input formats, by name: each a module of :mod:`fastrank.inputs` with an object that says
whether it can read an input (``guess``, from the content :func:`~fastrank.inputs.formats.open_input`
saw) and reads it. Tables (``table`` True) open into a reader of named columns; a TREC file has
fixed fields. An input is read by the first format that guesses it, or by the one named
(``input_format=`` / ``--input-format``).

A new format (JSON lines, say) is one module with such an object, plus one line here.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError
from .csv import CsvFormat
from .formats import Opened, open_input
from .parquet import ParquetFormat
from .trec import TrecFormat

FORMATS: dict[str, Any] = {form.name: form for form in (ParquetFormat(), TrecFormat(), CsvFormat())}
"""Every input format by name, in the order they are guessed."""


def check_format(name: str | None, *, tables_only: bool = False) -> str | None:
    """``name`` if it is a registered format (a table format with ``tables_only``), or None."""
    if name is None:
        return None
    allowed = [form for form in FORMATS if FORMATS[form].table or not tables_only]
    if name not in allowed:
        listed = ", ".join(repr(form) for form in allowed)
        raise InputError(f"The 'input_format' parameter must be one of {listed}. Got {name!r} instead.")
    return name


def run_format(source: Any, named: str | None = None) -> tuple[Any, Any]:
    """(the format, the source opened) of a run or a truth given as a path; (None, the source)
    for a frame or table."""
    if not isinstance(source, (str, os.PathLike, Opened)):
        return None, source
    opened = open_input(source)
    return format_of(opened, named), opened


def format_of(opened: Opened, named: str | None = None, *, tables_only: bool = False) -> Any:
    """The format that reads ``opened``: the one named, else the first that guesses it."""
    if named is not None:
        return FORMATS[check_format(named, tables_only=tables_only)]
    for form in FORMATS.values():
        if (form.table or not tables_only) and form.guess(opened):
            return form
    raise InputError(f"{opened.name}: no input format reads it; name one with input_format=")
