"""Keras: imported quietly and only when needed, models loaded in safe mode by default, and
``model.predict`` with an optional progress bar.

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

from ..errors import InputError
from ..extras import require


@contextlib.contextmanager
def native_stderr_captured(*, replay: bool) -> Iterator[None]:
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
        with native_stderr_captured(replay=True):
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
        with native_stderr_captured(replay=False):
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


def keras_predict(model: Any, matrix: np.ndarray, *, batch_size: int, progress: bool) -> np.ndarray:
    """``model.predict`` of a float32 matrix: float32 scores, shape (n_rows,); ``progress`` draws a
    bar on stderr."""
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
