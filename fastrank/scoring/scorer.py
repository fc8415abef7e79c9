"""The one entry to scoring: :func:`load_scorer` picks the numpy forward pass or Keras for a model,
:func:`check_features` checks the feature columns against its input, and :func:`predict` scores a
whole matrix with either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..inputs.formats import describe, shown
from .archive import load as load_numpy
from .keras_model import keras_predict, load_model
from .layers import UnsupportedModel

DEFAULT_BATCH_SIZE = 65_536
"""Rows per predict batch: large, since per-batch overhead dominates small dense models."""


PREDICTORS = ("auto", "numpy", "keras")
"""``auto``: numpy when every layer is supported, else Keras; ``numpy`` or ``keras``: forced."""


@dataclass(frozen=True)
class ModelOptions:
    """How a model is loaded and run, each default declared once: rows per predict batch, Keras'
    safe mode (refuses models that carry Python code), the predictor (:data:`PREDICTORS`)."""

    batch_size: int = DEFAULT_BATCH_SIZE
    safe_mode: bool = True
    predictor: str = "auto"


MODEL_DEFAULTS = ModelOptions()


def load_scorer(model: Any, *, safe_mode: bool = True, predictor: str = "auto") -> tuple[Any, str | None]:
    """The model to score with, and a one-line note when ``auto`` fell back to Keras.

    A ``.keras`` file made only of standard layers (see :mod:`fastrank.scoring.archive`) runs in numpy
    without importing TensorFlow; anything else loads through Keras (safe mode by default). A
    model object is used as it is.
    """
    if predictor not in PREDICTORS:
        raise InputError(f"predictor: must be one of {', '.join(PREDICTORS)}. Got {predictor!r} instead.")
    is_path = isinstance(model, (str, os.PathLike))
    if is_path:
        check_model_file(model)
    if predictor == "numpy" and not (is_path and str(model).endswith(".keras")):
        raise InputError("predictor='numpy' reads .keras files only; use predictor='auto' or 'keras'")
    note = None
    if is_path and predictor != "keras" and str(model).endswith(".keras"):
        if not Path(model).exists():
            raise InputError(f"{model}: no such model file")
        try:
            return load_numpy(model), None
        except UnsupportedModel as why:
            if predictor == "numpy":
                raise InputError(f"{model}: the numpy predictor cannot run this model: {why}") from None
            note = f"{why}: using Keras"
            return load_model(model, safe_mode=safe_mode, why=str(why)), note
    return load_model(model, safe_mode=safe_mode), note


_KERAS_FILES = (b"PK\x03\x04", b"\x89HDF\r\n\x1a\n")  # a .keras zip archive; a legacy .h5 file


def check_model_file(path: str | os.PathLike) -> None:
    """Refuse, before Keras is imported, a model path that is missing or holds no Keras model: a
    ``.keras`` file is a zip archive, a legacy one HDF5; a directory goes to Keras as it is."""
    target = Path(path)
    if target.is_dir():
        return
    try:
        with open(target, "rb") as file:
            start = file.read(1024)
    except FileNotFoundError:
        raise InputError(f"{shown(path)}: no such model file") from None
    except OSError as error:
        raise InputError(f"{shown(path)}: cannot read the model file ({error.strerror or error})") from None
    if not start.startswith(_KERAS_FILES):
        raise InputError(
            f"{shown(path)}: not a readable Keras model: it holds {describe(start)}; give a .keras file "
            "(model.save) as the model, and tables as data"
        )


def input_width(model: Any, source: str) -> int:
    """Number of input features of a single-input model whose output is one score per row."""
    if hasattr(model, "input_width"):  # fastrank.scoring.NumpyModel
        return int(model.input_width)
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        raise InputError(f"{source}: the model must have exactly one input (a row of features)")
    shape = tuple(inputs[0].shape)
    outputs = getattr(model, "outputs", None) or []
    if len(shape) != 2 or shape[-1] is None:
        raise InputError(f"{source}: the model input must be (rows, features); it is {shape}")
    if len(outputs) != 1 or tuple(outputs[0].shape)[1:] not in ((), (1,)):
        shapes = ", ".join(str(tuple(o.shape)) for o in outputs)
        raise InputError(f"{source}: the model must output one score per row; it outputs {shapes}")
    return int(shape[-1])


def check_features(model: Any, features: list[str], source: str) -> None:
    """Raise naming the feature columns when their number differs from the model's input width."""
    width = input_width(model, source)
    if width == len(features):
        return
    given = ", ".join(features)
    if width < len(features):
        hint = f"{len(features) - width} extra; choose the model's columns with features="
    else:
        hint = f"{width - len(features)} missing; add them to the table or name them with features="
    raise InputError(
        f"{source}: the model takes {width} features, but {len(features)} feature columns were given "
        f"({given}): {hint}"
    )


def predict(
    model: Any, features: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False
) -> np.ndarray:
    """Scores of every row in one ``model.predict`` call: float32, shape (n_rows,).

    ``model`` is a Keras model or a :class:`fastrank.scoring.NumpyModel`. ``features`` is
    converted to a C-contiguous float32 matrix if it is not one. ``progress`` draws a bar on stderr
    (Keras models only: the numpy forward pass is fast enough not to need one).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"The 'batch_size' parameter must be an int >= 1. Got {batch_size!r} instead.")
    matrix = np.ascontiguousarray(features, dtype=np.float32)
    if hasattr(model, "input_width"):  # fastrank.scoring.NumpyModel: no TensorFlow involved
        return model.predict(matrix, batch_size=batch_size)
    return keras_predict(model, matrix, batch_size=batch_size, progress=progress)
