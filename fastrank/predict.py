"""Keras model loading (safe mode by default) and one whole-matrix predict.

TensorFlow is imported here only, and only when a model is actually loaded: the metric kernels
and the CLI's other paths never pay its ~10 s import.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .extras import require

DEFAULT_BATCH_SIZE = 65_536
"""Rows per predict batch: large, since per-batch overhead dominates small dense models."""


@contextlib.contextmanager
def _native_stderr_captured(*, replay: bool) -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 (TensorFlow's C++ start-up log:
    oneDNN and CUDA notices that are noise to a user); with ``replay``, write it out if the block
    fails (a failed import is explained by it; a refused model file is not)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            if replay:
                os.dup2(saved, 2)
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras(purpose: str = "Keras models") -> Any:
    """The ``keras`` module, imported quietly; without the ``keras`` extra, a
    :class:`~fastrank.extras.MissingExtra` whose message starts with ``purpose``."""
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _native_stderr_captured(replay=True):
            require("keras", "keras", purpose)
    return sys.modules["keras"]


def load_model(model: Any, *, safe_mode: bool = True, why: str | None = None) -> Any:
    """A Keras model from a path (``.keras``, or whatever ``keras.models.load_model`` reads), or
    the model object itself.

    ``safe_mode`` (default on) refuses models that carry Python code (``Lambda`` layers): loading
    one runs code from the file. Errors are :class:`~fastrank.InputError` naming the file; ``why``
    (e.g. ``"Lambda layer 'f'"``) says in the missing-Keras message why Keras is needed.
    """
    if not isinstance(model, (str, os.PathLike)):
        return model
    path = Path(model)
    if not path.exists():
        raise InputError(f"{path}: no such model file")
    keras = import_keras(f"{path}: loading this model {f'({why}) ' if why else ''}needs Keras")
    try:
        with _native_stderr_captured(replay=False):
            return keras.models.load_model(path, safe_mode=safe_mode, compile=False)
    except Exception as error:  # Keras raises many types for unreadable files
        reason = " ".join(str(error).split()) or type(error).__name__
        if "safe_mode" in reason or "unsafe_deserialization" in reason:
            raise InputError(
                f"{path}: the model holds Python code (a Lambda layer), which Keras' safe mode refuses: "
                "loading it runs code stored in the file. Only if you trust the file, pass safe_mode=False."
            ) from None
        first_sentence = reason.split(". ")[0].rstrip(".")[:200]
        raise InputError(f"{path}: not a readable Keras model ({first_sentence})") from None


PREDICTORS = ("auto", "numpy", "keras")
"""``auto``: numpy when every layer is supported, else Keras; ``numpy`` or ``keras``: forced."""


def load_scorer(model: Any, *, safe_mode: bool = True, predictor: str = "auto") -> tuple[Any, str | None]:
    """The model to score with, and a one-line note when ``auto`` fell back to Keras.

    A ``.keras`` file made only of standard layers (see :mod:`fastrank.nnpredict`) runs in numpy
    without importing TensorFlow; anything else loads through Keras (safe mode by default). A
    model object is used as it is.
    """
    if predictor not in PREDICTORS:
        raise InputError(f"predictor: must be one of {', '.join(PREDICTORS)}. Got {predictor!r} instead.")
    is_path = isinstance(model, (str, os.PathLike))
    if predictor == "numpy" and not (is_path and str(model).endswith(".keras")):
        raise InputError("predictor='numpy' reads .keras files only; use predictor='auto' or 'keras'")
    note = None
    if is_path and predictor != "keras" and str(model).endswith(".keras"):
        from .nnpredict import UnsupportedModel
        from .nnpredict import load as load_numpy

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


def input_width(model: Any, source: str) -> int:
    """Number of input features of a single-input model whose output is one score per row."""
    if hasattr(model, "input_width"):  # fastrank.nnpredict.NumpyModel
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


class _Progress:
    """A one-line predict progress bar on stderr."""

    def __init__(self, n_rows: int, batch_size: int) -> None:
        self.total = max(1, -(-n_rows // batch_size))

    def __call__(self, done: int) -> None:
        width = 30
        filled = width * done // self.total
        sys.stderr.write(f"\rpredict [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} batches")
        if done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def predict(
    model: Any, features: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False
) -> np.ndarray:
    """Scores of every row in one ``model.predict`` call: float32, shape (n_rows,).

    ``model`` is a Keras model or a :class:`fastrank.nnpredict.NumpyModel`. ``features`` is
    converted to a C-contiguous float32 matrix if it is not one. ``progress`` draws a bar on stderr
    (Keras models only: the numpy forward pass is fast enough not to need one).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"The 'batch_size' parameter must be an int >= 1. Got {batch_size!r} instead.")
    matrix = np.ascontiguousarray(features, dtype=np.float32)
    if hasattr(model, "input_width"):  # fastrank.nnpredict.NumpyModel: no TensorFlow involved
        return model.predict(matrix, batch_size=batch_size)
    keras = import_keras()
    callbacks = []
    if progress:
        bar = _Progress(len(matrix), batch_size)

        class _Callback(keras.callbacks.Callback):
            def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
                bar(batch + 1)

        callbacks.append(_Callback())
    scores = model.predict(matrix, batch_size=batch_size, verbose=0, callbacks=callbacks)
    return np.ascontiguousarray(np.asarray(scores, dtype=np.float32).reshape(len(matrix)))
