"""Reading evaluation tables with pyarrow (only the needed columns) and writing files atomically."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import InputError

_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")


def _is_csv(path: Path) -> bool:
    return path.name.lower().endswith(_CSV_SUFFIXES)


def arrow_reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class TableSource:
    """A table to evaluate: a parquet file, a directory of parquet files, a CSV file, a pandas
    DataFrame or a pyarrow Table. ``schema`` is known before any data is read."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.path: Path | None = None
        self.files: list[str] = []  # parquet files, in reading order (path sources only)
        self._file_schemas: list[pa.Schema] = []
        if isinstance(data, pa.Table):
            self.name = "table"
            self.schema = data.schema
        elif _is_pandas_frame(data):
            self.name = "frame"
            self.data = pa.Table.from_pandas(data, preserve_index=False)
            self.schema = self.data.schema
        elif isinstance(data, (str, os.PathLike)):
            self.path = Path(data)
            self.name = str(data)
            self.schema = self._read_schema()
        else:
            raise InputError(
                f"data: expected a path, a pandas DataFrame or a pyarrow Table, got {type(data).__name__}"
            )

    @property
    def column_names(self) -> list[str]:
        """Columns in file order."""
        return list(self.schema.names)

    def _read_schema(self) -> pa.Schema:
        path = self.path
        assert path is not None
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        try:
            if _is_csv(path):
                import pyarrow.csv as pacsv

                with pacsv.open_csv(path, parse_options=_csv_parse_options(path)) as reader:
                    return reader.schema
            import pyarrow.parquet as pq

            self.files = _parquet_files(path) if path.is_dir() else [str(path)]
            if not self.files:
                raise InputError(f"{path}: no parquet files in this directory")
            self._file_schemas = []
            for file in self.files:
                try:
                    self._file_schemas.append(pq.read_schema(file))
                except (pa.ArrowException, OSError) as error:
                    raise InputError(f"{file}: cannot read as parquet: {arrow_reason(error)}") from None
            return self._file_schemas[0]
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as error:
            kind = "CSV" if _is_csv(path) else "parquet"
            raise InputError(f"{path}: cannot read as {kind}: {arrow_reason(error)}") from None

    def require(self, columns: Sequence[str], what: str = "column") -> None:
        """Raise naming the first column of ``columns`` that the table lacks; for a directory, also
        the first file that lacks one or stores it with another type than the first file (every
        engine reads every file to one schema, so a mismatch is refused, never cast silently)."""
        names = set(self.schema.names)
        for column in columns:
            if column not in names:
                raise InputError(
                    f"{self.name}: no {what} {column!r}; columns are: {', '.join(self.schema.names)}"
                )
        for file, schema in zip(self.files[1:], self._file_schemas[1:], strict=True):
            for column in columns:
                wanted = self.schema.field(column).type
                if column not in schema.names:
                    raise InputError(f"{file}: no {what} {column!r}, which {self.files[0]} has")
                if schema.field(column).type != wanted:
                    raise InputError(
                        f"{file}: column {column!r} holds {schema.field(column).type}, but {self.files[0]} "
                        f"holds {wanted}; every file needs the same types"
                    )

    def read(self, columns: Sequence[str], *, allow_empty: bool = False) -> pa.Table:
        """Only ``columns`` (in that order), chunks combined; raises if the table has no rows,
        unless ``allow_empty`` (a run that recommends nothing is still a run)."""
        self.require(columns)
        columns = list(dict.fromkeys(columns))
        if self.path is None:
            table = self.data.select(columns)
        else:
            try:
                if _is_csv(self.path):
                    import pyarrow.csv as pacsv

                    table = pacsv.read_csv(
                        self.path,
                        parse_options=_csv_parse_options(self.path),
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
        if self.path is None or _is_csv(self.path):
            return []

        return list(self.files)

    def count_rows(self) -> int | None:
        """Rows in the table, from parquet metadata or the in-memory table; None for CSV (unknown
        without reading it)."""
        if self.path is None:
            return self.data.num_rows
        if _is_csv(self.path):
            return None
        import pyarrow.dataset as ds

        return ds.dataset(self.files, format="parquet").count_rows()

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
            if _is_csv(self.path):
                import pyarrow.csv as pacsv

                # The reader options of _read_schema, so the types inferred are the schema's.
                with pacsv.open_csv(
                    self.path,
                    parse_options=_csv_parse_options(self.path),
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


def _csv_parse_options(path: Path) -> Any:
    import pyarrow.csv as pacsv

    return pacsv.ParseOptions(delimiter="\t" if ".tsv" in path.name.lower() else ",")


def _is_pandas_frame(data: Any) -> bool:
    module = type(data).__module__
    return module.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc")


def numeric_column(table: pa.Table, column: str, source: str, users: np.ndarray | None = None) -> np.ndarray:
    """A column as a numpy number array; nulls and non-numbers raise, naming column and row."""
    chunked = table.column(column)
    if not (
        pa.types.is_integer(chunked.type)
        or pa.types.is_floating(chunked.type)
        or pa.types.is_boolean(chunked.type)
    ):
        raise InputError(f"{source}: column {column!r} holds {chunked.type}, not numbers")
    if chunked.null_count:
        row = int(np.argmax(chunked.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{source}: column {column!r} is empty (null) at row {row}{_user_note(users, row)}")
    return chunked.to_numpy()


def user_column(table: pa.Table, column: str, source: str) -> np.ndarray:
    """The user id column as numpy; a null raises, naming the column and row."""
    chunked = table.column(column)
    if chunked.null_count:
        row = int(np.argmax(chunked.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{source}: column {column!r} is empty (null) at row {row}; every row needs a user")
    return chunked.to_numpy(zero_copy_only=False)


def feature_matrix(table: pa.Table, columns: Sequence[str], source: str, users: np.ndarray) -> np.ndarray:
    """The ``columns`` as one C-contiguous float32 matrix (rows x features), for one predict call.

    NaN or infinite features raise, naming the column, row and user: a model fed them would
    return scores that cannot be ranked.
    """
    matrix = np.empty((table.num_rows, len(columns)), np.float32)
    for j, column in enumerate(columns):
        matrix[:, j] = numeric_column(table, column, source, users)
        finite = np.isfinite(matrix[:, j])
        if not finite.all():
            row = int(np.argmin(finite))
            where = f"row {row}{_user_note(users, row)}"
            raise InputError(
                f"{source}: feature column {column!r} is {matrix[row, j]} at {where}; features must be finite"
            )
    return matrix


def _user_note(users: np.ndarray | None, row: int) -> str:
    if users is None:
        return ""
    user = users[row]
    return f" (user {user.item() if isinstance(user, np.generic) else user!r})"


TABLE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
"""Suffixes a table can be written to, and the format each one means."""


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def temp_path(target: Path) -> Path:
    """A hidden, unique temporary name beside ``target``: ``.<name>.<hex>.tmp``, the name cut so
    the whole stays within the file system's file-name limit (a long but legal target name must
    not make its temporary file impossible to create)."""
    token = f".{secrets.token_hex(4)}.tmp"
    room = _name_max(target.parent if target.parent.is_dir() else Path(".")) - 1 - len(token)
    stem = target.name.encode()[: max(1, room)].decode(errors="ignore")
    return target.with_name(f".{stem}{token}")


def check_output_dir(directory: Path, what: str) -> None:
    """Raise :class:`InputError` unless files can be created in ``directory``: it exists, is a
    directory, and a probe file can be made there (and is removed). Permissions alone are not
    enough: root ignores them, a read-only mount does not."""
    if not directory.exists():
        raise InputError(f"{what}: directory {directory} does not exist")
    if not directory.is_dir():
        raise InputError(f"{what}: {directory} is a file, not a directory")
    probe = temp_path(directory / "probe")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.unlink(probe)
    except OSError as error:
        raise InputError(f"{what}: cannot write in {directory} ({error.strerror or error})") from None


def check_writable(path: str | os.PathLike, flag: str) -> Path:
    """Fail before any work if ``path`` cannot take a table: no file name, a suffix other than
    those of :data:`TABLE_FORMATS`, a name too long for the file system, or a directory where
    nothing can be written (the file itself is written only at the end, atomically)."""
    target = Path(path)
    if len(target.name.encode()) > _name_max(target.parent if target.parent.is_dir() else Path(".")):
        raise InputError(
            f"{flag}: the file name is longer than this file system allows ({len(target.name)} chars)"
        )
    if not str(path):
        raise InputError(f"{flag}: the path is empty; give a file name")
    if target.is_dir():
        raise InputError(f"{flag}: {str(path)!r} is a directory; give a file name")
    if target.suffix.lower() not in TABLE_FORMATS:
        raise InputError(
            f"{flag}: {target.name!r} has no known table suffix; name a {' or '.join(TABLE_FORMATS)} file"
        )
    check_output_dir(target.parent, flag)
    return target


def write_table_atomic(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` atomically (see :func:`write_atomic`) as parquet or CSV, by the suffix of
    ``path`` (:data:`TABLE_FORMATS`)."""
    kind = TABLE_FORMATS.get(Path(path).suffix.lower())
    if kind == "csv":
        import pyarrow.csv as pacsv

        return write_atomic(path, lambda temp: pacsv.write_csv(table, temp))
    if kind is None:
        raise InputError(f"{path}: name a {' or '.join(TABLE_FORMATS)} file")
    return write_parquet_atomic(table, path)


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(temp_path)`` on a temporary file beside ``path``, then rename it onto ``path``.

    A crash or error leaves no partial file: readers see the old file or the complete new one.
    """
    target = Path(path)
    temp = temp_path(target)
    try:
        write(temp)
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()
    return target


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to parquet at ``path`` atomically (see :func:`write_atomic`)."""
    import pyarrow.parquet as pq

    return write_atomic(path, lambda temp: pq.write_table(table, temp))
