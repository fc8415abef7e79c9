"""Hash-partition a table by user into N parquet files, each sorted by user, plus a manifest.

Every user's rows land in exactly one file, so a streaming or Dask evaluation can read whole users
one file at a time. Bucket of a row = ``hash(user) % buckets`` with a hash fixed by its definition
(see :mod:`fastrank.kernels.hashing`), not by the process, so other tools can recompute it:

* integer (any width, also bool and integral floats) ids: ``"splitmix64(int64)"``: splitmix64's
  output function applied to the id as int64, bits read as uint64;
* string ids (also large and dictionary-encoded strings): ``"fnv1a64(utf8)+splitmix64"``: FNV-1a
  64 of the UTF-8 bytes, then the same splitmix64 output function.

Output directory layout (``buckets`` = N)::

    out/part-00000.parquet ... out/part-{N-1:05d}.parquet   # all N, empty buckets as 0-row files
    out/_fastrank_buckets.json                               # the manifest, see :class:`Manifest`

One module of ~440 lines, on purpose: the hash, the two-pass write and the manifest's format and
checks are one contract (what a reader may rely on), read best in one place.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa

from ..arrays.checks import check_delimiter, check_int
from ..errors import InputError
from ..inputs.formats import arrow_reason
from ..inputs.outputs import check_not_input, check_output_dir, input_paths, temp_path
from ..inputs.tables import TableSource
from ..kernels import fnv1a64_buckets, splitmix64_buckets
from .progress import progress_bar

# The leading underscore makes pyarrow.dataset skip the manifest (it ignores names starting with
# "_" or "."), so the directory still reads as a plain parquet dataset.
MANIFEST_NAME = "_fastrank_buckets.json"
FORMAT = "fastrank-buckets"
VERSION = 1
INT_HASH = "splitmix64(int64)"
STRING_HASH = "fnv1a64(utf8)+splitmix64"
_HASHES = (INT_HASH, STRING_HASH)
# pyarrow >= 16; string_view ids are hashed like strings.
_is_string_view = getattr(pa.types, "is_string_view", lambda type_: False)


@dataclass(frozen=True)
class BucketFile:
    """One bucket's file.

    Attributes
    ----------
    path : str
        Relative to the bucket directory, ``/``-separated (``"part-00003.parquet"``).
    rows : int
        Rows in the file (0 for an empty bucket).
    users : int
        Distinct users in the file.
    """

    path: str
    rows: int
    users: int


@dataclass(frozen=True)
class Manifest:
    """What :func:`bucketize` wrote, as in ``_fastrank_buckets.json``.

    Attributes
    ----------
    user_col : str
        The user id column the rows were partitioned and sorted by.
    hash : str
        ``"splitmix64(int64)"`` or ``"fnv1a64(utf8)+splitmix64"``; a row's bucket is that hash of
        its user modulo ``buckets`` (see the module docstring).
    buckets : int
        Number of buckets; ``files[b]`` holds bucket ``b``.
    rows : int
        Rows over all files.
    columns : list of str
        Column names, in file order (the input's, unchanged).
    files : list of BucketFile
        One per bucket, in bucket order.
    format, version : str, int
        ``"fastrank-buckets"``, 1.
    """

    user_col: str
    hash: str
    buckets: int
    rows: int
    columns: list[str]
    files: list[BucketFile]
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> str:
        """The manifest file's text."""
        fields = asdict(self)
        head = {"format": fields.pop("format"), "version": fields.pop("version")}
        return json.dumps({**head, **fields}, indent=1) + "\n"


def user_buckets(users: pa.Array | pa.ChunkedArray | np.ndarray, n_buckets: int) -> np.ndarray:
    """The bucket (0 .. n_buckets - 1) of each user id, by the stable hash of the module docstring.

    Parameters
    ----------
    users : pyarrow Array or ChunkedArray, or numpy array, shape (n_rows,)
        Integer (any width), bool, integral float, string, large_string or dictionary-of-string
        ids. Float ids are taken as int64 only if every one is a whole number; ``3`` and ``3.0``
        share a bucket, ``"3"`` does not.
    n_buckets : int
        At least 1.

    Returns
    -------
    ndarray of int64, shape (n_rows,)

    Raises
    ------
    InputError
        A null id, a non-integral float id, or ids of another type.

    Examples
    --------
    >>> user_buckets(np.array([7, 12, -1]), 10).tolist()
    [4, 0, 7]
    >>> user_buckets(pa.array(["u1", "u2", "u1"]), 10).tolist()
    [5, 0, 5]
    """
    check_int(n_buckets, "buckets")  # a hash needs no file per bucket: any int64 count
    if isinstance(users, np.ndarray):
        if users.dtype.kind in "OUT":
            try:
                users = pa.array(users, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise InputError(f"users: cannot read as ids: {arrow_reason(error)}") from None
        else:
            users = pa.array(users)
    elif not isinstance(users, (pa.Array, pa.ChunkedArray)):
        raise InputError(f"users: expected a pyarrow or numpy array, got {type(users).__name__}")
    _hash_name(users.type, "users")
    return _buckets(users, n_buckets, "users", 0)


MAX_BUCKETS = 65_536
"""The most files bucketize writes: far more than any cluster's partitions, and few enough that a
file system lists them quickly."""


def _check_buckets_for_rows(n_buckets: int, rows: int, name: str) -> None:
    # More files than rows is never useful, and writing them can take minutes.
    if 0 < rows < n_buckets:  # an empty table is reported as such, later
        raise InputError(
            f"{name}: {n_buckets:,} buckets for {rows:,} rows would mostly be empty files; "
            f"choose at most {rows:,} (n_buckets=)"
        )


def _hash_name(type_: pa.DataType, label: str) -> str:
    """The hash used for ids of ``type_``; raises for a type without one (before any data is read)."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if pa.types.is_integer(type_) or pa.types.is_boolean(type_) or pa.types.is_floating(type_):
        return INT_HASH
    if pa.types.is_string(type_) or pa.types.is_large_string(type_) or _is_string_view(type_):
        return STRING_HASH
    raise InputError(f"{label} holds {type_}; user ids must be integers or strings")


def _buckets(users: pa.Array | pa.ChunkedArray, n_buckets: int, label: str, first_row: int) -> np.ndarray:
    """Buckets of ``users`` (type already checked); ``label`` and ``first_row`` place errors."""
    if users.null_count:
        row = first_row + int(np.argmax(users.is_null().to_numpy(zero_copy_only=False)))
        raise InputError(f"{label} is empty (null) at row {row}; every row needs a user")
    chunks = users.chunks if isinstance(users, pa.ChunkedArray) else [users]
    out = np.empty(len(users), np.int64)
    start = 0
    for chunk in chunks:
        _chunk_buckets(chunk, n_buckets, label, first_row + start, out[start : start + len(chunk)])
        start += len(chunk)
    return out


def _chunk_buckets(chunk: pa.Array, n_buckets: int, label: str, first_row: int, out: np.ndarray) -> None:
    if pa.types.is_dictionary(chunk.type):
        chunk = chunk.dictionary_decode()
    type_ = chunk.type
    if _is_string_view(type_):
        chunk = chunk.cast(pa.large_string())
        type_ = chunk.type
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32 if pa.types.is_string(type_) else np.int64)
        # A slice shares its parent's buffers: its strings start at offsets[chunk.offset].
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
        fnv1a64_buckets(offsets, data, n_buckets, out)
        return
    values = chunk.to_numpy(zero_copy_only=False)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**63)
        if not whole.all():
            row = int(np.argmin(whole))
            raise InputError(
                f"{label} holds the non-integral user id {values[row].item()!r} at row {first_row + row}; "
                "float ids must be whole numbers"
            )
    # uint64 ids above 2**63 wrap in the int64 cast and come back unchanged in the uint64 view.
    ids = values.astype(np.int64, copy=False).view(np.uint64)
    splitmix64_buckets(np.ascontiguousarray(ids), n_buckets, out)


def bucketize(
    data: Any,
    out: str | os.PathLike,
    n_buckets: int,
    *,
    user_col: str = "user_id",
    batch_rows: int = 1_048_576,
    delimiter: str | None = None,
    progress: bool = False,
) -> Manifest:
    """Hash-partition ``data`` by user into ``n_buckets`` parquet files under ``out``.

    Two passes, so the input may be larger than memory (one bucket must fit; pick ``n_buckets``
    accordingly): rows stream in batches of at most ``batch_rows`` into one temporary parquet file
    per bucket, then each bucket is read back, sorted by user and written as
    ``part-{bucket:05d}.parquet``. Output is built in a hidden directory beside ``out`` and renamed
    onto ``out`` at the end: readers never see a partial result, and an error leaves nothing.

    Parameters
    ----------
    data : str, path, pandas DataFrame or pyarrow Table
        Anything :class:`fastrank.inputs.tables.TableSource` reads: a parquet file or directory, a CSV/TSV.
    out : str or path
        The directory to create; it must not exist, or be empty. Its parent must exist.
    n_buckets : int
        Number of files, at least 1. All are written: an empty bucket is a 0-row file with the
        schema, so readers need no special case.
    user_col : str
        The user id column: integers, bools, whole-number floats or strings, no nulls.
    batch_rows : int
        Rows per streamed batch (the first pass holds about one batch in memory).
    delimiter : str, optional
        A CSV's delimiter; default: sniffed.
    progress : bool
        Draw progress bars on stderr: rows hashed, then buckets sorted.

    Returns
    -------
    Manifest
        Also written to ``out/_fastrank_buckets.json``.

    Notes
    -----
    Each file is sorted by user, ascending in pyarrow's order (bytewise for strings), with a
    stable sort: a user's rows keep their input order. Columns and schema are the input's.
    """
    check_int(n_buckets, "buckets", high=MAX_BUCKETS)
    check_int(batch_rows, "batch_rows")
    n_buckets = int(n_buckets)
    target = Path(out)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise InputError(f"{target}: already exists; choose a new output directory")
    check_output_dir(target.parent, str(target))
    check_not_input([target], input_paths(data), "out")
    source = TableSource(data, delimiter=check_delimiter(delimiter))
    source.require_roles([(user_col, "user column", "user_col=")])
    label = f"{source.name}: column {user_col!r}"
    hash_name = _hash_name(source.schema.field(user_col).type, label)
    rows = source.count_rows()  # None for CSV: checked after the first pass instead
    if rows is not None:
        _check_buckets_for_rows(n_buckets, rows, source.name)

    temp = temp_path(target)
    temp.mkdir()
    try:
        with progress_bar(progress, total=rows, unit="row", desc="bucketize: hashing") as bar:
            schema, total = _pass1(source, temp, n_buckets, user_col, int(batch_rows), label, bar)
        if total == 0:
            raise InputError(f"{source.name}: the table has no rows")
        _check_buckets_for_rows(n_buckets, total, source.name)
        files = []
        with progress_bar(progress, total=n_buckets, unit="bucket", desc="bucketize: sorting") as bar:
            for bucket in range(n_buckets):
                files.append(_pass2(temp, bucket, schema, user_col))
                bar.update(1)
        manifest = Manifest(
            user_col=user_col,
            hash=hash_name,
            buckets=n_buckets,
            rows=total,
            columns=list(schema.names),
            files=files,
        )
        (temp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
        try:
            os.replace(temp, target)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
            # ``out`` appeared, or filled, since the check above.
            raise InputError(f"{target}: already exists; choose a new output directory") from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return manifest


def _temp_name(bucket: int) -> str:
    return f"pass1-{bucket:05d}.parquet"


def _pass1(
    source: TableSource, temp: Path, n_buckets: int, user_col: str, batch_rows: int, label: str, bar: Any
) -> tuple[pa.Schema, int]:
    """Append each batch's rows to their bucket's temporary file; returns the schema and row count."""
    import pyarrow.parquet as pq

    schema = source.schema
    user_index = schema.get_field_index(user_col)
    writers: dict[int, pq.ParquetWriter] = {}
    total = 0
    try:
        for batch in source.batches(None, batch_rows):
            buckets = _buckets(batch.column(user_index), n_buckets, label, total)
            total += batch.num_rows
            bar.update(batch.num_rows)
            # A stable sort by bucket keeps the input row order inside every bucket.
            order = np.argsort(buckets, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(buckets, minlength=n_buckets))])
            grouped = batch.take(pa.array(order))
            for bucket in np.flatnonzero(np.diff(bounds)).tolist():
                writer = writers.get(bucket)
                if writer is None:
                    # Opened on first use: one open file per non-empty bucket, until the pass ends.
                    writer = writers[bucket] = _open_writer(temp / _temp_name(bucket), schema, n_buckets)
                writer.write_batch(grouped.slice(bounds[bucket], bounds[bucket + 1] - bounds[bucket]))
    finally:
        for writer in writers.values():
            writer.close()
    return schema, total


def _open_writer(path: Path, schema: pa.Schema, n_buckets: int) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetWriter(path, schema)
    except OSError as error:
        if error.errno != errno.EMFILE:
            raise
        raise InputError(
            f"buckets: {n_buckets} buckets need {n_buckets} open files, more than this process may "
            "open; use fewer buckets or raise the limit (ulimit -n)"
        ) from None


def _pass2(temp: Path, bucket: int, schema: pa.Schema, user_col: str) -> BucketFile:
    """Sort one bucket's temporary file by user (stable) into its final file."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = temp / _temp_name(bucket)
    if path.exists():
        table = pq.read_table(path, schema=schema)
        path.unlink()
        key = table.column(user_col)
        if pa.types.is_dictionary(key.type):
            # By value, not by dictionary index (and pyarrow sorts no chunked dictionary column).
            key = key.cast(key.type.value_type)
        # sort_indices is a stable sort: one user's rows keep their input order.
        table = table.take(pc.sort_indices(key))
        users = pc.count_distinct(key).as_py()
    else:
        table = schema.empty_table()
        users = 0
    name = f"part-{bucket:05d}.parquet"
    pq.write_table(table, temp / name)
    return BucketFile(path=name, rows=table.num_rows, users=users)


def read_manifest(path: str | os.PathLike) -> Manifest | None:
    """The manifest of a :func:`bucketize` directory, or None if ``path`` is not one.

    Returns None when ``path`` is not a directory or holds no ``_fastrank_buckets.json``; raises
    :class:`InputError` when the manifest is malformed, of another format or version, or lists a
    file that is missing.
    """
    root = Path(path)
    file = root / MANIFEST_NAME
    if not root.is_dir() or not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{file}: not a valid bucket manifest: {error}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{file}: not a valid bucket manifest: expected a JSON object")
    if raw.get("format") != FORMAT:
        raise InputError(f"{file}: format is {raw.get('format')!r}, not {FORMAT!r}")
    if raw.get("version") != VERSION:
        raise InputError(
            f"{file}: manifest version {raw.get('version')!r} is not supported; this fastrank reads {VERSION}"
        )

    def field(name: str, kind: type, where: dict = raw, at: str = "") -> Any:
        value = where.get(name)
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 0)):
            got = "missing" if value is None else f"{value!r}"
            what = "an int >= 0" if kind is int else f"a {kind.__name__}"
            raise InputError(f"{file}: {at}{name!r} must be {what}, got {got}")
        return value

    files = []
    for i, entry in enumerate(field("files", list)):
        at = f"files[{i}]: "
        if not isinstance(entry, dict):
            raise InputError(f"{file}: {at}expected a JSON object, got {entry!r}")
        rel = field("path", str, entry, at)
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or "\\" in rel:
            raise InputError(f"{file}: {at}path {rel!r} must be relative, inside the directory")
        if not (root / rel).is_file():
            raise InputError(f"{file}: lists {rel!r}, which is missing")
        files.append(
            BucketFile(path=rel, rows=field("rows", int, entry, at), users=field("users", int, entry, at))
        )
    manifest = Manifest(
        user_col=field("user_col", str),
        hash=field("hash", str),
        buckets=field("buckets", int),
        rows=field("rows", int),
        columns=field("columns", list),
        files=files,
    )
    if manifest.hash not in _HASHES:
        raise InputError(f"{file}: unknown hash {manifest.hash!r}; expected one of {', '.join(_HASHES)}")
    if manifest.buckets < 1 or len(files) != manifest.buckets:
        raise InputError(f"{file}: lists {len(files)} files for {manifest.buckets} buckets")
    if manifest.rows != sum(f.rows for f in files):
        raise InputError(
            f"{file}: 'rows' is {manifest.rows}, but its files hold {sum(f.rows for f in files)}"
        )
    if not all(isinstance(c, str) for c in manifest.columns):
        raise InputError(f"{file}: 'columns' must be a list of names")
    return manifest
