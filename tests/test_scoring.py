"""fastrank.scoring's numpy predictor against Keras: a zoo of small saved models, the refusals, the errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fastrank.errors import InputError  # noqa: E402
from fastrank.scoring import ACTIVATIONS, NumpyModel, UnsupportedModel, load  # noqa: E402

L = keras.layers
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fastrank" / "data" / "demo_model.keras"
RTOL, ATOL = 1e-5, 1e-6


def _features(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d) + rng.uniform(-1, 1, d)).astype(np.float32)


def _set_batchnorm(layer, seed: int) -> None:
    """Non-trivial moving statistics (and gamma / beta where the layer has them)."""
    rng = np.random.default_rng(seed)
    weights = []
    for w in layer.weights:
        n = w.shape[0]
        if "variance" in w.path:
            weights.append(rng.uniform(0.2, 2.0, n))
        elif "gamma" in w.path:
            weights.append(rng.uniform(0.5, 1.5, n))
        else:  # beta, moving_mean
            weights.append(rng.normal(0.0, 0.5, n))
    layer.set_weights([w.astype(np.float32) for w in weights])


# ---------------------------------------------------------------------------------------------
# The zoo: each builder returns (model, input width). Together they cover every supported layer
# class and activation (checked by test_zoo_covers_everything_supported).


def seq_mlp():
    return keras.Sequential(
        [
            keras.Input((6,), name="features"),
            L.Dense(16, activation="relu", name="hidden_1"),
            L.Dropout(0.3),
            L.Dense(8, activation="tanh", name="hidden_2"),
            L.Dense(1, activation="sigmoid", name="score"),
        ],
        name="mlp",
    ), 6


def seq_smooth_activations():
    return keras.Sequential(
        [
            keras.Input((5,)),
            L.Dense(8, activation="softplus"),
            L.Dense(8, activation="softsign"),
            L.Dense(8, activation="elu"),
            L.Dense(8, activation="selu"),
            L.Dense(1, activation="linear"),
        ]
    ), 5


def seq_gated_activations():
    return keras.Sequential(
        [
            keras.Input((5,)),
            L.Dense(8, activation="gelu"),
            L.Dense(8, activation="silu"),
            L.Dense(8, activation="swish"),
            L.Dense(6, activation="tanh"),
            L.Dense(1, activation="exponential"),
        ]
    ), 5


def seq_no_bias_activation_layers():
    return keras.Sequential(
        [
            keras.Input((7,)),
            L.Dense(12, use_bias=False),
            L.Activation("relu"),
            L.Dense(12, use_bias=False),
            L.Activation("gelu"),
            L.Dense(12),
            L.Activation("sigmoid"),
            L.Activation("linear"),
            L.Dense(1, use_bias=False),
        ]
    ), 7


def seq_batchnorm():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            L.Dense(10),
            L.BatchNormalization(name="bn_full"),
            L.ReLU(),
            L.Dense(10),
            L.BatchNormalization(center=False, name="bn_no_center"),
            L.Dense(10),
            L.BatchNormalization(scale=False, epsilon=0.01, name="bn_no_scale"),
            L.Activation("tanh"),
            L.Dense(10),
            L.BatchNormalization(center=False, scale=False, name="bn_stats_only"),
            L.Dense(1),
        ]
    )
    for seed, name in enumerate(["bn_full", "bn_no_center", "bn_no_scale", "bn_stats_only"]):
        _set_batchnorm(model.get_layer(name), seed)
    return model, 6


def seq_batchnorm_trained():
    """Moving statistics from real training steps, not set by hand."""
    model = keras.Sequential(
        [keras.Input((4,)), L.BatchNormalization(momentum=0.5), L.Dense(8, activation="elu"), L.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = _features(256, 4, seed=7) * 3 + 2
    model.fit(x, x[:, :1], epochs=2, batch_size=64, verbose=0)
    return model, 4


def seq_normalization_adapted():
    norm = L.Normalization()
    norm.adapt(_features(500, 5, seed=3) * 4 + 10)
    return keras.Sequential(
        [keras.Input((5,)), norm, L.Dense(8, activation="relu"), L.Dense(1, activation="softplus")]
    ), 5


def seq_normalization_given_and_epsilon():
    """Mean and variance in the config; a zero variance uses keras.backend.epsilon() as the std.

    Fed features of size ~1e-6 (see test_matches_keras), so every normalized feature is O(1).
    """
    return keras.Sequential(
        [
            keras.Input((4,)),
            L.Normalization(mean=[0.0, 1e-6, -2e-6, 0.0], variance=[1e-12, 4e-12, 0.0, 0.0]),
            L.Dense(6, activation="tanh"),
            L.Dense(1),
        ]
    ), 4


def seq_normalization_scalar_unbuilt_input():
    """No InputLayer (built with build()); Normalization over all axes: one scalar mean/variance."""
    norm = L.Normalization(axis=None)
    norm.adapt(_features(300, 3, seed=5) + 5)
    model = keras.Sequential([norm, L.Dense(4, activation="selu"), L.Dense(1)])
    model.build((None, 3))
    return model, 3


def seq_relu_variants():
    return keras.Sequential(
        [
            keras.Input((5,)),
            L.Rescaling(0.5, offset=-0.25),
            L.Dense(16),
            L.ReLU(max_value=1.5),
            L.Dense(16),
            L.ReLU(negative_slope=0.1, threshold=0.2),
            L.Dense(16),
            L.ReLU(max_value=6.0),
            L.Dense(16),
            L.ReLU(threshold=0.3),
            L.Dense(16),
            L.ReLU(negative_slope=0.05),
            L.Dense(16),
            L.ReLU(negative_slope=0.1, max_value=2.0, threshold=0.5),
            L.Dense(16),
            L.ReLU(negative_slope=0.2, max_value=1.0),
            L.Dense(16),
            L.LeakyReLU(negative_slope=0.2),
            L.Dense(16),
            L.LeakyReLU(),
            L.Dense(1),
        ]
    ), 5


def fn_concat_add():
    inp = keras.Input((7,), name="x")
    a = L.Dense(8, activation="relu", name="branch_a")(inp)
    b = L.Dense(8, activation="tanh", name="branch_b")(inp)
    s = L.Add(name="sum")([a, b])
    c = L.Concatenate(name="joined")([s, inp])
    d = L.Dropout(0.5)(c)
    out = L.Dense(1, name="score")(d)
    return keras.Model(inp, out, name="concat_add"), 7


def fn_wide_and_deep():
    inp = keras.Input((6,))
    mean, variance = [0.1, -0.2, 0.3, 0.0, 1.0, -1.0], [1.0, 2.0, 0.5, 4.0, 1.5, 0.3]
    norm = L.Normalization(mean=mean, variance=variance)(inp)
    scaled = L.Rescaling([0.5, 1.0, 2.0, 1.5, 1.0, 0.25], offset=[0.0, 0.1, -0.1, 0.2, 0.0, 0.3])(inp)
    deep = L.Dense(12, activation="gelu")(norm)
    deep = L.BatchNormalization(name="deep_bn")(deep)
    deep = L.Dense(12, activation="silu")(deep)
    deep = L.LeakyReLU(negative_slope=0.05)(deep)
    wide = L.Dense(12, use_bias=False)(scaled)
    merged = L.Add()([deep, wide, L.Dense(12, activation="elu")(norm)])
    joined = L.Concatenate()([merged, norm, scaled])
    hidden = L.Dense(8, activation="softsign")(joined)
    out = L.Dense(1)(L.Dropout(0.1)(hidden))
    model = keras.Model(inp, out)
    _set_batchnorm(model.get_layer("deep_bn"), 11)
    return model, 6


def fn_repeated_inputs_and_input_reuse():
    """The same tensor twice into Add / Concatenate; the raw input read by several layers."""
    inp = keras.Input((4,))
    h = L.Dense(6, activation="relu")(inp)
    doubled = L.Add()([h, h])
    twice = L.Concatenate()([h, h, inp])
    act = L.Activation("sigmoid")(inp)  # elementwise on the input: must not overwrite it
    joined = L.Concatenate()([doubled, twice, act, inp])
    return keras.Model(inp, L.Dense(1)(joined)), 4


def fn_output_after_elementwise():
    inp = keras.Input((3,))
    h = L.Dense(1)(L.Dense(5, activation="tanh")(inp))
    out = L.Activation("sigmoid")(L.BatchNormalization(name="out_bn")(h))
    model = keras.Model(inp, out)
    _set_batchnorm(model.get_layer("out_bn"), 5)
    return model, 3


ZOO = [
    seq_mlp,
    seq_smooth_activations,
    seq_gated_activations,
    seq_no_bias_activation_layers,
    seq_batchnorm,
    seq_batchnorm_trained,
    seq_normalization_adapted,
    seq_normalization_given_and_epsilon,
    seq_normalization_scalar_unbuilt_input,
    seq_relu_variants,
    fn_concat_add,
    fn_wide_and_deep,
    fn_repeated_inputs_and_input_reuse,
    fn_output_after_elementwise,
]


def _save(build, tmp_path: Path):
    keras.utils.set_random_seed(ZOO.index(build) if build in ZOO else 0)
    model, width = build()
    path = tmp_path / f"{build.__name__}.keras"
    model.save(path)
    return model, width, path


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Each zoo model saved once: name -> (model, width, path)."""
    directory = tmp_path_factory.mktemp("zoo")
    return {build.__name__: _save(build, directory) for build in ZOO}


