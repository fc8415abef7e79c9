"""What an input is, told by its content, not its name: a parquet file or directory, a CSV/TSV
(delimiter sniffed), or a text file for the TREC reader; gzip-compressed text is read through.

Pipes and standard input (``-``) cannot be read twice or seeked: :func:`open_input` reads them
once, into memory, and every reader takes the :class:`Opened` it returns. A named pipe with no
writer yet is waited for, with a note on stderr after a second.
"""

from __future__ import annotations

import os
import re
import select
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

STDIN = "-"
"""The name of standard input, as a path."""

CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
"""Suffixes that mean a delimited text table whatever the content looks like."""

DELIMITERS = (",", ";", "\t", "|")
"""Delimiters a CSV's first lines are sniffed for, in order of preference on a tie."""

RUN_FIELDS = ("qid", "Q0", "docno", "rank", "score", "tag")
QRELS_FIELDS = ("qid", "iter", "docno", "rel")
"""The fields of a TREC run line and of a qrels line (:mod:`fastrank.inputs.trec` reads them)."""

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 1 << 16
_WAIT_NOTE_S = 1.0


@dataclass(frozen=True)
class Opened:
    """An input, looked at once.

    ``kind`` is ``"parquet"`` (a file), ``"directory"`` (of parquet files), ``"csv"`` (a
    delimited table, by its suffix) or ``"text"`` (plain text: a CSV table or a TREC file, as
    the reader decides from :func:`first_line`). ``path`` is set for files that can be read
    again; ``content`` holds the whole (decompressed) input of a pipe or of standard input.
    ``gzip``: the file at ``path`` is gzip-compressed.
    """

    name: str
    kind: str
    path: Path | None = None
    content: bytes | None = None
    gzip: bool = False

    def head(self, size: int = _SNIFF_BYTES) -> bytes:
        """The first ``size`` bytes (decompressed)."""
        if self.content is not None:
            return self.content[:size]
        assert self.path is not None
        if self.gzip:
            import gzip

            with gzip.open(self.path, "rb") as file:
                try:
                    return file.read(size)
                except (OSError, EOFError) as error:
                    raise InputError(f"{self.name}: cannot read as gzip: {error}") from None
        with open(self.path, "rb") as file:
            return file.read(size)

    def read_bytes(self) -> bytes:
        """The whole (decompressed) input."""
        if self.content is not None:
            return self.content
        assert self.path is not None
        if self.gzip:
            import gzip

            try:
                return gzip.decompress(self.path.read_bytes())
            except (OSError, EOFError) as error:
                raise InputError(f"{self.name}: cannot read as gzip: {error}") from None
        return self.path.read_bytes()

    def mapped(self) -> Any:
        """The whole (decompressed) input as a buffer: a plain file mapped into memory (no copy;
        the pages are the OS cache's), else :meth:`read_bytes`."""
        if self.content is not None or self.gzip or self.path is None:
            return self.read_bytes()
        import mmap

        with open(self.path, "rb") as file:
            try:
                return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError):  # an empty file, or one that cannot be mapped
                return self.read_bytes()

    def stream(self) -> Any:
        """A fresh pyarrow input stream over the (decompressed) bytes, for the CSV reader."""
        import pyarrow as pa

        if self.content is not None:
            return pa.BufferReader(self.content)
        return pa.input_stream(str(self.path), compression="gzip" if self.gzip else None)


