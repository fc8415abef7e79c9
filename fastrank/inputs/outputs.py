"""Writing outputs: targets checked before any work (a writable place, a known suffix, never one
of the run's inputs), then written atomically: to a hidden temporary file beside the target,
renamed onto it at the end. A failed write (a full disk, say) leaves the target as it was and no
temporary file behind."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InputError
from .formats import shown

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


def check_writable(path: str | os.PathLike, flag: str, suffixes: Any = None) -> Path:
    """Fail before any work if ``path`` cannot take a table: no file name, a suffix other than
    those of :data:`TABLE_FORMATS` (or of ``suffixes``, e.g. ``(".html",)``), a name too long for
    the file system, or a directory where nothing can be written (the file itself is written
    only at the end, atomically)."""
    target = Path(path)
    if len(target.name.encode()) > _name_max(target.parent if target.parent.is_dir() else Path(".")):
        raise InputError(
            f"{flag}: the file name is longer than this file system allows ({len(target.name)} chars)"
        )
    if not str(path):
        raise InputError(f"{flag}: the path is empty; give a file name")
    if target.is_dir():
        raise InputError(f"{flag}: {str(path)!r} is a directory; give a file name")
    allowed = TABLE_FORMATS if suffixes is None else tuple(suffixes)
    if target.suffix.lower() not in allowed:
        what = "table suffix" if suffixes is None else "suffix"
        raise InputError(f"{flag}: {target.name!r} has no known {what}; name a {' or '.join(allowed)} file")
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
    except OSError as error:  # a full disk, a quota, a vanished directory: the target is untouched
        reason = error.strerror or str(error).strip().splitlines()[0] or type(error).__name__
        raise InputError(f"{shown(target)}: cannot write ({reason}); nothing was written there") from None
    finally:
        if temp.exists():
            temp.unlink()
    return target


def input_paths(*sources: Any) -> list[Path]:
    """The files and directories among ``sources`` (paths, opened inputs, lists of them; frames
    and other objects are skipped): what an output must not be written over."""
    found: list[Path] = []
    for source in sources:
        if isinstance(source, (list, tuple)):
            found += input_paths(*source)
        elif isinstance(source, dict):
            found += input_paths(*source.values())
        elif isinstance(source, (str, os.PathLike)) and str(source) not in ("", "-"):
            found.append(Path(source))
        elif getattr(source, "path", None) is not None:  # an opened input that lives in a file
            found.append(Path(source.path))
    return [path for path in found if path.exists()]


def check_not_input(targets: Iterable[str | os.PathLike], inputs: Sequence[Path], flag: str) -> None:
    """Refuse, before any work, an output target that is one of the inputs (the same file, also
    through a symbolic or hard link) or lies inside an input directory: writing it would
    destroy, or change, what was evaluated."""
    for target in (Path(one) for one in targets):
        for source in inputs:
            if source.is_dir():
                if _inside(target, source):
                    raise InputError(
                        f"{flag}: {shown(target)} is inside the input directory {shown(source)}; "
                        "write it elsewhere"
                    )
            elif target.exists() and os.path.samefile(target, source):
                raise InputError(
                    f"{flag}: {shown(target)} is the input {shown(source)}; writing it would destroy the "
                    "input: choose another path"
                )


def _inside(target: Path, directory: Path) -> bool:
    folder = os.path.realpath(target.parent if not target.is_dir() else target)
    root = os.path.realpath(directory)
    return folder == root or folder.startswith(root.rstrip(os.sep) + os.sep)


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to parquet at ``path`` atomically (see :func:`write_atomic`)."""
    import pyarrow.parquet as pq

    return write_atomic(path, lambda temp: pq.write_table(table, temp))
