"""TREC run and qrels files, as trec_eval reads them, to and from pyarrow tables.

A run file has one line per retrieved item: ``qid Q0 docno rank score tag``; a qrels file one line
per judged item: ``qid iter docno rel``. trec_eval's dialect: fields are separated by any
whitespace (spaces, tabs, several of them); a run line's fields after the tag are ignored; blank
lines and comment lines (``#`` first) are skipped; ``qid`` and ``docno`` are text, kept exactly as
written (``NA``, ``null`` and ``nan`` are ids like any other); ``rel`` may be negative (judged, not
relevant). trec_eval ranks by ``score`` and ignores ``rank``. Messages name lines as an editor
counts them: from 1 at the file's start, blank and comment lines included. Any source
:func:`fastrank.inputs.formats.open_input` takes: a path, a pipe, ``-``, gzip.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import kernels
from ..arrays.threads import run_chunks, thread_count
from ..errors import InputError
from .formats import QRELS_FIELDS, RUN_FIELDS, Opened, first_line, looks_like_header, open_input
from .outputs import write_atomic

_INTEGER = re.compile(rb"^[+-]?\d+$")
_INT64 = (-(2**63), 2**63 - 1)
# Whitespace other than a space or a line break, made a space before the second try at parsing.
_OTHER_SPACE = bytes.maketrans(b"\t\v\f\r", b"    ")
_COMMENT = re.compile(rb"(?m)^[ \t\v\f]*#.*$")


class TrecFormat:
    """Registered as ``trec``: plain text whose first line holds a number (every TREC line does);
    runs and qrels only, with their fixed fields."""

    name = "trec"
    table = False

    def guess(self, opened: Opened) -> bool:
        # A first line of names is a table's header; every TREC line holds numbers.
        return opened.kind == "text" and not looks_like_header(first_line(_COMMENT.sub(b"", opened.head())))

    fields: ClassVar[dict[str, str]] = {
        "user": "qid",
        "item": "docno",
        "score": "score",
        "rank": "rank",
        "label": "rel",
    }
    """Which field plays each role (in the tables :meth:`read_run` and :meth:`read_qrels` give)."""

    def read_run(self, source: Any) -> pa.Table:
        return read_run(source)

    def read_run_keyed(self, source: Any) -> tuple[pa.Table, RunKeys | None]:
        return read_run_keyed(source)

    def read_qrels_keyed(self, source: Any) -> tuple[pa.Table, RunKeys | None]:
        return read_qrels_keyed(source)

    def read_qrels(self, source: Any) -> pa.Table:
        return read_qrels(source)

    def row_name(self, source: Any, row: int) -> str:
        """How messages name data row ``row``: its line in the file."""
        return f"line {line_of_row(source, row)}"


def read_run(
    source: Any,
    *,
    user_col: str = "qid",
    item_col: str = "docno",
    score_col: str = "score",
    rank_col: str = "rank",
) -> pa.Table:
    """The run at ``source`` as a table with columns ``user_col``, ``item_col`` (text),
    ``rank_col`` (int64) and ``score_col`` (float64), in file order."""
    _distinct(user_col, item_col, score_col, rank_col)
    return read_run_keyed(source)[0].rename_columns([user_col, item_col, rank_col, score_col])


@dataclass(frozen=True)
class RunKeys:
    """What the reader takes from a run's (or qrels') ids as it copies them, by row in file order:
    ``user_starts``, the rows where a run of lines of one qid starts (0 first, ascending, int64);
    ``item_hashes``, each docno's FNV-1a 64 hash (int64 view of the uint64)."""

    user_starts: np.ndarray
    item_hashes: np.ndarray


def read_run_keyed(source: Any) -> tuple[pa.Table, RunKeys | None]:
    """:func:`read_run` with the fields' own names (qid, docno, rank, score, in that order), and
    the :class:`RunKeys` fastrank's own reader takes on the way (None when the file was left to
    pyarrow's reader)."""
    fields = _read(source, RUN_FIELDS, numeric={"rank": "rank", "score": "score"})
    return pa.table({name: fields[name] for name in ("qid", "docno", "rank", "score")}), fields.get("keys")


def read_qrels(
    source: Any, *, user_col: str = "qid", item_col: str = "docno", label_col: str = "rel"
) -> pa.Table:
    """The qrels at ``source`` as a table with columns ``user_col``, ``item_col`` (text) and
    ``label_col`` (float64, the relevance), in file order."""
    _distinct(user_col, item_col, label_col)
    return read_qrels_keyed(source)[0].rename_columns([user_col, item_col, label_col])


