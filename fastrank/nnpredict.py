"""Score rows with a Keras 3 ``.keras`` MLP in numpy, without importing Keras or TensorFlow.

A ``.keras`` file is a zip holding ``config.json`` (the architecture) and ``model.weights.h5``
(the variables). :func:`load` reads both with ``zipfile``, ``json`` and ``h5py`` -- nothing in the
archive is executed -- and :meth:`NumpyModel.predict` runs the forward pass in float32 numpy, in
row batches. That skips TensorFlow's ~7 s import, longer than scoring millions of rows takes.

Supported: Sequential and Functional models with one ``(None, d)`` input and one score per row,
built from ``InputLayer``, ``Dense``, ``Activation``, ``Dropout``, ``BatchNormalization``,
``Normalization``, ``Rescaling``, ``ReLU``, ``LeakyReLU``, ``Concatenate`` and ``Add`` with the
activations in :data:`ACTIVATIONS`. Anything else raises :class:`UnsupportedModel` naming it, so a
caller can fall back to Keras.

The formulas follow Keras 3 with the TensorFlow backend (keras 3.15): ``gelu`` is the exact erf
form (``approximate=False``, the ``keras.activations.gelu`` default), ``Normalization`` divides by
``max(sqrt(variance), 1e-7)`` (``keras.backend.epsilon()``), ``BatchNormalization`` uses its moving
statistics as ``tf.nn.batch_normalization`` does.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["ACTIVATIONS", "NumpyModel", "UnsupportedModel", "load"]


class UnsupportedModel(Exception):
    """The model uses a layer, activation or option the numpy predictor does not implement.

    The message is one line naming the first such thing, e.g. ``"Lambda layer 'lambda'"``.
    """


_F32 = np.float32
_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the floor of Normalization's standard deviation
_SELU_SCALE = _F32(1.0507009873554804934193349852946)
_SELU_SCALE_ALPHA = _F32(1.7580993408473768599402175208123)  # scale * alpha, as tf.nn.selu
_MINUS_SQRT_HALF = _F32(-0.7071067811865476)  # tf.nn.gelu(approximate=False) uses erfc(-x / sqrt(2))


# ----------------------------------------------------------------------------------------------
# Values are feature-major: a batch of ``rows`` rows of a ``width``-wide tensor is a float32
# C-contiguous (width, rows) array, the transpose of Keras's layout. Dense is then
# ``kernel.T @ value``, and biases, per-feature constants and activations run over long contiguous
# rows instead of ``width``-long ones (measured ~20% faster end to end on small MLPs).


class _Pool:
    """Reusable (width, rows) float32 buffers, so batches after the first do not allocate."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.rows = batch_size
        self._free: dict[int, list[np.ndarray]] = {}

    def get(self, width: int) -> np.ndarray:
        free = self._free.get(width)
        flat = free.pop() if free else np.empty(width * self.batch_size, dtype=_F32)
        return flat[: width * self.rows].reshape(width, self.rows)

    def put(self, array: np.ndarray) -> None:
        flat = array.base  # the pool's flat buffer: every array handed out is a view of one
        self._free.setdefault(flat.size // self.batch_size, []).append(flat)


# Activations: each works in place on one value; scratch space comes from the pool.


def _relu(a: np.ndarray, pool: _Pool) -> None:
    np.maximum(a, _F32(0), out=a)


def _sigmoid_into(a: np.ndarray, out: np.ndarray) -> None:
    """out = 1 / (1 + exp(-a)), without overflow and accurate for very negative a."""
    np.abs(a, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)  # e = exp(-|a|) in (0, 1]
    denominator = out + _F32(1)
    np.reciprocal(denominator, out=denominator)  # 1 / (1 + e): the value where a >= 0
    np.multiply(out, denominator, out=out)  # e / (1 + e): the value where a < 0
    np.copyto(out, denominator, where=a >= 0)


def _sigmoid(a: np.ndarray, pool: _Pool) -> None:
    t = pool.get(a.shape[0])
    _sigmoid_into(a, t)
    np.copyto(a, t)
    pool.put(t)


def _silu(a: np.ndarray, pool: _Pool) -> None:
    t = pool.get(a.shape[0])
    _sigmoid_into(a, t)
    np.multiply(a, t, out=a)
    pool.put(t)


def _tanh(a: np.ndarray, pool: _Pool) -> None:
    np.tanh(a, out=a)


def _softplus(a: np.ndarray, pool: _Pool) -> None:
    np.logaddexp(a, _F32(0), out=a)  # log(1 + exp(a)), stable at both ends


def _softsign(a: np.ndarray, pool: _Pool) -> None:
    t = pool.get(a.shape[0])
    np.abs(a, out=t)
    np.add(t, _F32(1), out=t)
    np.divide(a, t, out=a)
    pool.put(t)


def _elu(a: np.ndarray, pool: _Pool) -> None:
    np.expm1(a, out=a, where=a < 0)


def _selu(a: np.ndarray, pool: _Pool) -> None:
    negative = a < 0
    np.multiply(a, _SELU_SCALE, out=a, where=~negative)
    np.expm1(a, out=a, where=negative)
    np.multiply(a, _SELU_SCALE_ALPHA, out=a, where=negative)


def _gelu(a: np.ndarray, pool: _Pool) -> None:
    from scipy.special import erfc  # scipy is a fastrank dependency; numpy has no erf

    t = pool.get(a.shape[0])
    np.multiply(a, _MINUS_SQRT_HALF, out=t)
    erfc(t, out=t)
    np.multiply(a, _F32(0.5), out=a)
    np.multiply(a, t, out=a)
    pool.put(t)


def _exponential(a: np.ndarray, pool: _Pool) -> None:
    np.exp(a, out=a)


ACTIVATIONS: dict[str, Callable[[np.ndarray, _Pool], None] | None] = {
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


def _relu_layer(max_value: float | None, negative_slope: float, threshold: float) -> Callable:
    """keras.activations.relu(x, negative_slope, max_value, threshold), step by step as Keras does."""
    slope = _F32(negative_slope)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return _leaky_relu(negative_slope)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return _relu

    def relu(a: np.ndarray, pool: _Pool) -> None:
        negative_part = None
        if negative_slope != 0:
            negative_part = pool.get(a.shape[0])
            np.subtract(_F32(threshold), a, out=negative_part)  # relu(-x + threshold)
            np.maximum(negative_part, _F32(0), out=negative_part)
        if threshold != 0:
            np.copyto(a, _F32(0), where=~(a > _F32(threshold)))
        else:
            np.maximum(a, _F32(0), out=a)
        if max_value is not None:
            np.clip(a, _F32(0), _F32(max_value), out=a)
        if negative_part is not None:
            np.multiply(negative_part, slope, out=negative_part)
            np.subtract(a, negative_part, out=a)
            pool.put(negative_part)

    return relu


def _leaky_relu(negative_slope: float) -> Callable:
    """tf.nn.leaky_relu: x where x > 0, else slope * x (float32)."""
    slope = _F32(negative_slope)

    def leaky(a: np.ndarray, pool: _Pool) -> None:
        np.multiply(a, slope, out=a, where=a < 0)

    return leaky


# ----------------------------------------------------------------------------------------------
# The compiled model: a list of steps in topological order over value slots.


class _Step:
    """One layer application. ``kind``: "dense", "inplace" (elementwise), "concat" or "add"."""

    __slots__ = ("fn", "inputs", "kernel", "kind", "name", "width")

    def __init__(self, kind: str, name: str, inputs: list[int], width: int) -> None:
        self.kind, self.name, self.inputs, self.width = kind, name, inputs, width
        self.kernel: tuple[np.ndarray, np.ndarray | None] | None = None  # (kernel.T, bias[:, None])
        self.fn: Callable[[np.ndarray, _Pool], None] | None = None


class NumpyModel:
    """A loaded ``.keras`` MLP; see :func:`load`.

    Attributes
    ----------
    input_width : int
        Features per row the model takes.
    n_outputs : int
        Outputs per row: always 1 (a score).
    layers : list of str
        The layers it computes, in order, as ``"ClassName 'name'"``.
    """

    def __init__(self, steps: list[_Step], input_width: int, layers: list[str], source: str) -> None:
        self._steps = steps
        self.input_width = input_width
        self.n_outputs = 1
        self.layers = layers
        self._source = source
        # Reads left per slot (slot 0 is the input); the last step's slot is the output.
        self._uses = [0] * (len(steps) + 1)
        for step in steps:
            for i in step.inputs:
                self._uses[i] += 1
        self._uses[len(steps)] += 1

    def __repr__(self) -> str:
        return f"NumpyModel({self._source!r}, input_width={self.input_width}, layers={len(self.layers)})"

    def predict(self, x: Any, batch_size: int = 65_536) -> np.ndarray:
        """Scores of the rows of ``x`` (shape ``(n_rows, input_width)``): float32, shape ``(n_rows,)``.

        ``x`` is converted once to float32 C-contiguous; rows go through in batches of ``batch_size``.
        """
        x = np.ascontiguousarray(x, dtype=_F32)
        if x.ndim != 2 or x.shape[1] != self.input_width:
            raise InputError(
                f"features: expected shape (n_rows, {self.input_width}) for {self._source}, got {x.shape}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size: must be a positive integer, got {batch_size!r}")
        n = x.shape[0]
        out = np.empty(n, dtype=_F32)
        if n == 0:
            return out
        pool = _Pool(min(int(batch_size), n))
        with np.errstate(all="ignore"):  # overflow to inf / nan as Keras gives, silently
            for start in range(0, n, pool.batch_size):
                batch = x[start : start + pool.batch_size]
                pool.rows = batch.shape[0]
                result = self._forward(batch.T, pool)
                out[start : start + batch.shape[0]] = result[0]
                pool.put(result)
        return out

    def _forward(self, batch: np.ndarray, pool: _Pool) -> np.ndarray:
        """The output (1, rows) of one (input_width, rows) batch, a pool buffer."""
        values: list[np.ndarray | None] = [batch] + [None] * len(self._steps)
        uses = list(self._uses)

        def release(i: int) -> None:
            uses[i] -= 1
            if uses[i] == 0 and i != 0:
                pool.put(values[i])
                values[i] = None

        def writable(i: int, width: int) -> np.ndarray:
            """Slot i's array to overwrite: itself when this is its last read, else a copy."""
            if i != 0 and uses[i] == 1:
                uses[i] = 0
                a, values[i] = values[i], None
                return a
            a = pool.get(width)
            np.copyto(a, values[i])
            release(i)
            return a

        for slot, step in enumerate(self._steps, start=1):
            if step.kind == "dense":
                kernel, bias = step.kernel
                a = pool.get(step.width)
                np.matmul(kernel, values[step.inputs[0]], out=a)
                release(step.inputs[0])
                if bias is not None:
                    np.add(a, bias, out=a)
                if step.fn is not None:
                    step.fn(a, pool)
            elif step.kind == "inplace":
                a = writable(step.inputs[0], step.width)
                step.fn(a, pool)
            elif step.kind == "add":
                a = writable(step.inputs[0], step.width)
                for i in step.inputs[1:]:
                    np.add(a, values[i], out=a)
                    release(i)
            else:  # concat
                a = pool.get(step.width)
                offset = 0
                for i in step.inputs:
                    width = values[i].shape[0]
                    a[offset : offset + width] = values[i]
                    offset += width
                    release(i)
            values[slot] = a
        return values[-1]


# ----------------------------------------------------------------------------------------------
# Reading the archive.

_LAYER_CLASSES = {
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "BatchNormalization",
    "Normalization",
    "Rescaling",
    "ReLU",
    "LeakyReLU",
    "Concatenate",
    "Add",
}
_MODEL_CLASSES = {"Sequential", "Functional", "Model"}


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: how saving names a layer's weights group."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class _Layer:
    """A layer entry of config.json: class, name, config, inputs (layer names), weights group."""

    def __init__(self, entry: dict, name: str) -> None:
        self.cls: str = entry["class_name"]
        self.config: dict = entry.get("config") or {}
        self.name = name
        self.inputs: list[str] = []
        self.group: str | None = None

    def __repr__(self) -> str:
        return f"{self.cls} {self.name!r}"


def _check_class(entry: Any, where: str) -> _Layer:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise InputError(f"{where}: malformed layer entry in config.json")
    cls = entry["class_name"]
    config = entry.get("config") or {}
    name = str(config.get("name", entry.get("name", "?")))
    module = entry.get("module") or ""
    registered = entry.get("registered_name")
    if registered not in (None, cls) or not module.startswith("keras"):
        raise UnsupportedModel(f"layer class {cls!r} (custom) in layer {name!r}")
    if cls in _MODEL_CLASSES:
        raise UnsupportedModel(f"nested model {name!r} ({cls})")
    if cls not in _LAYER_CLASSES or module != "keras.layers":
        raise UnsupportedModel(f"{cls} layer {name!r}")
    return _Layer(entry, name)


def _check_dtype(layer: _Layer) -> None:
    dtype = layer.config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", dtype.get("class_name"))
    allowed = ("float32", "float64") if layer.cls == "InputLayer" else ("float32",)
    if dtype is not None and dtype not in allowed:
        raise UnsupportedModel(f"dtype {dtype!r} in layer {layer.name!r}")


def _activation(spec: Any, layer: _Layer) -> Callable | None:
    name = spec
    if isinstance(spec, dict):  # a serialized function object; builtins only
        name = spec.get("config") if spec.get("module") == "keras.activations" else None
        if not isinstance(name, str) or spec.get("registered_name") not in (None, name):
            label = spec.get("registered_name") or spec.get("config") or spec.get("class_name")
            raise UnsupportedModel(f"activation {label!r} in layer {layer.name!r}")
    if name is None:
        return None
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise UnsupportedModel(f"activation {name!r} in layer {layer.name!r}")
    return ACTIVATIONS[name]


def _check_options(layer: _Layer) -> None:
    """Refuse options of supported classes that change inference and are not implemented."""
    c, name = layer.config, layer.name
    if layer.cls == "InputLayer":
        if c.get("sparse") or c.get("ragged"):
            raise UnsupportedModel(f"sparse or ragged input {name!r}")
    elif layer.cls == "Dense":
        if c.get("quantization_config") is not None:
            raise UnsupportedModel(f"quantized Dense layer {name!r}")
        _activation(c.get("activation"), layer)
    elif layer.cls == "Activation":
        _activation(c.get("activation"), layer)
    elif layer.cls == "BatchNormalization":
        if c.get("axis", -1) not in (-1, 1):
            raise UnsupportedModel(f"BatchNormalization axis {c.get('axis')!r} in layer {name!r}")
        if c.get("renorm"):
            raise UnsupportedModel(f"BatchNormalization renorm in layer {name!r}")
    elif layer.cls == "Normalization":
        if c.get("invert"):
            raise UnsupportedModel(f"Normalization invert=True in layer {name!r}")
        axis = c.get("axis", [-1])
        axis = [axis] if isinstance(axis, int) else list(axis or [])
        if axis not in ([], [-1], [1]):
            raise UnsupportedModel(f"Normalization axis {axis!r} in layer {name!r}")
    elif layer.cls in ("Concatenate",):
        if c.get("axis", -1) not in (-1, 1):
            raise UnsupportedModel(f"Concatenate axis {c.get('axis')!r} in layer {name!r}")
    elif layer.cls == "ReLU":
        for key in ("max_value", "negative_slope", "threshold"):
            value = c.get(key)
            if value is not None and not isinstance(value, (int, float)):
                raise UnsupportedModel(f"ReLU {key}={value!r} in layer {name!r}")
    elif layer.cls == "Rescaling":
        for key in ("scale", "offset"):
            _constant(c.get(key, 0.0), layer, key)


def _constant(value: Any, layer: _Layer, what: str) -> np.ndarray:
    """A float32 constant from config: a number, a list, or a serialized numpy array."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = (value.get("config") or {}).get("value")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UnsupportedModel(f"{layer.cls} {what}={value!r} in layer {layer.name!r}") from None
    if array.ndim > 1:
        raise UnsupportedModel(f"{layer.cls} {what} of shape {array.shape} in layer {layer.name!r}")
    return array.astype(_F32)


def _keras_tensors(obj: Any, found: list) -> list:
    """keras_history [layer, node, tensor] of every ``__keras_tensor__`` in a node's arguments."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            found.append((obj.get("config") or {}).get("keras_history"))
        else:
            for value in obj.values():
                _keras_tensors(value, found)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _keras_tensors(value, found)
    return found


def _node_inputs(layer: _Layer, node: Any) -> list:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        history = _keras_tensors(node.get("args"), [])
        kwargs = node.get("kwargs") or {}
        if _keras_tensors(kwargs, []):
            raise UnsupportedModel(f"tensor keyword argument in the call of layer {layer.name!r}")
        for key, value in kwargs.items():
            if key not in ("mask", "training") or value not in (None, False):
                raise UnsupportedModel(f"call option {key}={value!r} of layer {layer.name!r}")
        return history
    if isinstance(node, list):  # Keras 2 style: [[layer, node, tensor, kwargs], ...]
        for item in node:
            if isinstance(item, list) and len(item) == 4 and item[3]:
                raise UnsupportedModel(f"call options {item[3]!r} of layer {layer.name!r}")
        return [item[:3] if isinstance(item, list) else item for item in node]
    raise InputError(f"malformed inbound node of layer {layer.name!r}")


def _tensor_ref(history: Any, names: set, layer: _Layer) -> str:
    if not (isinstance(history, (list, tuple)) and len(history) == 3 and history[0] in names):
        raise InputError(f"malformed tensor reference {history!r} in layer {layer.name!r}")
    if history[1] != 0 or history[2] != 0:
        raise UnsupportedModel(f"shared or multi-output layer {history[0]!r}")
    return history[0]


def _single_ref(struct: Any, what: str) -> list:
    """The one [layer, node, tensor] of input_layers / output_layers (flat, nested or a dict)."""
    if isinstance(struct, dict):
        struct = list(struct.values())
    if isinstance(struct, list) and struct and isinstance(struct[0], str):
        return struct
    if isinstance(struct, list) and len(struct) == 1:
        return _single_ref(struct[0], what)
    if isinstance(struct, list) and len(struct) > 1:
        raise UnsupportedModel(f"multiple {what}")
    raise InputError(f"malformed {what} in config.json")


def _input_width(config: dict, name: str) -> int:
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if not isinstance(shape, list) or len(shape) != 2 or not isinstance(shape[1], int):
        raise UnsupportedModel(f"input shape {shape!r} of {name!r} (need (None, d))")
    return shape[1]


def _parse_config(config: Any) -> tuple[list[_Layer], int, str]:
    """Layers to compute (topological order, inputs by name), the input width, the input's name."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise InputError("config.json does not describe a Keras model")
    cls = config["class_name"]
    body = config.get("config") or {}
    if config.get("registered_name") not in (None, cls) or not str(config.get("module", "")).startswith(
        "keras"
    ):
        raise UnsupportedModel(f"model class {cls!r} (custom)")
    if cls not in _MODEL_CLASSES or not isinstance(body.get("layers"), list):
        raise UnsupportedModel(f"model class {cls!r}")
    entries = body["layers"]

    layers = [_check_class(entry, f"layer {i}") for i, entry in enumerate(entries)]
    for layer in layers:
        _check_dtype(layer)
        _check_options(layer)

    # Weights groups: saving walks model.layers naming each snake_case(class) with a per-class
    # counter (keras.src.saving.saving_lib._save_container_state). Sequential.layers skips its
    # InputLayer, Functional.layers keeps them; either way no other class's counter moves.
    counters: dict[str, int] = {}
    for layer in layers:
        if cls == "Sequential" and layer.cls == "InputLayer":
            continue
        base = _snake_case(layer.cls)
        count = counters.get(base)
        counters[base] = 0 if count is None else count + 1
        layer.group = f"layers/{base}" if count is None else f"layers/{base}_{count + 1}"

    by_name = {layer.name: layer for layer in layers}
    if len(by_name) != len(layers):
        raise InputError("config.json names two layers alike")

    if cls == "Sequential":
        inputs = [layer for layer in layers if layer.cls == "InputLayer"]
        if len(inputs) > 1:
            raise UnsupportedModel("multiple inputs")
        if inputs:
            width, input_name = _input_width(inputs[0].config, inputs[0].name), inputs[0].name
        else:
            shape = body.get("build_input_shape") or (config.get("build_config") or {}).get("input_shape")
            width, input_name = _input_width({"batch_shape": shape}, "the model"), "\0input"
        chain = [layer for layer in layers if layer.cls != "InputLayer"]
        previous = input_name
        for layer in chain:
            layer.inputs = [previous]
            previous = layer.name
        if not chain:
            raise UnsupportedModel("a model without layers")
        return chain, width, input_name

    names = set(by_name)
    for entry, layer in zip(entries, layers, strict=True):
        nodes = entry.get("inbound_nodes") or []
        if layer.cls == "InputLayer":
            continue
        if len(nodes) != 1:
            raise UnsupportedModel(f"shared layer {layer.name!r} (called {len(nodes)} times)")
        layer.inputs = [_tensor_ref(h, names, layer) for h in _node_inputs(layer, nodes[0])]
        if not layer.inputs:
            raise InputError(f"layer {layer.name!r} has no input in config.json")
        if layer.cls not in ("Concatenate", "Add") and len(layer.inputs) != 1:
            raise UnsupportedModel(f"{layer.cls} layer {layer.name!r} with {len(layer.inputs)} inputs")

    input_ref = _single_ref(body.get("input_layers"), "inputs")
    output_ref = _single_ref(body.get("output_layers"), "outputs")
    input_layer = by_name.get(input_ref[0])
    if input_layer is None or input_layer.cls != "InputLayer":
        raise InputError("malformed input_layers in config.json")
    output_name = output_ref[0]
    if output_name not in by_name:
        raise InputError("malformed output_layers in config.json")

    # Depth-first from the output: every layer after all of its inputs.
    order: list[_Layer] = []
    state: dict[str, int] = {}  # 1: in progress, 2: done
    stack = [(output_name, False)]
    while stack:
        name, expanded = stack.pop()
        layer = by_name[name]
        if expanded:
            state[name] = 2
            order.append(layer)
            continue
        if state.get(name) == 2:
            continue
        if state.get(name) == 1:
            raise InputError(f"cycle through layer {name!r} in config.json")
        state[name] = 1
        stack.append((name, True))
        if layer.cls == "InputLayer":
            if name != input_layer.name:
                raise UnsupportedModel("multiple inputs")
            continue
        for parent in reversed(layer.inputs):
            if state.get(parent) != 2:
                stack.append((parent, False))
    if input_layer not in order:
        raise UnsupportedModel("an output that does not depend on the input")
    return (
        [layer for layer in order if layer.cls != "InputLayer"],
        _input_width(input_layer.config, input_layer.name),
        input_layer.name,
    )


def _variables(h5: Any, layer: _Layer) -> list[np.ndarray]:
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


def _build(layers: list[_Layer], width: int, input_name: str, h5: Any, source: str) -> NumpyModel:
    slots = {input_name: 0}
    widths = [width]
    steps: list[_Step] = []
    labels: list[str] = []

    def need(condition: bool, what: str) -> None:
        if not condition:
            raise InputError(f"{source}: {what}")

    for layer in layers:
        c = layer.config
        inputs = [slots[name] for name in layer.inputs]
        in_widths = [widths[i] for i in inputs]
        w = in_widths[0]
        cls, name = layer.cls, layer.name
        if cls == "Dropout" or (cls == "Activation" and _activation(c.get("activation"), layer) is None):
            slots[name] = inputs[0]  # identity at inference
            continue
        if cls == "Dense":
            variables = _variables(h5, layer)
            units = c.get("units")
            use_bias = c.get("use_bias", True)
            need(len(variables) == (2 if use_bias else 1), f"Dense layer {name!r}: {len(variables)} weights")
            kernel = variables[0]
            need(kernel.shape == (w, units), f"Dense layer {name!r}: kernel of shape {kernel.shape}")
            step = _Step("dense", name, inputs, units)
            bias = None
            if use_bias:
                need(
                    variables[1].shape == (units,),
                    f"Dense layer {name!r}: bias of shape {variables[1].shape}",
                )
                bias = np.ascontiguousarray(variables[1].reshape(units, 1), dtype=_F32)
            step.kernel = (np.ascontiguousarray(kernel.T, dtype=_F32), bias)
            step.fn = _activation(c.get("activation"), layer)
        elif cls == "Concatenate":
            step = _Step("concat", name, inputs, sum(in_widths))
        elif cls == "Add":
            need(len(set(in_widths)) == 1, f"Add layer {name!r}: inputs of widths {in_widths}")
            step = _Step("add", name, inputs, w)
        else:
            step = _Step("inplace", name, inputs, w)
            step.fn = _elementwise(layer, w, h5, need)
        steps.append(step)
        slots[name] = len(steps)
        widths.append(step.width)
        labels.append(repr(layer))

    output = slots[layers[-1].name] if layers else 0
    if widths[output] != 1:
        raise UnsupportedModel(f"{widths[output]} outputs per row (need 1 score)")
    if output != len(steps):  # the output is the input or an earlier value: end on a copy of it
        step = _Step("inplace", "output", [output], widths[output])
        step.fn = lambda a, pool: None
        steps.append(step)
    return NumpyModel(steps, width, labels, source)


def _column(v: np.ndarray) -> np.ndarray:
    """A per-feature constant shaped to broadcast over a (width, rows) value."""
    return np.ascontiguousarray(v.reshape(-1, 1) if v.ndim == 1 else v, dtype=_F32)


def _elementwise(layer: _Layer, w: int, h5: Any, need: Callable) -> Callable:
    c, name, cls = layer.config, layer.name, layer.cls
    if cls == "Activation":
        return _activation(c.get("activation"), layer)
    if cls == "ReLU":
        return _relu_layer(c.get("max_value"), c.get("negative_slope") or 0.0, c.get("threshold") or 0.0)
    if cls == "LeakyReLU":
        slope = c.get("negative_slope", c.get("alpha", 0.3))
        return _leaky_relu(slope)
    if cls == "Rescaling":
        scale = _constant(c.get("scale", 1.0), layer, "scale")
        offset = _constant(c.get("offset", 0.0), layer, "offset")
        for what, v in (("scale", scale), ("offset", offset)):
            need(v.size in (1, w), f"Rescaling layer {name!r}: {what} of shape {v.shape}")
        return _multiply_add(_column(scale), _column(offset))
    if cls == "BatchNormalization":
        variables = _variables(h5, layer)
        scale, center = c.get("scale", True), c.get("center", True)
        need(
            len(variables) == 2 + scale + center,
            f"BatchNormalization layer {name!r}: {len(variables)} weights",
        )
        for v in variables:
            need(v.shape == (w,), f"BatchNormalization layer {name!r}: weights of shape {v.shape}")
        variables = [v.astype(_F32) for v in variables]
        gamma = variables.pop(0) if scale else None
        beta = variables.pop(0) if center else None
        mean, variance = variables
        # tf.nn.batch_normalization: inv = rsqrt(var + eps) * gamma; x * inv + (beta - mean * inv)
        inv = _F32(1) / np.sqrt(variance + _F32(c.get("epsilon", 1e-3)))
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv if beta is None else beta - mean * inv
        return _multiply_add(_column(inv), _column(shift))
    if cls == "Normalization":
        if c.get("mean") is not None and c.get("variance") is not None:
            mean = _constant(c["mean"], layer, "mean")
            variance = _constant(c["variance"], layer, "variance")
        else:
            variables = _variables(h5, layer)  # adapt state: mean, variance, count
            need(len(variables) >= 2, f"Normalization layer {name!r}: {len(variables)} weights")
            mean, variance = variables[0].astype(_F32), variables[1].astype(_F32)
        for what, v in (("mean", mean), ("variance", variance)):
            need(v.size in (1, w) and v.ndim <= 1, f"Normalization layer {name!r}: {what} of shape {v.shape}")
        std = np.maximum(np.sqrt(variance), _F32(_KERAS_EPSILON))
        mean, std = _column(mean), _column(std)

        def normalize(a: np.ndarray, pool: _Pool) -> None:
            np.subtract(a, mean, out=a)
            np.divide(a, std, out=a)

        return normalize
    raise UnsupportedModel(f"{cls} layer {name!r}")  # pragma: no cover - classes checked earlier


def _multiply_add(scale: np.ndarray, shift: np.ndarray) -> Callable[[np.ndarray, _Pool], None]:
    """An in-place ``a * scale + shift`` step (Rescaling; BatchNormalization's inference form)."""

    def affine(a: np.ndarray, pool: _Pool) -> None:
        np.multiply(a, scale, out=a)
        np.add(a, shift, out=a)

    return affine


def load(path: str | os.PathLike) -> NumpyModel:
    """Read a Keras 3 ``.keras`` file into a :class:`NumpyModel`, without Keras.

    Raises :class:`UnsupportedModel` when a layer, activation or option is outside the supported
    set, and :class:`~fastrank.errors.InputError` naming the file when it is not a readable
    ``.keras`` archive: whatever fails while reading a file is the file's fault, never a bug.
    """
    try:
        return _read_archive(os.fspath(path))
    except (UnsupportedModel, InputError):
        raise
    except Exception as error:  # a hostile archive can break any parser step (e.g. JSON nested 200,000 deep)
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise InputError(
            f"{os.fspath(path)}: not a readable Keras model ({type(error).__name__}: {reason})"
        ) from None


def _read_archive(source: str) -> NumpyModel:
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
        layers, width, input_name = _parse_config(config)
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
            return _build(layers, width, input_name, h5, source)
    except UnsupportedModel:
        raise
    except InputError as e:
        if str(e).startswith(f"{source}: "):
            raise
        raise InputError(f"{source}: {e}") from None
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise InputError(f"{source}: unreadable model.weights.h5 ({type(e).__name__}: {e})") from None