def arrow_reason(error: Exception) -> str:
    """The first line of a pyarrow (or other) error, for a one-line message."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def shown(path: Any) -> str:
    """A path as messages print it: as it is, or quoted when it holds a line break or another
    control character (a message is one line)."""
    text = str(path)
    return repr(text) if any(ord(c) < 32 or ord(c) == 127 for c in text) else text


def open_input(source: Any, *, stdin_taken: list[bool] | None = None) -> Opened:
    """Look at ``source`` (a path, ``"-"`` for standard input, or an :class:`Opened`) once.

    Regular files and directories are only peeked at; a pipe, a character device or standard
    input is read whole, since it cannot be read again. ``stdin_taken`` (one flag shared by the
    inputs of one evaluation) refuses a second ``-``.
    """
    if isinstance(source, Opened):
        return source
    name = shown(source)
    if str(source) == STDIN:
        if stdin_taken is not None:
            if stdin_taken[0]:
                raise InputError("-: standard input can be read once; give the other inputs as files")
            stdin_taken[0] = True
        return _sniffed_content(name, _read_stdin())
    path = Path(source)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{name}: no such file or directory") from None
    except OSError as error:
        raise InputError(f"{name}: cannot open: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        return Opened(name, "directory", path=path)
    if not stat.S_ISREG(mode):  # a pipe (<(zcat run.gz)), a FIFO, a device: read it once
        return _sniffed_content(name, _read_pipe(path, name))
    try:
        with open(path, "rb") as file:
            start = file.read(1024)
            head = start[:4]
            if head == _PARQUET_MAGIC:
                file.seek(-4, os.SEEK_END)
                if file.read(4) == _PARQUET_MAGIC:
                    return Opened(name, "parquet", path=path)
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None
    compressed = head[:2] == _GZIP_MAGIC
    if path.name.lower().endswith(CSV_SUFFIXES):
        return Opened(name, "csv", path=path, gzip=compressed)
    if path.suffix.lower() in PARQUET_SUFFIXES:  # a parquet name on other bytes
        what = "no footer (a file cut short?)" if head == _PARQUET_MAGIC else f"it holds {describe(start)}"
        raise InputError(
            f"{name}: cannot read as parquet: it does not start and end with parquet's magic bytes "
            f"(PAR1); {what}"
        )
    return Opened(name, "text", path=path, gzip=compressed)


PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def describe(head: bytes) -> str:
    """What a file's first bytes say it is, for a message about a file of the wrong kind."""
    if head.startswith(_PARQUET_MAGIC):
        return "a parquet file (a table)"
    if head.startswith(_GZIP_MAGIC):
        return "gzip-compressed data"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if not head:
        return "nothing (the file is empty)"
    if b"\x00" not in head[:1024]:
        return "text"
    return "binary data"


def _sniffed_content(name: str, content: bytes) -> Opened:
    if content[:2] == _GZIP_MAGIC:
        import gzip

        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as error:
            raise InputError(f"{name}: cannot read as gzip: {error}") from None
    parquet = content[:4] == _PARQUET_MAGIC and content[-4:] == _PARQUET_MAGIC and len(content) >= 8
    return Opened(name, "parquet" if parquet else "text", content=content)


def _read_stdin() -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError("-: there is no standard input to read")
    return stream.read()


def _read_pipe(path: Path, name: str) -> bytes:
    """All of a pipe's bytes. A named pipe that no one has opened for writing blocks a plain
    ``open``: it is opened without blocking, and after a second without data a note says what
    is being waited for (Ctrl-C stops it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise InputError(f"{name}: cannot open: {error.strerror or error}") from None
    try:
        noted = False
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        chunks = []
        while True:
            if not poller.poll(_WAIT_NOTE_S * 1000):
                if not noted:
                    print(
                        f"fastrank: waiting for data on {name} (a pipe; nothing written to it yet; "
                        "Ctrl-C stops)",
                        file=sys.stderr,
                        flush=True,
                    )
                    noted = True
                continue
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def first_line(head: bytes) -> str:
    """The first line that is not blank, as text (empty when there is none)."""
    for raw in head.splitlines():
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            return line
    return ""


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a decimal number (what a data row holds, not a header)."""
    return bool(_NUMBER.match(text.strip()))


def looks_like_header(line: str) -> bool:
    """A first line without a single number among its fields: column names, so a table. Every
    TREC line holds numbers (rank and score, iteration and relevance)."""
    fields = [field for field in re.split(r"[\s,;|]+", line) if field]
    return bool(fields) and not any(is_number(field.strip("\"'")) for field in fields)


def sniff_delimiter(head: bytes) -> str:
    """The delimiter of a CSV's first lines: of :data:`DELIMITERS`, the one found on the first
    line (outside double quotes) as often on the next lines, most often; ``,`` when none is."""
    lines = [line for line in head.decode("utf-8", errors="replace").splitlines() if line.strip()][:6]
    if len(lines) > 1 and not head.endswith((b"\n", b"\r")):
        lines = lines[:-1]  # the last line may be cut by the sniffing window
    if not lines:
        return ","
    unquoted = [re.sub(r'"[^"]*"', "", line) for line in lines]
    counts = {delimiter: unquoted[0].count(delimiter) for delimiter in DELIMITERS}
    steady = [d for d in DELIMITERS if counts[d] and all(line.count(d) == counts[d] for line in unquoted[1:])]
    found = steady or [d for d in DELIMITERS if counts[d]]  # ragged lines: the first line decides
    return max(found, key=lambda d: counts[d]) if found else ","
