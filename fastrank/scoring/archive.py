"""Reading a Keras 3 ``.keras`` file without Keras: :func:`load` opens the zip, parses
``config.json`` (:mod:`~fastrank.scoring.config`), reads the weights from ``model.weights.h5`` with
h5py and builds a :class:`~fastrank.scoring.forward.NumpyModel`. Nothing in the archive is executed.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from ..errors import InputError
from .config import Layer, parse_config
from .forward import NumpyModel, build
from .layers import UnsupportedModel


def load(path: str | os.PathLike) -> NumpyModel:
    """Read a Keras 3 ``.keras`` file into a :class:`NumpyModel`, without Keras.

    Raises :class:`UnsupportedModel` when a layer, activation or option is outside the supported
    set, and :class:`~fastrank.errors.InputError` naming the file when it is not a readable
    ``.keras`` archive: whatever fails while reading a file is the file's fault, never a bug.
    """
    try:
        return read_archive(os.fspath(path))
    except (UnsupportedModel, InputError):
        raise
    except Exception as error:  # a hostile archive can break any parser step (e.g. JSON nested 200,000 deep)
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise InputError(
            f"{os.fspath(path)}: not a readable Keras model ({type(error).__name__}: {reason})"
        ) from None


def read_archive(source: str) -> NumpyModel:
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise InputError(f"{source}: not a readable Keras model (no config.json in the archive)")
            config_bytes = archive.read("config.json")
            weights_bytes = archive.read("model.weights.h5") if "model.weights.h5" in names else None
    except InputError:
        raise
    except zipfile.BadZipFile as e:
        raise InputError(f"{source}: not a readable Keras model ({e})") from None
    except OSError as e:
        raise InputError(f"{source}: cannot read ({e.strerror or e})") from None
    try:
        config = json.loads(config_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{source}: config.json is not valid JSON ({e})") from None
    try:
        layers, width, input_name = parse_config(config)
    except UnsupportedModel:
        raise
    except InputError as e:
        raise InputError(f"{source}: {e}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise InputError(f"{source}: malformed config.json ({type(e).__name__}: {e})") from None
    if weights_bytes is None:
        if "model.weights.json" in names:
            raise UnsupportedModel("sharded weights (model.weights.json)")
        raise InputError(f"{source}: not a Keras .keras archive (no model.weights.h5)")

    import h5py

    try:
        with h5py.File(io.BytesIO(weights_bytes), "r") as h5:
            return build(layers, width, input_name, lambda layer: variables(h5, layer), source)
    except UnsupportedModel:
        raise
    except InputError as e:
        if str(e).startswith(f"{source}: "):
            raise
        raise InputError(f"{source}: {e}") from None
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise InputError(f"{source}: unreadable model.weights.h5 ({type(e).__name__}: {e})") from None


def variables(h5: Any, layer: Layer) -> list[np.ndarray]:
    """The layer's saved variables, in creation order (``vars/0``, ``vars/1``, ...)."""
    group = h5.get(f"{layer.group}/vars") if layer.group else None
    saved_name = group.attrs.get("name") if group is not None else None
    if isinstance(saved_name, bytes):
        saved_name = saved_name.decode()
    if saved_name is not None and saved_name != layer.name:
        group = None  # newer files name each group's layer: trust that over the counter
    if group is None and "layers" in h5:
        for key in h5["layers"]:
            candidate = h5.get(f"layers/{key}/vars")
            name = candidate.attrs.get("name") if candidate is not None else None
            if isinstance(name, bytes):
                name = name.decode()
            if name == layer.name:
                group = candidate
                break
    if group is None:
        raise InputError(f"model.weights.h5 holds no weights for layer {layer.name!r} ({layer.group})")
    out = []
    for i in range(len(group)):
        if str(i) not in group:
            raise InputError(f"weights of layer {layer.name!r} lack vars/{i}")
        out.append(np.asarray(group[str(i)][()]))
    return out
