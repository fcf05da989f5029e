"""`musclemap evaluate CONFIG --checkpoint CKPT`: multi-view test of a checkpoint.

Writes the predictions file (CSV: `clip` + the 20 group ids) and, next to it, the known/new table
as JSON (`<out stem>.table.json`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musclemap.config import ExperimentConfig
from musclemap.data.datasets import build_datasets, load_rows
from musclemap.data.predictions import write_predictions
from musclemap.engine.checkpoint import load_checkpoint
from musclemap.engine.distributed import DistInfo, pick_device
from musclemap.engine.train import build_experiment_model, build_loader, evaluate_splits, table_for
from musclemap.taxonomy import NUM_GROUPS


def evaluate_checkpoint(cfg: ExperimentConfig, checkpoint: Path, out: Path) -> Path:
    """Score every val/test clip with `cfg.data.num_views` views; returns the predictions path.

    Args:
        cfg: the experiment config the checkpoint was trained with (data, model).
        checkpoint: a `.pt` written by `musclemap train` (loaded strictly).
        out: predictions CSV path, or a folder (then `out/predictions.csv`).
    """
    out = Path(out)
    if out.is_dir() or out.suffix == "":
        out = out / "predictions.csv"
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
    out.with_suffix(".table.json").write_text(json.dumps(table, indent=2))
    return out
