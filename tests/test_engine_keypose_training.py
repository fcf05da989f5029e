"""engine/keypose_training.py: the predict model's trainer and its numpy model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musclemap.engine import keypose_training, pose_windows
from pose_default_fast import fast_config


def test_other_models_are_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    with pytest.raises(ConfigError, match="keypose_mlp"):
        keypose_training.model_kwargs(fast_config(tmp_path, "model.name=mvitv2_s"))


def test_the_trained_model_ranks_its_training_labels_first(tmp_path: Path) -> None:
    """A few epochs on generated squats, curls and presses: the numpy model (what predict runs)
    puts each exercise's own groups above the others, and a second run is bit-identical."""
    from musclemap.metrics import average_precision_map

    cfg = fast_config(tmp_path, "train.epochs=20")
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    x, y, w = pose_windows.training_arrays(items, windows, cfg)
    module = keypose_training.train_module(cfg, x, y, w, seed=0)
    again = keypose_training.train_module(cfg, x, y, w, seed=0)
    for a, b in zip(module.state_dict().values(), again.state_dict().values(), strict=True):
        assert (a == b).all()
    model = keypose_training.numpy_model(module, keypose_training.model_meta(cfg))
    scores = np.stack([model.probabilities(win).mean(0) for win in windows])
    labels = np.stack([it.labels for it in items])
    assert average_precision_map(scores, labels).map > 0.9



def _separation(model: keypose_training.KeyPoseModel, windows: list[np.ndarray],
                groups: list[str]) -> float:
    """Mean cosine similarity of item embeddings of the same exercise minus that of different
    exercises."""
    emb = np.stack([model.embed(x).mean(0) for x in windows])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    same = np.equal.outer(groups, groups) & ~np.eye(len(groups), dtype=bool)
    return float(sim[same].mean() - sim[~np.equal.outer(groups, groups)].mean())


def test_exercise_loss_separates_exercises_in_the_embedding(tmp_path: Path) -> None:
    """The auxiliary exercise-identity loss (`pose_default.exercise_loss`) trains the hidden
    layer to tell exercises apart (what the k-NN blend compares: same-exercise embeddings closer,
    others farther than without it); it stays bit-reproducible, and the weights keep the model's
    tensors only."""
    cfg = fast_config(tmp_path, "train.epochs=10", "pose_default.exercise_loss=1.0")
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    x, y, w = pose_windows.training_arrays(items, windows, cfg)
    ex = pose_windows.exercise_ids(items, windows)
    groups = [it.exercise for it in items]
    meta = keypose_training.model_meta(cfg)
    plain = keypose_training.train_module(cfg, x, y, w, seed=0)
    aux = keypose_training.train_module(cfg, x, y, w, seed=0, exercise=ex)
    again = keypose_training.train_module(cfg, x, y, w, seed=0, exercise=ex)
    assert list(aux.state_dict()) == list(plain.state_dict())
    for a, b in zip(aux.state_dict().values(), again.state_dict().values(), strict=True):
        assert (a == b).all()
    assert not (aux.state_dict()["w1"] == plain.state_dict()["w1"]).all()
    # fit_items, the recipe the folds and the final model share, is this exact training
    fitted = keypose_training.fit_items(cfg, items, windows, seed=0)
    for a, b in zip(fitted.state_dict().values(), aux.state_dict().values(), strict=True):
        assert (a == b).all()
    sep_plain = _separation(keypose_training.numpy_model(plain, meta), windows, groups)
    sep_aux = _separation(keypose_training.numpy_model(aux, meta), windows, groups)
    assert sep_aux > sep_plain + 0.03, (sep_aux, sep_plain)  # 1.056 vs 1.016