@pytest.mark.parametrize("build", ZOO, ids=[b.__name__ for b in ZOO])
def test_matches_keras(build, zoo):
    model, width, path = zoo[build.__name__]
    x = _features(2_000, width, seed=1)
    if build is seq_normalization_given_and_epsilon:
        x = x * np.float32(1e-6)
    expected = model.predict(x, batch_size=512, verbose=0)
    nm = load(path)
    assert isinstance(nm, NumpyModel)
    assert nm.input_width == width and nm.n_outputs == 1
    got = nm.predict(x)
    assert got.dtype == np.float32 and got.shape == (len(x),)
    np.testing.assert_allclose(got, expected[:, 0], rtol=RTOL, atol=ATOL)
    assert np.std(expected) > 1e-3, "a constant output would test little"


def test_zoo_covers_everything_supported(zoo):
    classes, activations = set(), set()
    for _, _, path in zoo.values():
        config = json.loads(zipfile.ZipFile(path).read("config.json"))
        for layer in config["config"]["layers"]:
            classes.add(layer["class_name"])
            if "activation" in layer["config"]:
                activations.add(layer["config"]["activation"])
        classes.add(config["class_name"])
    from fastrank.scoring.config import LAYER_CLASSES as _LAYER_CLASSES

    assert _LAYER_CLASSES | {"Sequential", "Functional"} <= classes
    assert set(ACTIVATIONS) - {"swish"} <= activations  # Keras saves "swish" as "silu"


