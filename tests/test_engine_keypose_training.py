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

