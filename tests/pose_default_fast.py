"""A fast pose_default config for the engine tests: generated clips, 2 folds, seed 0."""

from __future__ import annotations

from pathlib import Path

from musclemap.config import ExperimentConfig, load_config

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


def fast_config(tmp_path: Path, *extra: str) -> ExperimentConfig:
    return load_config(
        Path("configs/predict_default.yaml"), [*FAST, f"train.out_dir={tmp_path}", *extra]
    )


