"""Parquet: a file, or a directory of files read as one table (pyarrow's dataset), or the bytes of
a pipe. Only the needed columns are read; a directory's files must agree on every needed column's
type, checked before any row is read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .formats import Opened, arrow_reason, shown


class ParquetFormat:
    """Registered as ``parquet``: the magic bytes at both ends of a file, or a directory."""

    name = "parquet"
    table = True

    def guess(self, opened: Opened) -> bool:
        return opened.kind in ("parquet", "directory")

    def open(self, opened: Opened, delimiter: str | None = None) -> ParquetReader:
        return ParquetReader(opened)


class ParquetReader:
    """One parquet source: its files (in reading order) and their schemas, read lazily."""

    def __init__(self, opened: Opened) -> None:
        self.name = opened.name
        self.content = None
        if opened.content is not None:  # a pipe, read once: held in memory
            import pyarrow.parquet as pq

            try:
                self.content = pq.read_table(pa.BufferReader(opened.content))
            except (pa.ArrowException, OSError) as error:
                raise InputError(f"{self.name}: cannot read as parquet: {arrow_reason(error)}") from None
            self.files: list[str] = []
            self.schemas = [self.content.schema]
            return
        assert opened.path is not None
        self.files = _parquet_files(opened.path) if opened.path.is_dir() else [str(opened.path)]
        if not self.files:
            raise InputError(f"{self.name}: no parquet files in this directory")
        import pyarrow.parquet as pq

        self.schemas = []
        for file in self.files:
            try:
                self.schemas.append(pq.read_schema(file))
            except (pa.ArrowException, OSError) as error:
                raise InputError(f"{shown(file)}: cannot read as parquet: {arrow_reason(error)}") from None

    @property
    def schema(self) -> pa.Schema:
        return self.schemas[0]

    def require_same(self, columns: Sequence[str]) -> None:
        """Refuse a file that lacks one of ``columns`` or stores it with another type than the
        first file: every engine reads every file to one schema, never casting silently."""
        for file, schema in zip(self.files[1:], self.schemas[1:], strict=True):
            for column in columns:
                wanted = self.schema.field(column).type
                if column not in schema.names:
                    raise InputError(f"{shown(file)}: no column {column!r}, which {shown(self.files[0])} has")
                if schema.field(column).type != wanted:
                    raise InputError(
                        f"{shown(file)}: column {column!r} holds {schema.field(column).type}, but "
                        f"{shown(self.files[0])} holds {wanted}; every file needs the same types"
                    )

    def _dataset(self) -> object:
        import pyarrow.dataset as ds

        return ds.dataset(self.files, format="parquet")

    def read(self, columns: Sequence[str]) -> pa.Table:
        if self.content is not None:
            return self.content.select(list(columns))
        return self._dataset().to_table(columns=list(columns))

    def count_rows(self) -> int | None:
        if self.content is not None:
            return self.content.num_rows
        return self._dataset().count_rows()

    def batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self.content is not None:
            table = self.content if columns is None else self.content.select(list(columns))
            yield from table.to_batches(max_chunksize=batch_rows)
            return
        import pyarrow.dataset as ds

        # Dataset.to_batches yields batches in file and row order, cast to the dataset schema.
        # pre_buffer (the default) reads ahead without bound when the consumer is slower than
        # the disk, so peak memory would grow with the file: off, with a short readahead.
        yield from self._dataset().to_batches(
            columns=columns,
            batch_size=batch_rows,
            batch_readahead=4,
            fragment_readahead=1,
            fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
        )


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
