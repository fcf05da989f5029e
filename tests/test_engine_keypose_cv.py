"""engine/keypose_cv.py: protocols that hold out what they claim, CV scored by the predict path,
the threshold choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musclemap.engine import keypose_cv, keypose_training, pose_windows
from pose_default_fast import fast_config


def test_cross_validation_scores_are_the_predict_path(tmp_path: Path) -> None:
    """CV scores a held-out item with `score_poses`: exactly what `predict` reports."""
    from musclemap.predictor import Predictor

    cfg = fast_config(tmp_path)
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    train, test = items[:6], items[6:]
    x, y, w = pose_windows.training_arrays(train, windows[:6], cfg)
    module = keypose_training.train_module(cfg, x, y, w, seed=0)
    meta = keypose_training.model_meta(cfg)
    model = keypose_training.numpy_model(module, meta, train, windows[:6])
    assert model.knn_weight == cfg.pose_default.knn.weight > 0  # the blend is on the path
    assert model.library is not None and model.still_range == cfg.pose_default.still_range
    cv_scores = keypose_cv.method(cfg, "keypose_mlp")(train, windows[:6], test, 0)
    predictor = Predictor(model)
    for it in test:
        np.testing.assert_allclose(
            cv_scores[it.item_id], predictor.predict_poses(it.seq).scores_array(), atol=1e-9
        )


def test_source_folds_hold_out_whole_sources_and_keep_key_poses_in_training() -> None:
    items = pose_windows.synthetic_items(12)
    for i, it in enumerate(items[8:]):
        it.kind, it.source, it.activity = "keypose", "free-exercise-db", f"made_up_{i}"
    pose_windows.group_exercises(items)
    folds = keypose_cv.source_folds(items, 2, seed=0)
    assert sorted(i for _, te in folds for i in te) == list(range(8))  # every clip once
    for train, test in folds:
        assert {items[i].source for i in test}.isdisjoint({items[i].source for i in train})
        assert set(range(8, 12)) <= set(train)
    for train, test in keypose_cv.exercise_folds(items, 2, seed=1):
        assert {items[i].exercise for i in test}.isdisjoint({items[i].exercise for i in train})


def test_choose_threshold_maximises_f1() -> None:
    labels = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=float)
    scores = np.array([[0.9, 0.2], [0.7, 0.3], [0.1, 0.65], [0.2, 0.1]])
    # Every positive above and every negative below from 0.31 to 0.65: the lowest such grid
    # value wins the tie.
    assert keypose_cv.choose_threshold(scores, labels) == 0.31
    # A trade-off: above 0.6 one positive is lost (F1 0.8), at or below 0.4 a negative comes in
    # (F1 6/7); between them F1 is 1.
    labels = np.array([[1], [1], [1], [0], [0]], dtype=float)
    scores = np.array([[0.9], [0.8], [0.6], [0.4], [0.05]])
    assert keypose_cv.choose_threshold(scores, labels) == 0.41
