"""Delimited text tables (CSV, TSV, gzip-compressed or not, from a file or a pipe): the delimiter
sniffed from the first lines unless given, the first line the column names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from ..errors import InputError
from .formats import Opened, arrow_reason, sniff_delimiter


class CsvFormat:
    """Registered as ``csv``: a ``.csv``/``.tsv`` name, or any text that is not a TREC file."""

    name = "csv"
    table = True

    def guess(self, opened: Opened) -> bool:
        return opened.kind in ("csv", "text")

    def open(self, opened: Opened, delimiter: str | None = None) -> CsvReader:
        return CsvReader(opened, delimiter)


class CsvReader:
    """One delimited text source; a pipe's bytes are parsed once, into memory."""

    def __init__(self, opened: Opened, delimiter: str | None) -> None:
        import pyarrow.csv as pacsv

        self.name = opened.name
        self.files: list[str] = []
        self._opened = opened
        self._parse = pacsv.ParseOptions(delimiter=delimiter or sniff_delimiter(opened.head()))
        self.content = None
        try:
            if opened.content is not None:
                self.content = pacsv.read_csv(pa.BufferReader(opened.content), parse_options=self._parse)
                self.schema = self.content.schema
            else:
                with pacsv.open_csv(opened.stream(), parse_options=self._parse) as reader:
                    self.schema = reader.schema
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{self.name}: cannot read as CSV: {arrow_reason(error)}") from None

    def require_same(self, columns: Sequence[str]) -> None:
        pass  # one file: one schema

    def _convert(self, columns: Sequence[str] | None) -> Any:
        import pyarrow.csv as pacsv

        return pacsv.ConvertOptions(include_columns=list(columns)) if columns else None

    def read(self, columns: Sequence[str]) -> pa.Table:
        if self.content is not None:
            return self.content.select(list(columns))
        import pyarrow.csv as pacsv

        return pacsv.read_csv(
            self._opened.stream(), parse_options=self._parse, convert_options=self._convert(columns)
        )

    def count_rows(self) -> int | None:
        """None for a file: unknown without reading it."""
        return None if self.content is None else self.content.num_rows

    def batches(self, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self.content is not None:
            table = self.content if columns is None else self.content.select(list(columns))
            yield from table.to_batches(max_chunksize=batch_rows)
            return
        import pyarrow.csv as pacsv

        # The reader options of the schema's, so the types inferred are the schema's.
        with pacsv.open_csv(
            self._opened.stream(), parse_options=self._parse, convert_options=self._convert(columns)
        ) as reader:
            for batch in reader:
                # The CSV reader cuts batches by bytes, not rows.
                for start in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(start, batch_rows)
