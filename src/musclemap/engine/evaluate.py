"""`musclemap evaluate`: a trained model on the val/test clips of a manifest.

Two ways in, one output (the predictions CSV: `clip` + the 20 group ids, and next to it the
known/new table as JSON, `<out stem>.table.json`):

- `evaluate_checkpoint(cfg, ckpt)`: a `.pt` of `musclemap train` on its config's data, with the
  config's test views (any model: video, pose, fusion);
- `evaluate_model(model, rows)`: any model `musclemap.inference.load_model` reads (the packaged
  default, a pose_default run, a research run's pose model) on the pose files of manifest rows
  (`skeleton` column), scored exactly as `predict` scores a video's poses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musclemap.config import ExperimentConfig
from musclemap.data.datasets import build_datasets, load_rows
from musclemap.data.manifest import ManifestRow, require_files
from musclemap.data.predictions import write_predictions
from musclemap.data.tables import split_table
from musclemap.engine.checkpoint import load_checkpoint
from musclemap.engine.distributed import DistInfo, pick_device
from musclemap.engine.train import build_experiment_model, build_loader, evaluate_splits, table_for
from musclemap.errors import DatasetError
from musclemap.outputs import write_text
from musclemap.pose.keypose_model import PoseScorer
from musclemap.taxonomy import NUM_GROUPS

EVAL_SPLITS = ("val_known", "val_new", "test_known", "test_new")


def evaluate_checkpoint(cfg: ExperimentConfig, checkpoint: Path, out: Path) -> Path:
    """Score every val/test clip with `cfg.data.num_views` views; returns the predictions path.

    Args:
        cfg: the experiment config the checkpoint was trained with (data, model).
        checkpoint: a `.pt` written by `musclemap train` (loaded strictly).
        out: predictions CSV path, or a folder (then `out/predictions.csv`).
    """
    out = _predictions_path(out)
    device = pick_device(cfg.train.device)
    model = build_experiment_model(cfg, pretrained=False)  # the checkpoint has every weight
    load_checkpoint(model, checkpoint, strict=True)
    model.to(device)
    rows = load_rows(cfg)
    info = DistInfo()
    loaders = {
        s: build_loader(ds, cfg, info, train=False)
        for s, ds in build_datasets(cfg, rows).items()
        if s != "train"
    }
    preds = evaluate_splits(model, loaders, device=device, amp=cfg.train.amp, info=info)
    ids = [c for i, _ in preds.values() for c in i]
    scores = np.concatenate([s for _, s in preds.values()]) if ids else np.zeros((0, NUM_GROUPS))
    write_predictions(out, ids, scores)
    table = table_for(rows, preds)
    write_text(out.with_suffix(".table.json"), json.dumps(table, indent=2), "the table")
    return out


def _predictions_path(out: Path) -> Path:
    out = Path(out)
    return out / "predictions.csv" if out.is_dir() or out.suffix == "" else out


def model_scores(model: PoseScorer, rows: list[ManifestRow]) -> np.ndarray:
    """Clip scores `(N, 20)` of rows' pose files (`skeleton`), as `predict` scores poses."""
    from musclemap.data.pose_sequence import load_pose_file

    require_files(rows, "skeleton")  # every missing pose file at once, before any work
    if not rows:
        return np.zeros((0, NUM_GROUPS))
    seqs, bad = [], []
    for r in rows:  # every unusable pose file (NaN landmarks, torn) at once, before scoring
        try:
            seqs.append(load_pose_file(r.skeleton or ""))
        except DatasetError as err:
            bad.append(f"line {r.line}: {err}")
    if bad:
        raise DatasetError(f"{len(bad)} unusable pose file(s): {'; '.join(bad[:3])}"
                           + (f"; and {len(bad) - 3} more" if len(bad) > 3 else ""))
    return np.stack([model.score(seq).clip for seq in seqs])


def evaluate_model(model: PoseScorer, rows: list[ManifestRow], out: Path) -> Path:
    """Score the val/test rows with a loaded model; writes predictions + table, returns the
    predictions path (a folder `out` gets `predictions.csv`)."""
    out = _predictions_path(out)
    rows = [r for r in rows if r.split in EVAL_SPLITS]
    ids = [r.clip_id for r in rows]
    scores = model_scores(model, rows)
    write_predictions(out, ids, scores)
    table = split_table(rows, dict(zip(ids, scores, strict=True)))
    write_text(out.with_suffix(".table.json"), json.dumps(table, indent=2), "the table")
    return out
