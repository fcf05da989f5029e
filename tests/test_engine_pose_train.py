"""engine/pose_train.py (task pose_default) on generated poses: the run folder, the exported
weights, a usable checkpoint, bit-reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musclemap.engine import pose_train
from pose_default_fast import fast_config


def test_fit_writes_weights_meta_cv_and_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[tuple[np.ndarray, np.ndarray, float]] = []

    def spy(scores: np.ndarray, labels: np.ndarray) -> float:
        chosen.append((scores, labels, choose(scores, labels)))
        return chosen[-1][2]

    choose = pose_train.choose_threshold
    monkeypatch.setattr(pose_train, "choose_threshold", spy)
    export = f"pose_default.export_dir={tmp_path}/w"
    tracker = "pose_default.pose_estimator=mediapipe_g4"  # the poses' estimator, say
    cfg = fast_config(tmp_path, "pose_default.baselines=[random, all_ones]", export, tracker)
    run_dir = pose_train.fit(cfg)
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["name"] == "keypose_mlp" and meta["input"] == "keypose"
    assert meta["pose_estimator"] == "mediapipe_g4"  # predict tracks with it
    # The threshold is the one chosen on the out-of-fold scores of every item, one row each.
    (scores, labels, threshold), = chosen
    assert scores.shape == labels.shape == (len(pose_train.load_items(cfg)), 20)
    assert meta["threshold"] == threshold and meta["fps"] == 10.0
    assert set(meta["cv"]) == {"new_footage", "new_exercises"}
    assert set(meta["cv"]["new_footage"]) == {"keypose_mlp", "random", "all_ones"}
    assert meta["library"]["names"] == ["biceps curl", "shoulder press", "squat"]
    cv = json.loads((run_dir / "cv.json").read_text())
    assert len(cv["cv"]["new_footage"]["keypose_mlp"]["folds"]) == 2  # 2 folds x 1 seed
    assert json.loads((tmp_path / "w" / "default.json").read_text())["sha256"] == meta["sha256"]
    assert "(a) new footage" in (run_dir / "MODEL_CARD.md").read_text()
    # The run folder is a checkpoint for `musclemap predict --ckpt`, with "looks like".
    from musclemap.demo import synthetic_pose_sequence
    from musclemap.predictor import Predictor

    predictor = Predictor.from_checkpoint(run_dir)
    assert predictor.estimator == "mediapipe_g4"
    pred = predictor.predict_poses(synthetic_pose_sequence("squat"))
    assert pred.threshold == meta["threshold"] and len(pred.muscles) == 20
    looks = pred.to_dict()["looks_like"]
    assert len(looks) == 3 and {x["exercise"] for x in looks} == set(meta["library"]["names"])
    assert looks[0]["similarity"] >= looks[1]["similarity"] >= looks[2]["similarity"]


def test_an_unknown_pose_estimator_stops_before_training(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    cfg = fast_config(tmp_path, "pose_default.pose_estimator=openpose")
    with pytest.raises(ConfigError, match="pose_default.pose_estimator: unknown pose estimator"):
        pose_train.fit(cfg)
    assert not (tmp_path / "pose_default").exists()


def test_training_is_bit_reproducible(tmp_path: Path) -> None:
    """Twice the same bytes, the forest (`pose_default.forest`) included; the weights load with
    it, its node arrays in their own types."""
    from musclemap.pose.keypose_model import KeyPoseModel

    digests = []
    forest = ("pose_default.forest.weight=0.3", "pose_default.forest.trees=5")
    for run in ("one", "two"):
        cfg = fast_config(tmp_path, "pose_default.cv_folds=1", f"train.run_name={run}", *forest)
        digests.append(json.loads((pose_train.fit(cfg) / "model.json").read_text())["sha256"])
    assert digests[0] == digests[1]
    assert (tmp_path / "one" / "model.safetensors").read_bytes() == (
        tmp_path / "two" / "model.safetensors"
    ).read_bytes()
    model = KeyPoseModel.load(tmp_path / "one")
    assert model.forest is not None and model.forest_weight == 0.3
    assert len(model.forest.roots) == 5 and model.forest.threshold.dtype == np.float64
    assert "**Forest**: extra-trees (5 trees" in (tmp_path / "one" / "MODEL_CARD.md").read_text()


def _posed(item_id: str, roi_grid: dict | None, kind: str = "clip") -> object:
    from types import SimpleNamespace

    settings = {"model_complexity": 1} | ({} if roi_grid is None else {"roi_grid": roi_grid})
    seq = SimpleNamespace(extra={"settings": settings})
    return SimpleNamespace(item_id=item_id, kind=kind, seq=seq)


def test_clips_posed_by_another_tracker_stop_training() -> None:
    from musclemap.errors import ConfigError
    from musclemap.pose.estimator import build_estimator

    grid = build_estimator("mediapipe_g4").settings()["roi_grid"]
    mine = [_posed("a", grid), _posed("b", grid), _posed("photos", None, kind="keypose")]
    pose_train.check_tracker(mine, "mediapipe_g4")  # photo pairs are stills: not checked
    pose_train.check_tracker([_posed("a", None), _posed("b", None)], "mediapipe")
    with pytest.raises(ConfigError) as err:
        old = [_posed("old", None), _posed("older", None)]
        pose_train.check_tracker([*mine, *old], "mediapipe_g4")
    assert err.value.args[0] == (
        f"pose_default.pose_estimator is mediapipe_g4 (roi_grid {grid}), but 2 of 4 clips were "
        "posed with another tracker (first: old, roi_grid None): pose them with `musclemap data "
        "poses MANIFEST --out DIR --pose-estimator mediapipe_g4`"
    )
    with pytest.raises(ConfigError, match="1 of 1 clips were posed with another tracker"):
        pose_train.check_tracker([_posed("new", grid)], "mediapipe")
