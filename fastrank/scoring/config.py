"""Reading a ``.keras`` file's ``config.json`` into the layers to compute: every class, option,
dtype and activation checked against what :mod:`fastrank.scoring.forward` implements (anything else
is :class:`~fastrank.scoring.layers.UnsupportedModel`), Sequential and Functional graphs put in
topological order, and each layer's weights group in ``model.weights.h5`` named as Keras saves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError
from .layers import ACTIVATIONS, F32, UnsupportedModel

LAYER_CLASSES = {
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


class Layer:
    """A layer entry of config.json: class, name, config, inputs (layer names), weights group."""

    def __init__(self, entry: dict, name: str) -> None:
        self.cls: str = entry["class_name"]
        self.config: dict = entry.get("config") or {}
        self.name = name
        self.inputs: list[str] = []
        self.group: str | None = None

    def __repr__(self) -> str:
        return f"{self.cls} {self.name!r}"


def _check_class(entry: Any, where: str) -> Layer:
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
    if cls not in LAYER_CLASSES or module != "keras.layers":
        raise UnsupportedModel(f"{cls} layer {name!r}")
    return Layer(entry, name)


def _check_dtype(layer: Layer) -> None:
    dtype = layer.config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", dtype.get("class_name"))
    allowed = ("float32", "float64") if layer.cls == "InputLayer" else ("float32",)
    if dtype is not None and dtype not in allowed:
        raise UnsupportedModel(f"dtype {dtype!r} in layer {layer.name!r}")


def activation(spec: Any, layer: Layer) -> Callable | None:
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


def _check_options(layer: Layer) -> None:
    """Refuse options of supported classes that change inference and are not implemented."""
    c, name = layer.config, layer.name
    if layer.cls == "InputLayer":
        if c.get("sparse") or c.get("ragged"):
            raise UnsupportedModel(f"sparse or ragged input {name!r}")
    elif layer.cls == "Dense":
        if c.get("quantization_config") is not None:
            raise UnsupportedModel(f"quantized Dense layer {name!r}")
        activation(c.get("activation"), layer)
    elif layer.cls == "Activation":
        activation(c.get("activation"), layer)
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
            constant(c.get(key, 0.0), layer, key)


def constant(value: Any, layer: Layer, what: str) -> np.ndarray:
    """A float32 constant from config: a number, a list, or a serialized numpy array."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = (value.get("config") or {}).get("value")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UnsupportedModel(f"{layer.cls} {what}={value!r} in layer {layer.name!r}") from None
    if array.ndim > 1:
        raise UnsupportedModel(f"{layer.cls} {what} of shape {array.shape} in layer {layer.name!r}")
    return array.astype(F32)


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


def _node_inputs(layer: Layer, node: Any) -> list:
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


def _tensor_ref(history: Any, names: set, layer: Layer) -> str:
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


def parse_config(config: Any) -> tuple[list[Layer], int, str]:
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
    order: list[Layer] = []
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
