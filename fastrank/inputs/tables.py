"""Reading evaluation tables with pyarrow (only the needed columns, every missing one named at
once), and the per-row columns they hold, checked (:mod:`fastrank.inputs.outputs` writes)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError
from .formats import (
    QRELS_FIELDS,
    RUN_FIELDS,
    Opened,
    is_number,
    looks_like_header,
    open_input,
    shown,
    sniff_delimiter,
)


def arrow_reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


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
    (:func:`fastrank.inputs.formats.open_input`), not by the name. ``schema`` is known before any data
    is read."""

    def __init__(self, data: Any, *, delimiter: str | None = None) -> None:
        self.data = data
        self.path: Path | None = None
        self.format = "memory"  # "parquet" (a file or a directory), "csv", or "memory"
        self.files: list[str] = []  # parquet files, in reading order (path sources only)
        self._file_schemas: list[pa.Schema] = []
        self._opened: Opened | None = None
        self._delimiter = delimiter
        if isinstance(data, pa.Table):
            self.name = "table"
            self.schema = data.schema
        elif _is_pandas_frame(data):
            self.name = "frame"
            self.data = _from_pandas(data, self.name)
            self.schema = self.data.schema
        elif isinstance(data, (str, os.PathLike, Opened)):
            opened = open_input(data)
            self.name = opened.name
            self._opened = opened
            if opened.content is not None:  # a pipe or standard input, read once: held in memory
                self.data = self._read_content(opened)
                self.schema = self.data.schema
            else:
                self.path = opened.path
                self.format = "parquet" if opened.kind in ("parquet", "directory") else "csv"
                self.schema = self._read_schema()
        else:
            raise InputError(
                f"data: expected a path, a pandas DataFrame or a pyarrow Table, got {type(data).__name__}"
            )
        _check_unique_names(self.schema, self.name, self._header_hint())

    @property
    def column_names(self) -> list[str]:
        """Columns in file order."""
        return list(self.schema.names)

    def _read_content(self, opened: Opened) -> pa.Table:
        assert opened.content is not None
        try:
            if opened.kind == "parquet":
                import pyarrow.parquet as pq

                return pq.read_table(pa.BufferReader(opened.content))
            import pyarrow.csv as pacsv

            return pacsv.read_csv(pa.BufferReader(opened.content), parse_options=self._csv_options())
        except (pa.ArrowException, OSError) as error:
            kind = "parquet" if opened.kind == "parquet" else "CSV"
            raise InputError(f"{self.name}: cannot read as {kind}: {arrow_reason(error)}") from None

    def _csv_options(self) -> Any:
        import pyarrow.csv as pacsv

        assert self._opened is not None
        delimiter = self._delimiter or sniff_delimiter(self._opened.head())
        return pacsv.ParseOptions(delimiter=delimiter)

    def _read_schema(self) -> pa.Schema:
        path = self.path
        assert path is not None
        try:
            if self.format == "csv":
                import pyarrow.csv as pacsv

                assert self._opened is not None
                with pacsv.open_csv(self._opened.stream(), parse_options=self._csv_options()) as reader:
                    return reader.schema
            import pyarrow.parquet as pq

            self.files = _parquet_files(path) if path.is_dir() else [str(path)]
            if not self.files:
                raise InputError(f"{self.name}: no parquet files in this directory")
            self._file_schemas = []
            for file in self.files:
                try:
                    self._file_schemas.append(pq.read_schema(file))
                except (pa.ArrowException, OSError) as error:
                    raise InputError(
                        f"{shown(file)}: cannot read as parquet: {arrow_reason(error)}"
                    ) from None
            return self._file_schemas[0]
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
            kind = "CSV" if self.format == "csv" else "parquet"
            raise InputError(f"{self.name}: cannot read as {kind}: {arrow_reason(error)}") from None

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
        columns = [column for column, _, _ in roles]
        for file, schema in zip(self.files[1:], self._file_schemas[1:], strict=True):
            for column in columns:
                wanted = self.schema.field(column).type
                if column not in schema.names:
                    raise InputError(f"{shown(file)}: no column {column!r}, which {shown(self.files[0])} has")
                if schema.field(column).type != wanted:
                    raise InputError(
                        f"{shown(file)}: column {column!r} holds {schema.field(column).type}, but "
                        f"{shown(self.files[0])} holds {wanted}; every file needs the same types"
                    )

    def _header_hint(self) -> str:
        """Why a text table may lack the columns: no header line, another delimiter, or a TREC
        file given as a table."""
        if self._opened is None or self._opened.kind in ("parquet", "directory"):
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
        columns = list(dict.fromkeys(columns))
        if self.path is None:
            table = self.data.select(columns)
        else:
            try:
                if self.format == "csv":
                    import pyarrow.csv as pacsv

                    assert self._opened is not None
                    table = pacsv.read_csv(
                        self._opened.stream(),
                        parse_options=self._csv_options(),
                        convert_options=pacsv.ConvertOptions(include_columns=columns),
                    )
                else:
                    import pyarrow.dataset as ds

                    table = ds.dataset(self.files, format="parquet").to_table(columns=columns)
            except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
                raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None
        if table.num_rows == 0 and not allow_empty:
            raise InputError(f"{self.name}: the table has no rows")
        return table.combine_chunks()

    @property
    def parquet_files(self) -> list[str]:
        """The parquet files of a path source, in reading order (empty for CSV and in-memory data)."""
        return list(self.files) if self.format == "parquet" else []

    def count_rows(self) -> int | None:
        """Rows in the table, from parquet metadata or the in-memory table; None for CSV (unknown
        without reading it)."""
        if self.path is None:
            return self.data.num_rows
        if self.format == "csv":
            return None
        import pyarrow.dataset as ds

        try:
            return ds.dataset(self.files, format="parquet").count_rows()
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None

    def batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """``columns`` (None: all) as record batches of at most ``batch_rows`` rows, in table order
        and with the types of :attr:`schema`; memory is bounded by a few batches whatever the
        table's size. A value that cannot be read raises :class:`InputError` when it is reached."""
        if columns is not None:
            self.require(columns)
            columns = list(dict.fromkeys(columns))
        if self.path is None:
            table = self.data if columns is None else self.data.select(columns)
            yield from table.to_batches(max_chunksize=batch_rows)
            return
        try:
            if self.format == "csv":
                import pyarrow.csv as pacsv

                assert self._opened is not None
                # The reader options of _read_schema, so the types inferred are the schema's.
                with pacsv.open_csv(
                    self._opened.stream(),
                    parse_options=self._csv_options(),
                    convert_options=pacsv.ConvertOptions(include_columns=columns) if columns else None,
                ) as reader:
                    for batch in reader:
                        # The CSV reader cuts batches by bytes, not rows.
                        for start in range(0, batch.num_rows, batch_rows):
                            yield batch.slice(start, batch_rows)
                return
            import pyarrow.dataset as ds

            # Dataset.to_batches yields batches in file and row order, cast to the dataset schema.
            # pre_buffer (the default) reads ahead without bound when the consumer is slower than
            # the disk, so peak memory would grow with the file: off, with a short readahead.
            dataset = ds.dataset(self.files, format="parquet")
            yield from dataset.to_batches(
                columns=columns,
                batch_size=batch_rows,
                batch_readahead=4,
                fragment_readahead=1,
                fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
            )
        except (pa.ArrowException, OSError) as error:
            # A bad value deep in a CSV, or a corrupt parquet page, surfaces only while streaming.
            raise InputError(f"{self.name}: cannot read: {arrow_reason(error)}") from None


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


