"""Scoring rows with a model: one whole-matrix predict per table.

- :mod:`~fastrank.scoring.scorer`: :func:`load_scorer` (numpy or Keras), :func:`check_features`,
  :func:`predict`; the rest of fastrank imports these from here.
- :mod:`~fastrank.scoring.archive`: reads a ``.keras`` zip (config JSON, h5 weights) without Keras.
- :mod:`~fastrank.scoring.config`: ``config.json`` to the checked layers, in topological order.
- :mod:`~fastrank.scoring.forward`: those layers as a float32 numpy forward pass (:class:`NumpyModel`).
- :mod:`~fastrank.scoring.layers`: the layer and activation formulas, as Keras computes them.
- :mod:`~fastrank.scoring.keras_model`: Keras itself, safe mode on by default, TensorFlow's start-up
  log held back.

Importing this package imports neither Keras nor TensorFlow (nor h5py, until a file is read).
"""

from .archive import load
from .forward import NumpyModel
from .keras_model import import_keras
from .layers import ACTIVATIONS, UnsupportedModel
from .scorer import (
    DEFAULT_BATCH_SIZE,
    MODEL_DEFAULTS,
    PREDICTORS,
    ModelOptions,
    check_features,
    input_width,
    load_scorer,
    predict,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_BATCH_SIZE",
    "MODEL_DEFAULTS",
    "PREDICTORS",
    "ModelOptions",
    "NumpyModel",
    "UnsupportedModel",
    "check_features",
    "import_keras",
    "input_width",
    "load",
    "load_scorer",
    "predict",
]
