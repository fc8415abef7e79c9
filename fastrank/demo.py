"""Built-in demo data set and demo model, shaped after KuaiRec.

The table mimics the frame of the original KuaiRec notebook: one row per
(user, video) interaction, the raw ``watch_ratio`` label and five
standard-scaled model features. It is synthetic, generated from latent user
and video factors, so that per-user rankings carry real but imperfect signal.
"""

from __future__ import annotations

import os
import pathlib
import secrets

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "DEMO_MODEL_PATH",
    "FEATURES",
    "ITEM",
    "LABEL",
    "USER",
    "demo_table_path",
    "make_demo_table",
]

USER = "user_id"
ITEM = "video_id"
LABEL = "watch_ratio"
FEATURES: tuple[str, ...] = (
    "video_duration",
    "user_watch_ratio_mean",
    "video_watch_ratio_mean",
    "user_feat_watch_ratio_mean",
    "user_category_watch_ratio_mean",
)

#: Keras 3 model shipped with the package: input ``(None, 5)`` float32 in
#: :data:`FEATURES` order, output ``(None, 1)`` = predicted ``log1p(watch_ratio)``.
DEMO_MODEL_PATH = pathlib.Path(__file__).resolve().parent / "data" / "demo_model.keras"

# Bump whenever the generator's output changes, so stale cache files are ignored.
_DEMO_VERSION = 1

# Ranges of the real KuaiRec ids (user ids of the notebook frame, big-matrix video ids).
_USER_ID_RANGE = (14, 7162)
_VIDEO_ID_SPACE = 10728
# Chosen so the default size gives exactly the notebook frame's 3,830,602 rows.
_DENSITY = 3_830_602 / (1354 * 3327)

_N_CATEGORIES = 10
_N_TAGS = 31

# Latent log-watch-ratio model; these scales put the label's p50 near 0.77 and its
# p99 near 3.6 (KuaiRec small matrix) while keeping per-user ranks noisy.
_LOG_WR_OFFSET = -0.22
_SD_USER = 0.25
_SD_VIDEO = 0.30
_SD_CATEGORY = 0.22
_SD_TAG = 0.18
_DURATION_SLOPE = -0.20
_SD_NOISE = 0.40
_P_SKIP = 0.04
_P_ZERO = 0.002
_P_OUTLIER = 2e-4

_SCHEMA = pa.schema(
    [(USER, pa.int64()), (ITEM, pa.int64()), (LABEL, pa.float64())]
    + [(name, pa.float64()) for name in FEATURES]
)


