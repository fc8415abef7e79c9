"""TREC run and qrels files, as trec_eval reads them, to and from pyarrow tables.

A run file has one line per retrieved item: ``qid Q0 docno rank score tag``; a qrels file one line
per judged item: ``qid iter docno rel``. Fields are separated by whitespace (spaces or tabs);
``qid`` and ``docno`` are read as text. trec_eval ranks by ``score`` and ignores ``rank``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InputError
from .io import arrow_reason, write_atomic

RUN_FIELDS = ("qid", "Q0", "docno", "rank", "score", "tag")
QRELS_FIELDS = ("qid", "iter", "docno", "rel")


def read_run(
    path: str | os.PathLike, *, user_col: str, item_col: str, score_col: str, rank_col: str
) -> pa.Table:
    """The run file at ``path`` as a table with columns ``user_col``, ``item_col`` (text),
    ``rank_col`` (int64) and ``score_col`` (float64), in file order."""
    fields = _read(path, RUN_FIELDS, numeric={"rank": "rank", "score": "score"})
    return pa.table(
        {
            user_col: fields["qid"],
            item_col: fields["docno"],
            rank_col: fields["rank"],
            score_col: fields["score"],
        }
    )


def read_qrels(path: str | os.PathLike, *, user_col: str, item_col: str, label_col: str) -> pa.Table:
    """The qrels file at ``path`` as a table with columns ``user_col``, ``item_col`` (text) and
    ``label_col`` (float64, the relevance), in file order."""
    fields = _read(path, QRELS_FIELDS, numeric={"rel": "relevance"})
    return pa.table({user_col: fields["qid"], item_col: fields["docno"], label_col: fields["rel"]})


def _read(path: str | os.PathLike, names: tuple[str, ...], numeric: dict[str, str]) -> dict[str, Any]:
    """The file's columns by field name: text as pyarrow strings, ``numeric`` fields as numbers.

    Single-space separated files (what trec_eval writes) take pyarrow's multi-threaded reader; any
    other whitespace falls back to pandas' whitespace splitter. Errors name the file and line.
    """
    import pyarrow.csv as pacsv

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    layout = " ".join(names)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=list(names)),
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False),
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in names}),
        )
        columns = {name: table.column(name) for name in names}
    except (pa.ArrowInvalid, OSError):
        columns = _read_whitespace(path, names, layout)
    out: dict[str, Any] = {name: columns[name] for name in names}
    for field, what in numeric.items():
        out[field] = _numbers(
            columns[field], pa.int64() if field == "rank" else pa.float64(), path, what, layout
        )
    return out


def _numbers(text: Any, kind: pa.DataType, path: Path, what: str, layout: str) -> pa.Array:
    """A text column as numbers (pyarrow's parser); the first bad line is named on failure."""
    try:
        values = pa.chunked_array([text]) if isinstance(text, pa.Array) else text
        numbers = values.cast(kind)
        if kind == pa.float64() and not np.isfinite(numbers.to_numpy()).all():
            raise pa.ArrowInvalid("not finite")
        return numbers
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    strings = np.asarray(text.to_pylist() if hasattr(text, "to_pylist") else text, dtype=object)
    parsed = pd.to_numeric(pd.Series(strings), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(parsed)
    if kind == pa.int64():
        bad |= parsed != np.round(parsed)
    bad = np.flatnonzero(bad)
    line = int(bad[0]) if bad.size else 0
    need = "an integer" if kind == pa.int64() else "a finite number"
    raise InputError(f"{path}: line {line + 1}: {what} {strings[line]!s} is not {need} (fields: {layout})")


def _read_whitespace(path: Path, names: tuple[str, ...], layout: str) -> dict[str, Any]:
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, engine="c", skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=range(len(names)))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{path}: not a TREC file with fields {layout}: {arrow_reason(error)}") from None
    if frame.shape[1] != len(names):
        raise InputError(f"{path}: {frame.shape[1]} fields per line; a TREC file here has {layout}")
    short = frame.isna().any(axis=1).to_numpy()
    if short.any():
        line = int(np.argmax(short))
        raise InputError(f"{path}: line {line + 1} has fewer than {len(names)} fields ({layout})")
    return {name: pa.array(frame[i].to_numpy(), pa.string()) for i, name in enumerate(names)}


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
    grouped by user, ranked by score descending (rank 1 first), scores in full precision."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
    frame = frame[[user_col, item_col, score_col]]
    frame = frame.sort_values([user_col, score_col], ascending=[True, False], kind="stable")
    ranks = frame.groupby(user_col, sort=False).cumcount() + 1
    lines = pd.DataFrame(
        {"qid": frame[user_col], "Q0": "Q0", "docno": frame[item_col], "rank": ranks,
         "score": frame[score_col].map(repr), "tag": tag}
    )  # fmt: skip
    return write_atomic(path, lambda temp: lines.to_csv(temp, sep=" ", header=False, index=False))


def write_qrels(table: Any, path: str | os.PathLike, *, user_col: str, item_col: str, label_col: str) -> Path:
    """Write truth (a pandas DataFrame or pyarrow Table) as a TREC qrels file, atomically."""
    frame = table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
    labels = frame[label_col]
    as_int = labels.astype(np.int64)
    rel = as_int if (as_int == labels).all() else labels.map(repr)
    lines = pd.DataFrame({"qid": frame[user_col], "iter": 0, "docno": frame[item_col], "rel": rel})
    return write_atomic(path, lambda temp: lines.to_csv(temp, sep=" ", header=False, index=False))