def read_qrels_keyed(source: Any) -> tuple[pa.Table, RunKeys | None]:
    """:func:`read_qrels` with the fields' own names (qid, docno, rel, in that order), and the
    :class:`RunKeys` fastrank's own reader takes on the way (None when the file was left to
    pyarrow's reader)."""
    fields = _read(source, QRELS_FIELDS, numeric={"rel": "relevance"})
    return pa.table({name: fields[name] for name in ("qid", "docno", "rel")}), fields.get("keys")


def line_of_row(source: Any, row: int) -> int:
    """The line number (from 1, blank and comment lines counted) of data row ``row`` (from 0) of
    a TREC file: for messages about a row found bad after reading."""
    data = open_input(source).read_bytes()
    seen = -1
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith(b"#"):
            seen += 1
            if seen == row:
                return number
    return row + 1


def _distinct(*columns: str) -> None:
    if len(set(columns)) < len(columns):
        raise InputError(f"TREC fields need distinct column names, got {', '.join(repr(c) for c in columns)}")


def _read(source: Any, names: tuple[str, ...], numeric: dict[str, str]) -> dict[str, Any]:
    """The file's fields by name: text as pyarrow strings, ``numeric`` fields as numbers.

    Files read in one pass of fastrank's own reader over their bytes (:func:`_read_fields`), in
    chunks on threads; a file it leaves (a malformed line, a number it cannot parse exactly, a
    non-ASCII id) is read by pyarrow's multi-threaded reader, which names the line of any error.
    """
    opened = open_input(source)
    fields = _read_fields(opened.mapped(), names == RUN_FIELDS)
    if fields is not None:
        return fields
    layout = " ".join(names)
    table = _parse(opened.stream(), names)  # a file is read by pyarrow's own buffered reader
    if table is not None and not _single_spaced_fields(table):
        table = None  # other whitespace, or a comment line with as many words as a line has fields
    if table is None:
        data = opened.read_bytes()
        table = _parse(pa.BufferReader(_single_spaced(data, len(names) if names == RUN_FIELDS else 0)), names)
        if table is None:
            raise _field_count_error(opened, data, names, layout)
    columns = {name: table.column(name) for name in names}
    for field, what in numeric.items():
        columns[field] = _numbers(columns[field], field == "rank", opened, what, layout)
    return columns


def _read_fields(data: Any, run: bool) -> dict[str, Any] | None:
    """A TREC file's fields (a run's qid, docno, rank, score; qrels' qid, docno, rel) from its
    bytes (any buffer), or None where :func:`fastrank.kernels.trec_fields` leaves the file to
    pyarrow's reader."""
    buffer = np.frombuffer(data, np.uint8)
    bounds = _line_chunks(buffer, 4 * thread_count() if len(buffer) > 1 << 20 else 1)
    if np.diff(bounds).max(initial=0) >= 2**31 - 1:  # Arrow's int32 offsets, per chunk
        return None
    n_chunks = len(bounds) - 1
    # numpy counts each chunk's line breaks at memory speed, off the GIL; the numbers and hashes
    # then go straight into arrays for the whole file, each chunk at its lines' place.
    lines = np.array(run_chunks(lambda lo, hi: _line_count(buffer[lo:hi]), bounds, True), np.int64)
    base = np.concatenate(([0], np.cumsum(lines)))
    total = int(base[-1])
    integers, reals = np.empty(total if run else 0, np.int64), np.empty(total, np.float64)
    hashes = np.empty(total, np.uint64)
    parts: list[Any] = [None] * n_chunks

    def read(first: int, stop: int) -> None:
        for c in range(first, stop):
            lo, hi, at, n = int(bounds[c]), int(bounds[c + 1]), int(base[c]), int(lines[c])
            ids = (np.empty(n + 1, np.int32), np.empty(hi - lo, np.uint8), np.empty(n + 1, np.int32),
                   np.empty(hi - lo, np.uint8))  # fmt: skip
            ints, numbers = integers[at : at + n] if run else integers, reals[at : at + n]
            slow = tuple(np.empty(2 * n, np.int64) for _ in range(4))  # two numbers a line at most
            changes = np.empty(n, np.int64)
            status, rows, n_slow, n_changes = kernels.trec_fields(
                buffer, lo, hi, run, ids, ints, numbers, slow, (changes, hashes[at : at + n])
            )
            if status == kernels.TEXT_OK and n_slow:
                exact = _exact_numbers(buffer, tuple(a[:n_slow] for a in slow), ints[:rows], numbers[:rows])
                status = kernels.TEXT_OK if exact else kernels.TEXT_BAD_NUMBER
            parts[c] = (status, rows, ids, changes[:n_changes])

    run_chunks(read, np.arange(n_chunks + 1), True)
    if any(status != kernels.TEXT_OK for status, *_ in parts):
        return None
    rows_read = np.array([rows for _, rows, *_ in parts], np.int64)
    if (rows_read < lines).any():  # blank or comment lines: close the gaps they left
        kept = np.concatenate([np.arange(base[c], base[c] + rows_read[c]) for c in range(n_chunks)]).astype(
            np.int64
        )
        integers, reals, hashes = (integers[kept] if run else integers), reals[kept], hashes[kept]
    columns: dict[str, list[Any]] = {"qid": [], "docno": []}
    starts, before, last_qid = [], 0, None
    for _, rows, (qid_offsets, qid_bytes, doc_offsets, doc_bytes), changes in parts:
        if rows:  # a chunk's first qid starts a run unless the chunk before ended with it
            first_qid = bytes(qid_bytes[: qid_offsets[1]])
            starts += [np.array([before])] if first_qid != last_qid else []
            starts.append(changes + before)
            last_qid = bytes(qid_bytes[qid_offsets[rows - 1] : qid_offsets[rows]])
            before += rows
        for name, offsets, text in (("qid", qid_offsets, qid_bytes), ("docno", doc_offsets, doc_bytes)):
            columns[name].append(
                pa.StringArray.from_buffers(rows, pa.py_buffer(offsets[: rows + 1]), pa.py_buffer(text))
            )
    out: dict[str, Any] = {name: pa.chunked_array(columns[name], pa.string()) for name in ("qid", "docno")}
    user_starts = np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)
    out["keys"] = RunKeys(user_starts, hashes.view(np.int64))
    values = pa.chunked_array([pa.array(reals)], pa.float64())
    if run:
        out["rank"] = pa.chunked_array([pa.array(integers)], pa.int64())
        out["score"] = values
    else:
        out["rel"] = values
    return out


