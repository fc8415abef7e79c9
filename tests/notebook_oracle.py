"""The KuaiRec notebook's four evaluation functions, transcribed (../shared/seed/notebook.txt).

Only the data access changed: ``frame`` and ``predict`` are parameters instead of notebook
globals. This is the oracle for fastrank's ``notebook`` protocol: slow, and wrong on purpose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score


def _features(frame):
    return [col for col in frame.columns if col not in ["watch_ratio", "user_id", "video_id"]]


def get_user_recommendation_data(frame, predict, user):
    preds = predict(frame[frame["user_id"] == user][_features(frame)]).flatten()
    user_mat = frame[frame["user_id"] == user].reset_index(drop=True)
    to_recommend_index = np.flip(preds.argsort())
    to_recommend = user_mat["video_id"][to_recommend_index].values

    ground_truth_index = np.flip(user_mat["watch_ratio"].values.argsort())
    ground_truth = user_mat["video_id"][ground_truth_index].values

    return to_recommend, ground_truth


def get_user_recommendation_data_baseline(frame, column, user):
    preds = np.array(frame[frame["user_id"] == user][column].to_list())
    user_mat = frame[frame["user_id"] == user].reset_index(drop=True)
    to_recommend_index = np.flip(preds.argsort())
    to_recommend = user_mat["video_id"][to_recommend_index].values

    ground_truth_index = np.flip(user_mat["watch_ratio"].values.argsort())
    ground_truth = user_mat["video_id"][ground_truth_index].values

    return to_recommend, ground_truth


def get_user_recommendation_data_rounded(frame, predict, user):
    user_mat = frame[frame["user_id"] == user].reset_index(drop=True)
    preds = predict(user_mat[_features(frame)]).flatten()

    user_mat["preds_rounded"] = pd.Series(np.around(preds))
    user_mat["watch_ratio_rounded"] = pd.Series(np.around(user_mat["watch_ratio"].to_numpy()))

    to_recommend = user_mat.sort_values(["preds_rounded", "video_id"])["video_id"]
    ground_truth = user_mat.sort_values(["watch_ratio_rounded", "video_id"])["video_id"]

    return to_recommend, ground_truth


def get_user_recommendation_data_baseline_bis(frame, column, user):
    user_mat = frame[frame["user_id"] == user].reset_index(drop=True)
    preds = np.array(user_mat[column].to_list())

    user_mat["preds_rounded"] = pd.Series(np.around(preds))
    user_mat["watch_ratio_rounded"] = pd.Series(np.around(user_mat["watch_ratio"].to_numpy()))

    to_recommend = user_mat.sort_values(["preds_rounded", "video_id"])["video_id"]
    ground_truth = user_mat.sort_values(["watch_ratio_rounded", "video_id"])["video_id"]

    return to_recommend, ground_truth


def per_user(frame, get, source):
    """The notebook's evaluation loop, returning {user: ndcg} instead of printing the mean."""
    values = {}
    for user_id in frame["user_id"].unique():
        recommendations, ground_truth = get(frame, source, user_id)
        if len(ground_truth) >= 5:
            values[user_id] = ndcg_score([ground_truth], [recommendations], k=10)
    return values


def has_ties(values) -> bool:
    return len(np.unique(values)) < len(values)