def _standard_scale(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    # A constant column (e.g. a single user) has no scale; it becomes 0, not NaN.
    if not np.isfinite(sd) or sd == 0.0:
        return np.zeros_like(x, dtype=np.float64)
    return (x - x.mean()) / sd


def _group_mean(keys: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of ``values`` per integer key, broadcast back to each row."""
    sums = np.bincount(keys, weights=values, minlength=n_groups)
    counts = np.bincount(keys, minlength=n_groups)
    means = sums / np.maximum(counts, 1)
    return means[keys]


def _rows_per_user(rng: np.random.Generator, n_users: int, n_videos: int) -> np.ndarray:
    """Per-user interaction counts summing to ``round(_DENSITY * n_users * n_videos)``."""
    target = round(_DENSITY * n_users * n_videos)
    share = rng.beta(170.0, 30.0, size=n_users)
    exact = share / share.sum() * target
    counts = np.floor(exact).astype(np.int64)
    # Largest-remainder rounding keeps the total exact.
    short = target - int(counts.sum())
    if short > 0:
        counts[np.argsort(counts - exact)[:short]] += 1
    return np.clip(counts, 1, n_videos)


def _noisy_log_ratio(rng: np.random.Generator, signal: np.ndarray, *, outliers: bool) -> np.ndarray:
    """One noisy draw of watch_ratio around the latent log-scale ``signal``."""
    n = signal.shape[0]
    wr = np.exp(signal + rng.normal(0.0, _SD_NOISE, size=n))
    # Early skips pile mass near zero, as real short-video logs do.
    skip = rng.random(n) < _P_SKIP
    wr[skip] *= rng.uniform(0.02, 0.3, size=int(skip.sum()))
    wr[rng.random(n) < _P_ZERO] = 0.0
    if outliers:
        # Rare replays/looping give ratios in the hundreds (KuaiRec max is ~570).
        hit = rng.random(n) < _P_OUTLIER
        wr[hit] = 10.0 * 57.0 ** rng.random(int(hit.sum()))
    return wr


def make_demo_table(n_users: int = 1354, n_videos: int = 3327, seed: int = 0) -> pa.Table:
    """Build a deterministic synthetic KuaiRec-shaped interaction table.

    Parameters
    ----------
    n_users : int, default 1354
        Number of users, 1 to 7149. User ids are distinct, spread over
        14..7162 (both ends included when ``n_users >= 2``), ascending.
    n_videos : int, default 3327
        Size of the video catalogue, 1 to 10728. Video ids are distinct, not
        contiguous, drawn from 0..10727.
    seed : int, default 0
        Seed; the same arguments always give the same table (for a given numpy).

    Returns
    -------
    pyarrow.Table
        Columns ``user_id`` (int64), ``video_id`` (int64), ``watch_ratio``
        (float64, raw label: play time / video duration, >= 0, heavy-tailed)
        then :data:`FEATURES` (float64, each standard-scaled to mean 0, std 1;
        a constant feature, e.g. ``user_watch_ratio_mean`` with one user, is 0).
        Each user sees about 85% of the catalogue: the default size gives
        exactly 3,830,602 rows (``round(0.8504 * n_users * n_videos)`` in
        general; every user has at least one row). Rows are grouped by user
        in ascending user id; within a user the videos are in random order.

    Notes
    -----
    ``log(watch_ratio)`` = offset + user bias + video bias + user-category
    affinity + user-tag affinity + duration effect + noise, with rare skips,
    exact zeros and outliers. The four mean features are computed on an
    independent second noisy draw of the same latent factors (a "history"
    log), so they carry the latent signal without leaking the label.
    """
    if not 1 <= n_users <= _USER_ID_RANGE[1] - _USER_ID_RANGE[0] - 1:
        raise ValueError(f"n_users must be in 1..7149, got {n_users}")
    if not 1 <= n_videos <= _VIDEO_ID_SPACE:
        raise ValueError(f"n_videos must be in 1..{_VIDEO_ID_SPACE}, got {n_videos}")

    # Independent streams, so the video catalogue does not depend on n_users
    # and vice versa.
    video_rng, user_rng, row_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))

    video_ids = np.sort(video_rng.choice(_VIDEO_ID_SPACE, size=n_videos, replace=False))
    category = video_rng.integers(0, _N_CATEGORIES, size=n_videos)
    tag = video_rng.integers(0, _N_TAGS, size=n_videos)
    video_bias = video_rng.normal(0.0, _SD_VIDEO, size=n_videos)
    # Seconds; lognormal gives the long right tail of real durations.
    duration = np.exp(video_rng.normal(np.log(12.0), 0.75, size=n_videos))
    log_dur = np.log(duration)
    duration_effect = _DURATION_SLOPE * (log_dur - log_dur.mean()) / max(log_dur.std(), 1e-12)

    lo, hi = _USER_ID_RANGE
    if n_users == 1:
        user_ids = np.array([lo], dtype=np.int64)
    else:
        inner = user_rng.choice(np.arange(lo + 1, hi), size=n_users - 2, replace=False)
        user_ids = np.sort(np.concatenate([[lo, hi], inner])).astype(np.int64)
    user_bias = user_rng.normal(0.0, _SD_USER, size=n_users)
    cat_affinity = user_rng.normal(0.0, _SD_CATEGORY, size=(n_users, _N_CATEGORIES))
    tag_affinity = user_rng.normal(0.0, _SD_TAG, size=(n_users, _N_TAGS))

    # Taking each user's first k videos of a random permutation both picks the
    # videos and shuffles them; row-major boolean indexing keeps users contiguous.
    counts = _rows_per_user(row_rng, n_users, n_videos)
    perm = np.argsort(row_rng.random((n_users, n_videos)), axis=1)
    keep = np.arange(n_videos) < counts[:, None]
    v = perm[keep]
    u = np.repeat(np.arange(n_users), counts)
    del perm, keep

    c = category[v]
    t = tag[v]
    signal = (
        _LOG_WR_OFFSET
        + user_bias[u]
        + video_bias[v]
        + cat_affinity[u, c]
        + tag_affinity[u, t]
        + duration_effect[v]
    )
    label = _noisy_log_ratio(row_rng, signal, outliers=True)
    history = _noisy_log_ratio(row_rng, signal, outliers=False)
    del signal

    columns = {
        USER: user_ids[u],
        ITEM: video_ids[v],
        LABEL: label,
        "video_duration": _standard_scale(duration[v]),
        "user_watch_ratio_mean": _standard_scale(_group_mean(u, history, n_users)),
        "video_watch_ratio_mean": _standard_scale(_group_mean(v, history, n_videos)),
        "user_feat_watch_ratio_mean": _standard_scale(
            _group_mean(u * _N_TAGS + t, history, n_users * _N_TAGS)
        ),
        "user_category_watch_ratio_mean": _standard_scale(
            _group_mean(u * _N_CATEGORIES + c, history, n_users * _N_CATEGORIES)
        ),
    }
    return pa.Table.from_arrays([pa.array(columns[f.name]) for f in _SCHEMA], schema=_SCHEMA)


def _default_cache_dir() -> pathlib.Path:
    env = os.environ.get("FASTRANK_CACHE_DIR")
    if env:
        return pathlib.Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return pathlib.Path(xdg) / "fastrank"
    return pathlib.Path.home() / ".cache" / "fastrank"


def demo_table_path(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Return the path of the default demo table as parquet, writing it on first use.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Directory for the cache file. Default: ``$FASTRANK_CACHE_DIR`` if set,
        else ``$XDG_CACHE_HOME/fastrank``, else ``~/.cache/fastrank``. Created
        if missing.

    Returns
    -------
    pathlib.Path
        ``<cache_dir>/demo-v1.parquet`` holding ``make_demo_table()`` (default
        size, 3,830,602 rows, about 60 MB). The version tag in the name changes
        with the generator, so a stale file is never reused.

    Notes
    -----
    An existing file is reused as is. The file is written to a temporary file
    in the same directory and renamed into place, so an interrupted run never
    leaves a partial cache file and concurrent callers at worst both write it.
    """
    directory = pathlib.Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    path = directory / f"demo-v{_DEMO_VERSION}.parquet"
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    table = make_demo_table()
    # Same directory so os.replace is an atomic rename; unique name so concurrent
    # writers never share a temp file; mode 0o666 so the umask applies (mkstemp
    # would force 0o600).
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