def _line_count(chunk: np.ndarray) -> int:
    """Lines of a chunk of whole lines (the last one may lack its line break)."""
    return int(np.count_nonzero(chunk == 10)) + int(len(chunk) > 0 and chunk[-1] != 10)


def _line_chunks(buffer: np.ndarray, n_chunks: int) -> np.ndarray:
    """Bounds splitting ``buffer`` into about ``n_chunks`` runs of whole lines."""
    bounds = [0]
    for c in range(1, n_chunks):
        at = max(len(buffer) * c // n_chunks, bounds[-1])
        breaks = np.flatnonzero(buffer[at : at + (1 << 16)] == 10)
        while not len(breaks) and at < len(buffer):
            at += 1 << 16
            breaks = np.flatnonzero(buffer[at : at + (1 << 16)] == 10)
        bounds.append(min(at + int(breaks[0]) + 1, len(buffer)) if len(breaks) else len(buffer))
    bounds.append(len(buffer))
    return np.unique(np.array(bounds, np.int64))


def _exact_numbers(
    buffer: np.ndarray, slow: tuple[np.ndarray, ...], integers: np.ndarray, reals: np.ndarray
) -> bool:
    """Parse the numbers the kernel left (``slow``: rows, fields, text starts and stops) with
    pyarrow's exact parser, into ``integers`` (field 3 of a run) or ``reals``; False when one is
    not a number, or not a finite one (the caller's slower path then names its line)."""
    rows, fields, starts, stops = slow
    offsets = np.empty(len(rows) + 1, np.int32)
    text = np.empty(int((stops - starts).sum()), np.uint8)
    kernels.gather_text(buffer, starts, stops, offsets, text)
    strings = pa.StringArray.from_buffers(len(rows), pa.py_buffer(offsets), pa.py_buffer(text))
    is_rank = (fields == 3) & (len(integers) > 0)
    try:
        if is_rank.any():
            integers[rows[is_rank]] = strings.filter(pa.array(is_rank)).cast(pa.int64()).to_numpy()
        values = strings.filter(pa.array(~is_rank)).cast(pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    if not np.isfinite(values).all():
        return False
    reals[rows[~is_rank]] = values
    return True


def _parse(stream: Any, names: tuple[str, ...]) -> pa.Table | None:
    """The text of ``stream`` as single-space separated fields, or None if a line has another count."""
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=list(names)),
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None


def _single_spaced_fields(table: pa.Table) -> bool:
    """Whether a table parsed on single spaces holds the file's fields: no line had two spaces in
    a row or at its ends (an empty field), a tab or other whitespace inside a field, or a comment."""
    if len(table) == 0:
        return True
    for column in table.columns:
        if pc.min(pc.binary_length(column)).as_py() == 0:
            return False
        # Printable ASCII is the common case and the fastest test; other text is looked at closer.
        if not pc.all(pc.ascii_is_printable(column)).as_py() and any(
            pc.any(pc.match_substring(column, space)).as_py() for space in ("\t", "\v", "\f")
        ):
            return False
    return not pc.any(pc.starts_with(table.column(0), "#")).as_py()


def _single_spaced(data: bytes, keep: int = 0) -> bytes:
    """Tabs and runs of spaces made one space, and none at a line's start or end; comment lines
    made blank (pyarrow skips blank lines); with ``keep``, a line's fields after the first
    ``keep`` dropped."""
    data = re.sub(rb" {2,}", b" ", _COMMENT.sub(b"", data).translate(_OTHER_SPACE))
    data = re.sub(rb"(?m)^ | $", b"", data)
    if keep:
        data = re.sub(rb"(?m)^((?:[^ \n]+ ){%d}[^ \n]+) .*$" % (keep - 1), rb"\1", data)
    return data


def _field_count_error(opened: Opened, data: bytes, names: tuple[str, ...], layout: str) -> InputError:
    run = names == RUN_FIELDS
    for number, line in enumerate(data.splitlines(), start=1):
        fields = [] if line.lstrip().startswith(b"#") else line.split()
        if fields and (len(fields) < len(names) if run else len(fields) != len(names)):
            kind, wanted = ("run", f"at least {len(names)}") if run else ("qrels", f"{len(names)}")
            return InputError(
                f"{opened.name}: line {number} has {len(fields)} fields; a TREC {kind} line has "
                f"{wanted}: {layout}"
            )
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            return InputError(
                f"{opened.name}: line {number} is not UTF-8 text (byte 0x{line[error.start]:02x} at column "
                f"{error.start + 1}); TREC ids are read as UTF-8"
            )
    return InputError(f"{opened.name}: not a TREC file with fields {layout}")


def _numbers(text: pa.ChunkedArray, integer: bool, opened: Opened, what: str, layout: str) -> pa.ChunkedArray:
    """A text field as int64 or finite float64; the first bad value is named with its line."""
    try:
        numbers = text.cast(pa.int64() if integer else pa.float64())
        if integer or np.isfinite(numbers.to_numpy()).all():
            return numbers
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    strings = text.to_pylist()
    if integer:
        bad = next(i for i, value in enumerate(strings) if not _is_int64(value.encode()))
        need = "an integer"
    else:
        parsed = pd.to_numeric(pd.Series(strings, dtype=object), errors="coerce").to_numpy(np.float64)
        bad = int(np.argmax(~np.isfinite(parsed)))
        need = "a finite number"
    line = line_of_row(opened, bad)
    raise InputError(f"{opened.name}: line {line}: {what} {strings[bad]!s} is not {need} (fields: {layout})")


def _is_int64(value: bytes) -> bool:
    return bool(_INTEGER.match(value)) and _INT64[0] <= int(value) <= _INT64[1]


def write_run(
    table: Any,
    path: str | os.PathLike,
    *,
    user_col: str,
    item_col: str,
    score_col: str,
    tag: str = "fastrank",
) -> Path:
    """Write a run (a pandas DataFrame or pyarrow Table) as a TREC run file, atomically: lines
    grouped by user, ranked by score descending (rank 1 first), scores written with every bit."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
    frame = frame[[user_col, item_col, score_col]]
    frame = frame.sort_values([user_col, score_col], ascending=[True, False], kind="stable")
    ranks = frame.groupby(user_col, sort=False).cumcount() + 1
    lines = pd.DataFrame(
        {"qid": frame[user_col], "Q0": "Q0", "docno": frame[item_col], "rank": ranks,
         "score": [repr(score) for score in frame[score_col]], "tag": tag}
    )  # fmt: skip
    return write_atomic(path, lambda temp: lines.to_csv(temp, sep=" ", header=False, index=False))


def write_qrels(table: Any, path: str | os.PathLike, *, user_col: str, item_col: str, label_col: str) -> Path:
    """Write truth (a pandas DataFrame or pyarrow Table) as a TREC qrels file, atomically."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
    labels = frame[label_col]
    as_int = labels.astype(np.int64)
    rel = as_int if (as_int == labels).all() else [repr(label) for label in labels]
    lines = pd.DataFrame({"qid": frame[user_col], "iter": 0, "docno": frame[item_col], "rel": rel})
    return write_atomic(path, lambda temp: lines.to_csv(temp, sep=" ", header=False, index=False))