def test_batches_dtypes_and_layouts_agree(zoo):
    _, width, path = zoo["fn_wide_and_deep"]
    nm = load(path)
    x = _features(1_001, width, seed=2)
    reference = nm.predict(x)
    np.testing.assert_array_equal(nm.predict(x.astype(np.float64)), reference)
    np.testing.assert_array_equal(nm.predict(np.asfortranarray(x)), reference)
    # Other batch splits may round differently in BLAS (a 1-row batch is a matrix-vector product):
    # a few float32 ulps of the O(1) sums inside the network, which an output near 0 keeps whole
    # (seen: 1.9e-7 at an output of -0.059 with OpenBLAS 0.3.30). A wrong row would be off by O(1).
    atol = 4 * np.finfo(np.float32).eps * float(np.abs(reference).max())
    for other in (nm.predict(x, batch_size=7), nm.predict(x, batch_size=1_000), nm.predict(x[::-1])[::-1]):
        np.testing.assert_allclose(other, reference, rtol=1e-6, atol=atol)
    assert nm.predict(x[:0]).shape == (0,)


def test_wrong_width_is_an_input_error(zoo):
    nm = load(zoo["seq_mlp"][2])
    with pytest.raises(InputError, match=r"\(n_rows, 6\)"):
        nm.predict(np.zeros((3, 5), np.float32))
    with pytest.raises(InputError):
        nm.predict(np.zeros(6, np.float32))


def _rewrite_weights(src: Path, dst: Path, edit) -> None:
    """Copy a .keras archive, editing its model.weights.h5 with ``edit(h5py.File)``."""
    import h5py

    with zipfile.ZipFile(src) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as h5:
        edit(h5)
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_weights_found_by_keras_group_names_without_name_attributes(zoo, tmp_path):
    """Older files do not record each group's layer name: the per-class counter walk finds them."""
    _, width, path = zoo["fn_wide_and_deep"]

    def strip(h5):
        for key in h5["layers"]:
            h5[f"layers/{key}/vars"].attrs.pop("name", None)

    stripped = tmp_path / "stripped.keras"
    _rewrite_weights(path, stripped, strip)
    x = _features(500, width, seed=4)
    np.testing.assert_array_equal(load(stripped).predict(x), load(path).predict(x))


def test_missing_weights_are_an_input_error(zoo, tmp_path):
    def drop(h5):
        del h5["layers/dense_1"]

    broken = tmp_path / "broken.keras"
    _rewrite_weights(zoo["seq_mlp"][2], broken, drop)
    with pytest.raises(InputError, match=r"broken\.keras: .*no weights for layer 'hidden_2'"):
        load(broken)


def test_group_name_attribute_wins_over_the_counter(zoo, tmp_path):
    """Two Dense groups swapped (names kept with their data): the recorded names decide."""
    _, width, path = zoo["seq_mlp"]

    def swap(h5):
        h5.move("layers/dense", "layers/tmp")
        h5.move("layers/dense_1", "layers/dense")
        h5.move("layers/tmp", "layers/dense_1")

    swapped = tmp_path / "swapped.keras"
    _rewrite_weights(path, swapped, swap)
    x = _features(300, width, seed=5)
    np.testing.assert_array_equal(load(swapped).predict(x), load(path).predict(x))


# ---------------------------------------------------------------------------------------------
# Refusals and errors.


