"""Train the small demo model shipped as ``fastrank/data/demo_model.keras``.

Usage::

    python scripts/train_demo_model.py [--rows 500000] [--epochs 4] [--out PATH]

The model maps the five standard-scaled demo features (float32, in
``fastrank.demo.FEATURES`` order) to ``log1p(watch_ratio)``. Only Input and
Dense layers are used so the file can later be evaluated without TensorFlow.
The script ends with a per-user NDCG@10 check on users held out of training,
against the ``video_watch_ratio_mean`` baseline.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import ndcg_score

# Let the script run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastrank import demo

SEED = 0
N_EVAL_USERS = 200


def build_model(keras):
    """Input(5) -> Dense(32, relu) -> Dense(16, relu) -> Dense(1, linear)."""
    return keras.Sequential(
        [
            keras.Input(shape=(len(demo.FEATURES),), dtype="float32", name="features"),
            keras.layers.Dense(32, activation="relu", name="hidden_1"),
            keras.layers.Dense(16, activation="relu", name="hidden_2"),
            keras.layers.Dense(1, activation="linear", name="log1p_watch_ratio_out"),
        ],
        name="fastrank_demo_model",
    )


def per_user_ndcg(users: np.ndarray, gains: np.ndarray, scores: np.ndarray, k: int = 10):
    """Mean sklearn NDCG@k over users; ``users`` must be grouped (contiguous)."""
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    bounds = np.r_[starts, len(users)]
    values = [
        ndcg_score(gains[None, a:b], scores[None, a:b], k=k)
        for a, b in itertools.pairwise(bounds)
        if b - a > 1  # sklearn rejects single-document queries
    ]
    return float(np.mean(values)), len(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="training subsample size")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=demo.DEMO_MODEL_PATH)
    args = parser.parse_args(argv)

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    # Multi-threaded CPU reductions are otherwise not bit-reproducible.
    tf.config.experimental.enable_op_determinism()
    print(
        f"imported keras {keras.__version__} / tensorflow {tf.__version__} "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    t0 = time.perf_counter()
    table = demo.make_demo_table()
    users = table[demo.USER].to_numpy()
    label = table[demo.LABEL].to_numpy()
    x_all = np.column_stack([table[f].to_numpy() for f in demo.FEATURES]).astype(np.float32)
    print(
        f"demo table: {table.num_rows:,} rows, {len(np.unique(users)):,} users "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    # Hold whole users out, so the NDCG check measures generalisation, not recall.
    rng = np.random.default_rng(SEED)
    eval_users = rng.choice(np.unique(users), size=N_EVAL_USERS, replace=False)
    is_eval = np.isin(users, eval_users)
    train_idx = np.flatnonzero(~is_eval)
    train_idx = np.sort(rng.choice(train_idx, size=min(args.rows, len(train_idx)), replace=False))
    x_train = x_all[train_idx]
    # log1p tames the heavy tail (max ~570) that would dominate a raw-scale MSE.
    y_train = np.log1p(label[train_idx]).astype(np.float32)

    model = build_model(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3), loss="mse")
    t0 = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=1024,
        epochs=args.epochs,
        validation_split=0.05,
        shuffle=True,
        verbose=2,
    )
    train_s = time.perf_counter() - t0
    loss = history.history["loss"][-1]
    val_loss = history.history["val_loss"][-1]
    print(
        f"trained on {len(train_idx):,} rows for {args.epochs} epochs in {train_s:.1f} s; "
        f"final loss {loss:.4f}, val loss {val_loss:.4f} (MSE on log1p(watch_ratio))"
    )

    # Ship an uncompiled copy: no optimizer state (half the file) and no
    # compile config for a TensorFlow-free loader to skip.
    shipped = build_model(keras)
    shipped.set_weights(model.get_weights())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(args.out)
    print(f"saved {args.out} ({args.out.stat().st_size / 1024:.1f} KiB, {model.count_params()} parameters)")

    # Score with the reloaded file, so the check covers what is shipped.
    reloaded = keras.saving.load_model(args.out)
    eval_idx = np.flatnonzero(is_eval)
    preds = reloaded.predict(x_all[eval_idx], batch_size=8192, verbose=0).ravel()
    baseline = x_all[eval_idx, demo.FEATURES.index("video_watch_ratio_mean")]
    ev_users, ev_gains = users[eval_idx], label[eval_idx]
    model_ndcg, n = per_user_ndcg(ev_users, ev_gains, preds.astype(np.float64))
    base_ndcg, _ = per_user_ndcg(ev_users, ev_gains, baseline.astype(np.float64))
    print(
        f"NDCG@10 over {n} held-out users (gains = watch_ratio, ties averaged): "
        f"model {model_ndcg:.4f}, video_watch_ratio_mean baseline {base_ndcg:.4f}"
    )


if __name__ == "__main__":
    main()
