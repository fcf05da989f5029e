"""engine/evaluate.py: any loadable model on the pose files of a manifest's val/test clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.manifest import read_manifest
from musclemap.data.pose_sequence import save_pose_file
from musclemap.data.predictions import read_predictions
from musclemap.data.tables import split_table
from musclemap.engine.evaluate import evaluate_model, model_scores
from musclemap.errors import DatasetError
from musclemap.inference import load_model
from musclemap.pose.synthetic import synthetic_pose_sequence
from musclemap.predictor import WEIGHTS_DIR, Predictor

LABELS = {
    "squat": "quadriceps;gluteus;hamstring",
    "biceps_curl": "biceps;forearms",
    "shoulder_press": "shoulder;triceps",
}
CLIPS = (  # (exercise, split): the press is the new activity
    ("squat", "train"),
    ("biceps_curl", "train"),
    ("squat", "val_known"),
    ("biceps_curl", "test_known"),
    ("shoulder_press", "val_new"),
    ("shoulder_press", "test_new"),
)


def write_pose_manifest(folder: Path) -> Path:
    """Six generated clips (squat / curl / press) with pose files and every split."""
    lines = ["clip,activity,split,labels,skeleton"]
    for i, (ex, split) in enumerate(CLIPS):
        pose = save_pose_file(
            synthetic_pose_sequence(ex, seconds=4.0 + i, seed=i), folder / f"p{i}.npz"
        )
        lines.append(f"clips/c{i}.mp4,{ex},{split},{LABELS[ex]},{pose.name}")
    (folder / "m.csv").write_text("\n".join(lines) + "\n")
    return folder / "m.csv"


def test_the_default_model_scores_eval_clips_as_predict_does(tmp_path: Path) -> None:
    rows = read_manifest(write_pose_manifest(tmp_path))
    model = load_model(WEIGHTS_DIR / "default.safetensors")
    out = evaluate_model(model, rows, tmp_path / "out")
    assert out == tmp_path / "out" / "predictions.csv"
    scores = read_predictions(out)
    evaluated = [r for r in rows if r.split != "train"]
    assert sorted(scores) == sorted(r.clip_id for r in evaluated)  # no training clip
    predictor = Predictor.default()
    for r in evaluated:
        from musclemap.data.pose_sequence import load_pose_file

        expected = predictor.predict_poses(load_pose_file(r.skeleton)).scores_array()
        np.testing.assert_allclose(scores[r.clip_id], expected, atol=1e-6)
    table = json.loads(out.with_suffix(".table.json").read_text())
    assert table == pytest.approx(split_table(evaluated, scores), nan_ok=True)


def test_rows_without_pose_files_are_named(tmp_path: Path) -> None:
    path = write_pose_manifest(tmp_path)
    (tmp_path / "p3.npz").unlink()
    with pytest.raises(DatasetError, match="p3.npz"):
        evaluate_model(
            load_model(WEIGHTS_DIR / "default.safetensors"), read_manifest(path), tmp_path / "o.csv"
        )
    assert not (tmp_path / "o.csv").exists()


def test_model_scores_of_no_rows() -> None:
    assert model_scores(load_model(WEIGHTS_DIR / "default.safetensors"), []).shape == (0, 20)


def test_every_unusable_pose_file_is_named_before_scoring(tmp_path: Path) -> None:
    # Pose files of NaN landmarks were scored into a table (NumPy warnings, exit 0); refused
    # now, all of them at once with their manifest lines (session 13's hostile pass).
    path = write_pose_manifest(tmp_path)
    for i in (2, 4):  # val_known and val_new clips
        seq = synthetic_pose_sequence(CLIPS[i][0], seconds=4.0, seed=i)
        if i == 2:
            seq.image[seq.valid, :, 0] = np.nan  # no landmark left in frames with a person
        else:
            seq.image[seq.valid, 0, 0] = np.inf
        save_pose_file(seq, tmp_path / f"p{i}.npz")
    with pytest.raises(DatasetError) as err:
        evaluate_model(
            load_model(WEIGHTS_DIR / "default.safetensors"), read_manifest(path), tmp_path / "o.csv"
        )
    message = str(err.value)
    assert message.startswith("2 unusable pose file(s): line 4: ")
    assert "p2.npz: not a valid pose file (no finite image landmark in" in message
    assert "; line 6: " in message and "p4.npz" in message
    assert not (tmp_path / "o.csv").exists()