@keras.saving.register_keras_serializable(package="fastrank_test")
class Doubler(L.Layer):
    def call(self, x):
        return x * 2.0


def _lambda_model():
    return keras.Sequential(
        [keras.Input((3,)), L.Dense(2), L.Lambda(lambda t: t * 2.0, name="times_two"), L.Dense(1)]
    )


def _custom_model():
    return keras.Sequential([keras.Input((3,)), L.Dense(2), Doubler(name="doubler"), L.Dense(1)])


def _lstm_model():
    return keras.Sequential([keras.Input((4, 3)), L.LSTM(2, name="lstm"), L.Dense(1)])


def _rnn_model():
    inp = keras.Input((4, 3))
    return keras.Model(inp, L.Dense(1)(L.SimpleRNN(2, name="rnn")(inp)))


def _two_inputs_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    return keras.Model([a, b], L.Dense(1)(L.Concatenate()([a, b])))


def _bad_activation_model():
    return keras.Sequential(
        [keras.Input((3,)), L.Dense(4, name="dense_1"), L.Dense(1, activation="hard_sigmoid", name="dense_2")]
    )


def _wide_output_model():
    return keras.Sequential([keras.Input((3,)), L.Dense(3)])


def _shared_layer_model():
    inp = keras.Input((3,))
    shared = L.Dense(3, name="shared")
    return keras.Model(inp, L.Dense(1)(shared(shared(inp))))


def _nested_model():
    inner = keras.Sequential([keras.Input((3,)), L.Dense(2)], name="inner")
    inp = keras.Input((3,))
    return keras.Model(inp, L.Dense(1)(inner(inp)))


def _mixed_precision_model():
    return keras.Sequential([keras.Input((3,)), L.Dense(2, dtype="mixed_float16", name="half"), L.Dense(1)])


def _softmax_layer_model():
    return keras.Sequential([keras.Input((3,)), L.Dense(2), L.Softmax(name="probs"), L.Dense(1)])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_lambda_model, r"^Lambda layer 'times_two'$"),
        (_custom_model, r"'Doubler' \(custom\).*'doubler'"),
        (_lstm_model, r"^LSTM layer 'lstm'$"),
        (_rnn_model, r"^SimpleRNN layer 'rnn'$"),
        (_two_inputs_model, r"^multiple inputs$"),
        (_bad_activation_model, r"^activation 'hard_sigmoid' in layer 'dense_2'$"),
        (_wide_output_model, r"^3 outputs per row"),
        (_shared_layer_model, r"shared layer 'shared'"),
        (_nested_model, r"nested model 'inner'"),
        (_softmax_layer_model, r"^Softmax layer 'probs'$"),
        (_mixed_precision_model, r"^dtype 'mixed_float16' in layer 'half'$"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:],
)
def test_unsupported_models_are_refused(build, message, tmp_path):
    keras.utils.set_random_seed(0)
    path = tmp_path / "m.keras"
    build().save(path)
    with pytest.raises(UnsupportedModel, match=message) as raised:
        load(path)
    assert "\n" not in str(raised.value)


def test_unreadable_files_are_input_errors(tmp_path, zoo):
    text = tmp_path / "model.keras"
    text.write_text("not a model\n")
    with pytest.raises(InputError, match=r"model\.keras: not a readable Keras model"):
        load(text)

    no_config = tmp_path / "no_config.keras"
    with zipfile.ZipFile(no_config, "w") as archive:
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(InputError, match=r"no_config\.keras.*no config\.json"):
        load(no_config)

    with pytest.raises(InputError, match=r"missing\.keras"):
        load(tmp_path / "missing.keras")

    bad_json = tmp_path / "bad_json.keras"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(InputError, match=r"bad_json\.keras.*config\.json"):
        load(bad_json)

    corrupt = tmp_path / "corrupt_h5.keras"
    with zipfile.ZipFile(zoo["seq_mlp"][2]) as src, zipfile.ZipFile(corrupt, "w") as dst:
        dst.writestr("config.json", src.read("config.json"))
        dst.writestr("model.weights.h5", b"\x89HDF garbage")
    with pytest.raises(InputError, match=r"corrupt_h5\.keras.*model\.weights\.h5") as raised:
        load(corrupt)
    assert "\n" not in str(raised.value)


def test_demo_model_without_keras_or_tensorflow(tmp_path):
    """A fresh interpreter scores with the shipped demo model and never imports Keras/TensorFlow."""
    x = _features(2_000, 5, seed=9)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from fastrank.scoring import load
        model = load({str(DEMO)!r})
        np.save({str(tmp_path / "y.npy")!r}, model.predict(np.load({str(tmp_path / "x.npy")!r})))
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, sorted(sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    expected = keras.saving.load_model(DEMO).predict(x, batch_size=512, verbose=0)[:, 0]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=RTOL, atol=ATOL)
