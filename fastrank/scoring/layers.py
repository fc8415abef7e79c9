"""The numpy layers and activations of :mod:`fastrank.scoring`: each step works in place on one
float32 value, feature-major (a batch is a C-contiguous ``(width, rows)`` array), with scratch from
a :class:`Pool`.

The formulas follow Keras 3 with the TensorFlow backend (keras 3.15): ``gelu`` is the exact erf
form (``approximate=False``, the ``keras.activations.gelu`` default), ``Normalization`` divides by
``max(sqrt(variance), 1e-7)`` (``keras.backend.epsilon()``), ``BatchNormalization`` uses its moving
statistics as ``tf.nn.batch_normalization`` does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class UnsupportedModel(Exception):
    """The model uses a layer, activation or option the numpy predictor does not implement.

    The message is one line naming the first such thing, e.g. ``"Lambda layer 'lambda'"``.
    """


F32 = np.float32
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the floor of Normalization's standard deviation
_SELU_SCALE = F32(1.0507009873554804934193349852946)
_SELU_SCALE_ALPHA = F32(1.7580993408473768599402175208123)  # scale * alpha, as tf.nn.selu
_MINUS_SQRT_HALF = F32(-0.7071067811865476)  # tf.nn.gelu(approximate=False) uses erfc(-x / sqrt(2))


class Pool:
    """Reusable (width, rows) float32 buffers, so batches after the first do not allocate."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.rows = batch_size
        self._free: dict[int, list[np.ndarray]] = {}

    def get(self, width: int) -> np.ndarray:
        free = self._free.get(width)
        flat = free.pop() if free else np.empty(width * self.batch_size, dtype=F32)
        return flat[: width * self.rows].reshape(width, self.rows)

    def put(self, array: np.ndarray) -> None:
        flat = array.base  # the pool's flat buffer: every array handed out is a view of one
        self._free.setdefault(flat.size // self.batch_size, []).append(flat)


# Activations: each works in place on one value; scratch space comes from the pool.


def _relu(a: np.ndarray, pool: Pool) -> None:
    np.maximum(a, F32(0), out=a)


def _sigmoid_into(a: np.ndarray, out: np.ndarray) -> None:
    """out = 1 / (1 + exp(-a)), without overflow and accurate for very negative a."""
    np.abs(a, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)  # e = exp(-|a|) in (0, 1]
    denominator = out + F32(1)
    np.reciprocal(denominator, out=denominator)  # 1 / (1 + e): the value where a >= 0
    np.multiply(out, denominator, out=out)  # e / (1 + e): the value where a < 0
    np.copyto(out, denominator, where=a >= 0)


def _sigmoid(a: np.ndarray, pool: Pool) -> None:
    t = pool.get(a.shape[0])
    _sigmoid_into(a, t)
    np.copyto(a, t)
    pool.put(t)


def _silu(a: np.ndarray, pool: Pool) -> None:
    t = pool.get(a.shape[0])
    _sigmoid_into(a, t)
    np.multiply(a, t, out=a)
    pool.put(t)


def _tanh(a: np.ndarray, pool: Pool) -> None:
    np.tanh(a, out=a)


def _softplus(a: np.ndarray, pool: Pool) -> None:
    np.logaddexp(a, F32(0), out=a)  # log(1 + exp(a)), stable at both ends


def _softsign(a: np.ndarray, pool: Pool) -> None:
    t = pool.get(a.shape[0])
    np.abs(a, out=t)
    np.add(t, F32(1), out=t)
    np.divide(a, t, out=a)
    pool.put(t)


def _elu(a: np.ndarray, pool: Pool) -> None:
    np.expm1(a, out=a, where=a < 0)


def _selu(a: np.ndarray, pool: Pool) -> None:
    negative = a < 0
    np.multiply(a, _SELU_SCALE, out=a, where=~negative)
    np.expm1(a, out=a, where=negative)
    np.multiply(a, _SELU_SCALE_ALPHA, out=a, where=negative)


def _gelu(a: np.ndarray, pool: Pool) -> None:
    from scipy.special import erfc  # scipy is a fastrank dependency; numpy has no erf

    t = pool.get(a.shape[0])
    np.multiply(a, _MINUS_SQRT_HALF, out=t)
    erfc(t, out=t)
    np.multiply(a, F32(0.5), out=a)
    np.multiply(a, t, out=a)
    pool.put(t)


def _exponential(a: np.ndarray, pool: Pool) -> None:
    np.exp(a, out=a)


ACTIVATIONS: dict[str, Callable[[np.ndarray, Pool], None] | None] = {
    "linear": None,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softplus": _softplus,
    "softsign": _softsign,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "silu": _silu,
    "swish": _silu,
    "exponential": _exponential,
}
"""Supported activation names (as Keras serializes them) and their in-place numpy forms."""


def relu_layer(max_value: float | None, negative_slope: float, threshold: float) -> Callable:
    """keras.activations.relu(x, negative_slope, max_value, threshold), step by step as Keras does."""
    slope = F32(negative_slope)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return leaky_relu(negative_slope)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return _relu

    def relu(a: np.ndarray, pool: Pool) -> None:
        negative_part = None
        if negative_slope != 0:
            negative_part = pool.get(a.shape[0])
            np.subtract(F32(threshold), a, out=negative_part)  # relu(-x + threshold)
            np.maximum(negative_part, F32(0), out=negative_part)
        if threshold != 0:
            np.copyto(a, F32(0), where=~(a > F32(threshold)))
        else:
            np.maximum(a, F32(0), out=a)
        if max_value is not None:
            np.clip(a, F32(0), F32(max_value), out=a)
        if negative_part is not None:
            np.multiply(negative_part, slope, out=negative_part)
            np.subtract(a, negative_part, out=a)
            pool.put(negative_part)

    return relu


def leaky_relu(negative_slope: float) -> Callable:
    """tf.nn.leaky_relu: x where x > 0, else slope * x (float32)."""
    slope = F32(negative_slope)

    def leaky(a: np.ndarray, pool: Pool) -> None:
        np.multiply(a, slope, out=a, where=a < 0)

    return leaky


# Per-feature constants, shaped for feature-major values.


def column(v: np.ndarray) -> np.ndarray:
    """A per-feature constant shaped to broadcast over a (width, rows) value."""
    return np.ascontiguousarray(v.reshape(-1, 1) if v.ndim == 1 else v, dtype=F32)


def multiply_add(scale: np.ndarray, shift: np.ndarray) -> Callable[[np.ndarray, Pool], None]:
    """An in-place ``a * scale + shift`` step (Rescaling; BatchNormalization's inference form)."""

    def affine(a: np.ndarray, pool: Pool) -> None:
        np.multiply(a, scale, out=a)
        np.add(a, shift, out=a)

    return affine
