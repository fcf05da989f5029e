"""Task pose_default on generated poses: CV protocol, baselines, threshold, exported weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musclemap.config import load_config
from musclemap.engine import pose_train, pose_windows

FAST = [
    "data.synthetic=true",
    "data.synthetic_clips=9",
    "train.epochs=4",
    "extra.cv_folds=3",
    "extra.cv_seeds=[0]",
    "extra.export_dir=",
]


def _cfg(tmp_path: Path, *extra: str):
    return load_config(
        Path("configs/predict_default.yaml"), [*FAST, f"train.out_dir={tmp_path}", *extra]
    )


def test_fit_writes_weights_meta_and_cv(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "extra.baselines=[random, all_ones]", f"extra.export_dir={tmp_path}/w")
    run_dir = pose_train.fit(cfg)
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["name"] == "posefeat_mlp" and meta["input"] == "window_stats"
    assert 0.05 <= meta["threshold"] <= 0.95
    assert set(meta["cv"]) == {"posefeat_mlp", "random", "all_ones"}
    assert len(meta["sha256"]) == 64
    cv = json.loads((run_dir / "cv.json").read_text())
    assert len(cv["posefeat_mlp"]["folds"]) == 3  # 3 folds x 1 seed
    assert (tmp_path / "w" / "default.safetensors").is_file()
    assert json.loads((tmp_path / "w" / "default.json").read_text())["sha256"] == meta["sha256"]
    # The run folder is a checkpoint for `musclemap predict --ckpt`.
    from musclemap.demo import synthetic_pose_sequence
    from musclemap.predictor import Predictor

    pred = Predictor.from_checkpoint(run_dir).predict_poses(synthetic_pose_sequence("squat"))
    assert pred.threshold == meta["threshold"] and len(pred.muscles) == 20


def test_compare_models_and_quick_baseline(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "model.kwargs={dim: 16, depth: 1}", "model.name=pose_tcn")
    results = pose_train.compare(cfg, ["pose_tcn", "extra_trees"])
    for r in results.values():
        assert 0.0 <= r["new_map"] <= 1.0 and 0.0 <= r["known_map"] <= 1.0
        fold = r["folds"][0]
        assert set(fold["table"]) >= {"test_new", "test_known", "val_mean"}


def test_choose_threshold_maximises_f1() -> None:
    labels = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=float)
    scores = np.array([[0.9, 0.2], [0.7, 0.3], [0.1, 0.65], [0.2, 0.1]])
    t = pose_train.choose_threshold(scores, labels)
    assert 0.3 < t <= 0.65  # every positive above, every negative below


def test_non_window_model_is_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    with pytest.raises(ConfigError, match="pose window model"):
        pose_windows.input_kind("mvitv2_s")


def test_manifest_without_skeletons_is_a_clear_error(tmp_path: Path) -> None:
    from musclemap.errors import DatasetError

    manifest = tmp_path / "m.csv"
    (tmp_path / "a.mp4").write_bytes(b"")
    manifest.write_text("clip,activity,split,labels\na.mp4,squat,,quadriceps\n")
    cfg = load_config(None, ["task=pose_default", f"data.manifest={manifest}"])
    with pytest.raises(DatasetError, match="skeleton"):
        pose_windows.load_clips(cfg)
