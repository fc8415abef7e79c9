"""Reading evaluation tables with pyarrow (only the needed columns, every missing one named at
once), and the per-row columns they hold, checked (:mod:`fastrank.inputs.outputs` writes)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError
from .formats import QRELS_FIELDS, RUN_FIELDS, Opened, arrow_reason, is_number, looks_like_header, open_input
from .registry import format_of

LOOKALIKES = {
    "user_col": ("user_id", "user", "userid", "uid", "user_idx", "customer_id", "customer", "visitor_id",
                 "member_id", "session_id", "query_id", "qid", "query", "topic"),
    "item_col": ("item_id", "item", "itemid", "iid", "video_id", "movie_id", "movieid", "product_id",
                 "product", "article_id", "song_id", "track_id", "business_id", "asin", "doc_id", "docid",
                 "docno", "document", "sku"),
    "label_col": ("relevance", "rel", "rating", "ratings", "label", "target", "y", "y_true", "click",
                  "clicked", "clicks", "watch_ratio", "play_count", "grade", "judgment"),
    "score_col": ("score", "scores", "prediction", "predictions", "pred", "y_pred", "predicted",
                  "similarity", "prob", "probability"),
    "rank_col": ("rank", "ranking", "position", "pos"),
}  # fmt: skip
"""Column names that usually play each role, for the hint of a missing column."""


class TableSource:
    """A table to evaluate: a parquet file, a directory of parquet files, a CSV file (delimiter
    sniffed from its first lines unless ``delimiter`` is given), a pipe or standard input holding
    either, a pandas DataFrame or a pyarrow Table. The format is told by the content
    (:mod:`fastrank.inputs.registry`), or named (``input_format``). ``schema`` is known before
    any data is read."""

    def __init__(self, data: Any, *, delimiter: str | None = None, input_format: str | None = None) -> None:
        self.path: Path | None = None
        self.format = "memory"  # a registered format's name, or "memory" for a frame or table
        self._opened: Opened | None = None
        if isinstance(data, pa.Table):
            self.name = "table"
            self._reader: Any = _MemoryReader(data)
        elif _is_pandas_frame(data):
            self.name = "frame"
            self._reader = _MemoryReader(_from_pandas(data, self.name))
        elif isinstance(data, (str, os.PathLike, Opened)):
            opened = open_input(data)
            self.name = opened.name
            self._opened = opened
            form = format_of(opened, input_format, tables_only=True)
            self.format = form.name
            self.path = opened.path if opened.content is None else None
            self._reader = form.open(opened, delimiter)
        else:
            raise InputError(
                f"data: expected a path, a pandas DataFrame or a pyarrow Table, got {type(data).__name__}"
            )
        self.schema: pa.Schema = self._reader.schema
        _check_unique_names(self.schema, self.name, self._header_hint())

    @property
    def column_names(self) -> list[str]:
        """Columns in file order."""
        return list(self.schema.names)

    def require(self, columns: Sequence[str], what: str = "column") -> None:
        """Raise naming the columns of ``columns`` that the table lacks (all of them, in one
        line); for a directory, also the first file that lacks one or stores it with another type
        than the first file (every engine reads every file to one schema, so a mismatch is
        refused, never cast silently)."""
        self.require_roles([(column, what, "") for column in columns])

    def require_roles(self, roles: Sequence[tuple[str, str, str]]) -> None:
        """Like :meth:`require`, for columns in roles: (column, what it is, the option that names
        it, e.g. ``"user_col="``; or ``""``). The message lists every missing column with its
        option and the table's column that looks like the intended one."""
        names = set(self.schema.names)
        missing = [(column, what, option) for column, what, option in roles if column not in names]
        if missing:
            taken = {column for column, _, _ in roles if column in names}
            parts = [
                _missing(column, what, option, self.schema.names, taken) for column, what, option in missing
            ]
            raise InputError(
                f"{self.name}: no {'; no '.join(parts)}; columns are: {', '.join(self.schema.names)}"
                + self._header_hint()
            )
        self._reader.require_same([column for column, _, _ in roles])

    def _header_hint(self) -> str:
        """Why a text table may lack the columns: no header line, another delimiter, or a TREC
        file given as a table."""
        if self.format != "csv":
            return ""
        names = self.schema.names
        if names and all(is_number(name) for name in names):
            return (
                f" (the first line, {','.join(names)[:60]}, looks like data, not column names: "
                "add a header line)"
            )
        if len(names) == 1 and len(names[0].split()) in (len(RUN_FIELDS), len(QRELS_FIELDS)):
            kind = "run" if len(names[0].split()) == len(RUN_FIELDS) else "qrels"
            if not looks_like_header(names[0]):
                return f" (it looks like a TREC {kind} file: evaluate runs with --run and --truth)"
        if len(names) == 1 and (" " in names[0] or ":" in names[0]):
            return " (one column: if the file is delimited by something else, name it with delimiter=)"
        return ""

    def read(self, columns: Sequence[str], *, allow_empty: bool = False) -> pa.Table:
        """Only ``columns`` (in that order), chunks combined; raises if the table has no rows,
        unless ``allow_empty`` (a run that recommends nothing is still a run)."""
        self.require(columns)
        try:
            table = self._reader.read(list(dict.fromkeys(columns)))
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
            raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None
        if table.num_rows == 0 and not allow_empty:
            raise InputError(f"{self.name}: the table has no rows")
        return table.combine_chunks()

    @property
    def parquet_files(self) -> list[str]:
        """The parquet files of a path source, in reading order (empty for CSV and in-memory data)."""
        return list(self._reader.files) if self.format == "parquet" else []

    def count_rows(self) -> int | None:
        """Rows in the table, from parquet metadata or the in-memory table; None for a CSV file
        (unknown without reading it)."""
        try:
            return self._reader.count_rows()
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None

    def batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """``columns`` (None: all) as record batches of at most ``batch_rows`` rows, in table order
        and with the types of :attr:`schema`; memory is bounded by a few batches whatever the
        table's size. A value that cannot be read raises :class:`InputError` when it is reached."""
        if columns is not None:
            self.require(columns)
            columns = list(dict.fromkeys(columns))
        try:
            yield from self._reader.batches(columns, batch_rows)
        except (pa.ArrowException, OSError) as error:
            # A bad value deep in a CSV, or a corrupt parquet page, surfaces only while streaming.
            raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None


