"""The error family (fastrank.metrics.errors): RMSE, MAE and log loss per user and over rows,
against scikit-learn's ``root_mean_squared_error``, ``mean_absolute_error`` and ``log_loss``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import log_loss, mean_absolute_error, root_mean_squared_error

import fastrank
from fastrank.errors import InputError

from .conftest import grouped_data, per_user

PER_USER = {"rmse": root_mean_squared_error, "mae": mean_absolute_error, "logloss": log_loss}


@given(data=grouped_data(max_size=60), min_items=st.integers(1, 3), probabilities=st.booleans())
def test_each_users_loss_and_the_loss_over_rows_equal_sklearns(data, min_items, probabilities):
    users, labels, scores = data
    if probabilities:  # log loss: labels in {0, 1}, scores in [0, 1] with both ends
        labels = (labels > 0).astype(float)
        scores = np.clip(scores / max(scores.max(), 1e-9) * 1.2 - 0.1, 0, 1)
    names = [*PER_USER, *(f"{name}_rows" for name in PER_USER)] if probabilities else ["rmse", "mae"]
    names += [] if probabilities else ["rmse_rows", "mae_rows"]
    result = fastrank.ranking_metrics(users, labels, scores, names, min_items=min_items)
    kept = np.zeros(len(users), bool)
    for j, (user, (y, p)) in enumerate(per_user(users, labels, scores)):
        position = list(result.users).index(user)
        for name, oracle in PER_USER.items():
            if name not in names:
                continue
            if len(y) < min_items:
                assert np.isnan(result[name][position])
                continue
            expected = oracle(y, p, labels=[0, 1]) if name == "logloss" else oracle(y, p)
            assert result[name][position] == pytest.approx(expected, rel=1e-12, abs=1e-15), (name, j)
        kept |= (users == user) & (len(y) >= min_items)
    for name, oracle in PER_USER.items():
        if name not in names:
            continue
        mean = result.mean[f"{name}_rows"]
        if not kept.any():
            assert np.isnan(mean)
            continue
        y, p = labels[kept], scores[kept]
        expected = oracle(y, p, labels=[0, 1]) if name == "logloss" else oracle(y, p)
        assert mean == pytest.approx(expected, rel=1e-12, abs=1e-15), name
        assert result.mean[name] == pytest.approx(np.nanmean(result[name]), rel=1e-12)


def test_the_losses_over_rows_have_no_per_user_value():
    result = fastrank.ranking_metrics([1, 1, 2], [1.0, 0.0, 2.0], [0.5, 0.5, 1.0], ["rmse_rows", "rmse"])
    assert "rmse_rows" not in result.to_frame().columns
    with pytest.raises(KeyError, match="every row at once"):
        result["rmse_rows"]
    # User 1: errors 0.5 and 0.5; user 2 (one row) is skipped by min_items=2.
    assert result.mean == {"rmse_rows": 0.5, "rmse": 0.5}


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([1.0, 2.0], [0.5, 0.5], "logloss: label 2 of user 7; log loss needs labels in {0, 1}"),
        ([1.0, 0.0], [0.5, 1.5], "logloss: score 1.5 of user 7 is not a probability"),
        ([1.0, 0.0], [-0.5, 0.5], "logloss: score -0.5 of user 7 is not a probability"),
    ],
)
def test_log_loss_refuses_labels_and_scores_outside_its_domain_naming_the_user(labels, scores, message):
    with pytest.raises(InputError, match=message.replace("{", r"\{").replace("}", r"\}")):
        fastrank.ranking_metrics([7, 7], labels, scores, ["logloss_rows"])


def test_error_metrics_of_a_table_through_evaluate_per_user_and_over_rows():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(40), 5),
            "video_id": np.tile(np.arange(5), 40),
            "watch_ratio": rng.lognormal(0, 1, 200),
            "pred": rng.lognormal(0, 1, 200),
        }
    ).sample(frac=1, random_state=1)
    evaluation = fastrank.evaluate(frame, scores="pred", metrics=["rmse", "mae_rows"])
    assert evaluation.mean("pred", metric="mae_rows") == pytest.approx(
        mean_absolute_error(frame.watch_ratio, frame.pred), rel=1e-12
    )
    by_user = frame.groupby("user_id").apply(
        lambda g: root_mean_squared_error(g.watch_ratio, g.pred), include_groups=False
    )
    per_user_rmse = evaluation.per_user.set_index("user")["value"].sort_index()
    assert set(evaluation.per_user.metric) == {"rmse"}
    np.testing.assert_allclose(per_user_rmse.to_numpy(), by_user.to_numpy(), rtol=1e-12)
