"""Task pose_default on generated poses: protocols, baselines, threshold, weights, one scoring
path, reproducibility."""

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
    "train.epochs=3",
    "pose_default.library_manifest=",
    "pose_default.cv_folds=2",
    "pose_default.cv_seeds=[0]",
    "pose_default.augment_copies=1",
    "pose_default.export_dir=",
]


def _cfg(tmp_path: Path, *extra: str):
    return load_config(
        Path("configs/predict_default.yaml"), [*FAST, f"train.out_dir={tmp_path}", *extra]
    )


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
    cfg = _cfg(tmp_path, "pose_default.baselines=[random, all_ones]", export)
    run_dir = pose_train.fit(cfg)
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["name"] == "keypose_mlp" and meta["input"] == "keypose"
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

    pred = Predictor.from_checkpoint(run_dir).predict_poses(synthetic_pose_sequence("squat"))
    assert pred.threshold == meta["threshold"] and len(pred.muscles) == 20
    looks = pred.to_dict()["looks_like"]
    assert len(looks) == 3 and {x["exercise"] for x in looks} == set(meta["library"]["names"])
    assert looks[0]["similarity"] >= looks[1]["similarity"] >= looks[2]["similarity"]


def test_training_is_bit_reproducible(tmp_path: Path) -> None:
    digests = []
    for run in ("one", "two"):
        cfg = _cfg(tmp_path, "pose_default.cv_folds=1", f"train.run_name={run}")
        digests.append(json.loads((pose_train.fit(cfg) / "model.json").read_text())["sha256"])
    assert digests[0] == digests[1]
    assert (tmp_path / "one" / "model.safetensors").read_bytes() == (
        tmp_path / "two" / "model.safetensors"
    ).read_bytes()


def test_cross_validation_scores_are_the_predict_path(tmp_path: Path) -> None:
    """CV scores a held-out item with `score_poses`: exactly what `predict` reports."""
    from musclemap.predictor import Predictor

    cfg = _cfg(tmp_path)
    items = pose_windows.load_items(cfg)
    windows = pose_windows.item_windows(items, cfg, seed=0)
    train, test = items[:6], items[6:]
    x, y, w = pose_windows.training_arrays(train, windows[:6], cfg)
    module = pose_train.train_module(cfg, x, y, w, seed=0)
    model = pose_train.numpy_model(module, pose_train.model_meta(cfg), train, windows[:6])
    assert model.knn_weight == 0.5 and model.library is not None  # the blend is on the path
    cv_scores = pose_train.method(cfg, "keypose_mlp")(train, windows[:6], test, 0)
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
    folds = pose_train.source_folds(items, 2, seed=0)
    assert sorted(i for _, te in folds for i in te) == list(range(8))  # every clip once
    for train, test in folds:
        assert {items[i].source for i in test}.isdisjoint({items[i].source for i in train})
        assert set(range(8, 12)) <= set(train)
    for train, test in pose_train.exercise_folds(items, 2, seed=1):
        assert {items[i].exercise for i in test}.isdisjoint({items[i].exercise for i in train})


def test_same_exercise_is_one_group_across_datasets() -> None:
    items = pose_windows.synthetic_items(4)  # squat, biceps_curl, shoulder_press, squat clips
    extra = pose_windows.synthetic_items(2)
    for it, act in zip(extra, ("barbell_squat", "leg_press"), strict=True):
        it.activity, it.kind, it.source, it.item_id = act, "keypose", "free-exercise-db", act
    pose_windows.group_exercises(items + extra)
    assert items[0].exercise == items[3].exercise == extra[0].exercise == "squat"
    assert extra[1].exercise not in {it.exercise for it in items}
    assert len({it.exercise for it in items[:3]}) == 3


def test_choose_threshold_maximises_f1() -> None:
    labels = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=float)
    scores = np.array([[0.9, 0.2], [0.7, 0.3], [0.1, 0.65], [0.2, 0.1]])
    # Every positive above and every negative below from 0.31 to 0.65: the lowest such grid
    # value wins the tie.
    assert pose_train.choose_threshold(scores, labels) == 0.31
    # A trade-off: above 0.6 one positive is lost (F1 0.8), at or below 0.4 a negative comes in
    # (F1 6/7); between them F1 is 1.
    labels = np.array([[1], [1], [1], [0], [0]], dtype=float)
    scores = np.array([[0.9], [0.8], [0.6], [0.4], [0.05]])
    assert pose_train.choose_threshold(scores, labels) == 0.41


def test_other_models_are_refused(tmp_path: Path) -> None:
    from musclemap.errors import ConfigError

    with pytest.raises(ConfigError, match="keypose_mlp"):
        pose_train.model_kwargs(_cfg(tmp_path, "model.name=mvitv2_s"))


def test_manifest_without_skeletons_is_a_clear_error(tmp_path: Path) -> None:
    from musclemap.errors import DatasetError

    manifest = tmp_path / "m.csv"
    (tmp_path / "a.mp4").write_bytes(b"")
    manifest.write_text("clip,activity,split,labels\na.mp4,squat,,quadriceps\n")
    cfg = load_config(None, ["task=pose_default", f"data.manifest={manifest}"])
    with pytest.raises(DatasetError, match="skeleton"):
        pose_windows.load_items(cfg)