class _MemoryReader:
    """A frame or table already in memory, read like a file."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.schema = table.schema
        self.files: list[str] = []

    def require_same(self, columns: Sequence[str]) -> None:
        pass

    def read(self, columns: Sequence[str]) -> pa.Table:
        return self.table.select(list(columns))

    def count_rows(self) -> int:
        return self.table.num_rows

    def batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        table = self.table if columns is None else self.table.select(list(columns))
        yield from table.to_batches(max_chunksize=batch_rows)


def _missing(column: str, what: str, option: str, names: Sequence[str], taken: set[str]) -> str:
    """``what 'column' (option; 'x' looks like it)`` for the message of a missing column."""
    role = option.rstrip("=")
    free = [name for name in names if name not in taken]
    lowered = {name.lower(): name for name in free}
    like = [lowered[n] for n in LOOKALIKES.get(role, ()) if n in lowered and lowered[n] != column]
    if not like:
        import difflib

        like = difflib.get_close_matches(column, free, n=1, cutoff=0.8)
    detail = [option] if option else []
    if like:
        detail.append(f"{like[0]!r} looks like it")
    return f"{what} {column!r}" + (f" ({'; '.join(detail)})" if detail else "")


def _check_unique_names(schema: pa.Schema, name: str, hint: str = "") -> None:
    seen: set[str] = set()
    for column in schema.names:
        if column in seen:
            raise InputError(
                f"{name}: two columns are named {column!r}; every column needs its own name (rename one)"
                + hint
            )
        seen.add(column)


def _from_pandas(frame: Any, name: str) -> pa.Table:
    """A pandas DataFrame as a pyarrow Table; a duplicated or non-text column name, or a column
    of mixed types (ints and text in one object column), raises naming the column."""
    columns = list(frame.columns)
    for column in columns:
        if columns.count(column) > 1:
            raise InputError(
                f"{name}: two columns are named {column!r}; every column needs its own name (rename one)"
            )
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as error:
        for column in columns:
            try:
                pa.array(frame[column], from_pandas=True)
            except (pa.ArrowException, ValueError, TypeError) as column_error:
                raise InputError(
                    f"{name}: column {column!r} mixes types ({arrow_reason(column_error)}); a column holds "
                    "numbers or text, not both"
                ) from None
        raise InputError(f"{name}: cannot convert to a table: {arrow_reason(error)}") from None


def _is_pandas_frame(data: Any) -> bool:
    module = type(data).__module__
    return module.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc")