def _parquet_files(root: Path) -> list[str]:
    """The files under directory ``root``, in sorted order, as pyarrow lists a directory dataset
    (names starting with ``.`` or ``_`` are skipped: hidden files, manifests), following directory
    symlinks but refusing one that leads back into a directory already being read (a loop would
    read the same files again and again) or a file reached twice."""
    files: list[str] = []
    seen_dirs: set[str] = set()
    seen_files: dict[str, str] = {}

    def walk(directory: Path, chain: tuple[str, ...]) -> None:
        real = os.path.realpath(directory)
        if real in chain:
            raise InputError(
                f"{root}: {directory} leads back into {real} (a directory symlink loop); remove the link"
            )
        if real in seen_dirs:
            raise InputError(f"{root}: {directory} is a second way into {real}; each file must be read once")
        seen_dirs.add(real)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_dir():
                walk(Path(entry.path), (*chain, real))
            elif entry.is_file():
                real_file = os.path.realpath(entry.path)
                if real_file in seen_files:
                    raise InputError(f"{root}: {entry.path} is the same file as {seen_files[real_file]}")
                seen_files[real_file] = entry.path
                files.append(entry.path)

    walk(root, ())
    return sorted(files)  # full paths in lexical order, as pyarrow orders a directory's files


def _is_pandas_frame(data: Any) -> bool:
    module = type(data).__module__
    return module.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc")
