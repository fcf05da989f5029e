"""Task "pose_default": train the predict command's window model on poses, and select it.

`fit(cfg)` runs the leave-activities-out evaluation (k folds x seeds, the foundation's folds and
mAP), chooses the activation threshold on the out-of-fold scores, trains the final model on every
clip and writes `run_dir/{model.safetensors, model.json, cv.json}`; `extra.export_dir` also
copies them into the package as the default weights (`default.safetensors`, `default.json`).

The clips, windows and training loop are in `musclemap.engine.pose_windows`. `compare(cfg,
names)` evaluates several models plus the extra-trees quick baseline and the random / all-ones
baselines on the same folds (`python -m musclemap.engine.pose_train CONFIG --methods ...`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.config import ExperimentConfig, config_to_dict, resolve_path, save_config
from musclemap.engine.pose_windows import (
    ClipPoses,
    build_kwargs,
    clip_scores,
    input_kind,
    load_clips,
    train_model,
)
from musclemap.errors import DatasetError
from musclemap.metrics import average_precision_map, split_table
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Leave-activities-out evaluation


def _rows_for(clips: list[ClipPoses]) -> list[Any]:
    """Manifest rows standing for clips that have none (synthetic data)."""
    from musclemap.data.manifest import ManifestRow

    return [
        ManifestRow(
            clip=Path(c.clip_id), activity=c.activity, split="", labels=c.labels, clip_id=c.clip_id
        )
        for c in clips
    ]


def extra_trees_scores(
    train: list[ClipPoses], test: list[ClipPoses], *, seed: int
) -> dict[str, np.ndarray]:
    """The issue's quick baseline: 58 clip features + one extra-trees classifier."""
    from sklearn.ensemble import ExtraTreesClassifier

    x = np.stack([c.baseline for c in train])
    y = np.stack([c.labels for c in train]).astype(int)
    clf = ExtraTreesClassifier(n_estimators=300, random_state=seed, n_jobs=1).fit(x, y)
    xt = np.stack([c.baseline for c in test])
    probs = np.zeros((len(test), NUM_GROUPS))
    for k, p in enumerate(clf.predict_proba(xt)):
        # A group that is always (or never) active in training has a single class column.
        classes = list(clf.classes_[k])
        probs[:, k] = p[:, classes.index(1)] if 1 in classes else 0.0
    return {c.clip_id: probs[i] for i, c in enumerate(test)}


Scorer = Callable[[list[ClipPoses], list[ClipPoses], int], dict[str, np.ndarray]]


def _scorer(cfg: ExperimentConfig, method: str) -> Scorer:
    """(train clips, test clips, seed) -> scores by clip id, for a model or a baseline."""
    if method == "extra_trees":
        return lambda train, test, seed: extra_trees_scores(train, test, seed=seed)
    if method in ("random", "all_ones"):
        from musclemap.baselines import all_ones_scores, random_scores

        def baseline(train: list[ClipPoses], test: list[ClipPoses], seed: int) -> dict:
            n = len(test)
            s = random_scores(n, seed=seed) if method == "random" else all_ones_scores(n)
            return {c.clip_id: s[i] for i, c in enumerate(test)}

        return baseline
    # Another model than the config's gets its defaults (or `extra.kwargs_<name>`).
    kwargs = cfg.model.kwargs if method == cfg.model.name else cfg.extra.get(f"kwargs_{method}", {})
    model_cfg = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, name=method, kwargs=dict(kwargs))
    )
    kind = input_kind(method)
    return lambda train, test, seed: clip_scores(
        train_model(model_cfg, train, seed=seed), kind, test
    )


def _map(clips: list[ClipPoses], scores: dict[str, np.ndarray]) -> float | None:
    if not clips:
        return None
    return average_precision_map(
        np.stack([scores[c.clip_id] for c in clips]), np.stack([c.labels for c in clips])
    ).map


def cross_validate(
    cfg: ExperimentConfig, clips: list[ClipPoses], rows: list[Any], method: str
) -> dict[str, Any]:
    """Known/new mAP of `method` over `extra.cv_folds` folds x `extra.cv_seeds` fold seeds.

    "new" is the mAP over all clips of the fold's held-out activities (val_new and test_new),
    "known" over val_known and test_known; nothing is tuned on them. The foundation's
    `split_table` (per split) is kept per fold too. Out-of-fold new-activity scores come back
    for choosing the threshold.
    """
    from musclemap.data.splits import leave_activities_out_folds

    k = int(cfg.extra.get("cv_folds", 5))
    seeds = [int(s) for s in cfg.extra.get("cv_seeds", [0, 1, 2])]
    rows = rows or _rows_for(clips)
    score = _scorer(cfg, method)
    folds, oof_scores, oof_labels = [], [], []
    for seed in seeds:
        for f, fold_rows in enumerate(leave_activities_out_folds(rows, k=k, seed=seed)):
            split = {r.clip_id: r.split for r in fold_rows}
            train = [c for c in clips if split[c.clip_id] == "train"]
            test = [c for c in clips if split[c.clip_id] != "train"]
            t0 = time.perf_counter()
            scores = score(train, test, 1000 * seed + f)
            new = [c for c in test if split[c.clip_id].endswith("_new")]
            known = [c for c in test if split[c.clip_id].endswith("_known")]
            oof_scores += [scores[c.clip_id] for c in new]
            oof_labels += [c.labels for c in new]
            folds.append(
                {
                    "seed": seed,
                    "fold": f,
                    "new": _map(new, scores),
                    "known": _map(known, scores),
                    "seconds": time.perf_counter() - t0,
                    "table": split_table([r for r in fold_rows if r.split != "train"], scores),
                }
            )
            log.info(
                "%s seed %d fold %d: new %.3f known %s",
                method,
                seed,
                f,
                folds[-1]["new"] or float("nan"),
                folds[-1]["known"],
            )
    return {
        "method": method,
        "folds": folds,
        **_summary(folds),
        "oof_scores": np.asarray(oof_scores),
        "oof_labels": np.asarray(oof_labels),
    }


def _summary(folds: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key in ("new", "known"):
        vals = np.array([f[key] for f in folds if f[key] is not None], dtype=float)
        out[f"{key}_map"] = float(vals.mean()) if len(vals) else None
        out[f"{key}_std"] = float(vals.std()) if len(vals) else None
    return out


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising micro-F1 of (score >= t) on out-of-fold new-activity scores."""
    best_t, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        pred = scores >= t
        tp = float((pred & (labels > 0)).sum())
        f1 = 2 * tp / max(float(pred.sum() + (labels > 0).sum()), 1.0)
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t


# ----------------------------------------------------------------------------------------------
# The task


def _public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("oof_")}


def compare(cfg: ExperimentConfig, methods: list[str]) -> dict[str, Any]:
    """Cross-validate several methods (models, "extra_trees", "random", "all_ones") on the same
    folds; returns {method: summary} (also the input of the model card's table)."""
    torch.set_num_threads(int(cfg.extra.get("threads", 1)))
    clips, rows = load_clips(cfg)
    return {m: _public(cross_validate(cfg, clips, rows, m)) for m in methods}


def fit(cfg: ExperimentConfig) -> Path:
    """Cross-validate, choose the threshold, train on all clips, write the weights; -> run_dir."""
    torch.set_num_threads(int(cfg.extra.get("threads", 1)))
    run_dir = Path(cfg.train.out_dir) / (cfg.train.run_name or f"pose_default_{cfg.model.name}")
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    clips, rows = load_clips(cfg)
    if len(clips) < 4:
        raise DatasetError(f"need at least 4 clips with a person to train, got {len(clips)}")
    baselines = [str(m) for m in cfg.extra.get("baselines", ["extra_trees", "random", "all_ones"])]
    cv = cross_validate(cfg, clips, rows, cfg.model.name)
    threshold = choose_threshold(cv["oof_scores"], cv["oof_labels"])
    results = {cfg.model.name: _public(cv)}
    results.update({m: _public(cross_validate(cfg, clips, rows, m)) for m in baselines})
    (run_dir / "cv.json").write_text(json.dumps(results, indent=1))
    model = train_model(cfg, clips, seed=cfg.train.seed)
    meta = {
        "name": cfg.model.name,
        "version": str(cfg.extra.get("version", "1")),
        "kwargs": dict(build_kwargs(cfg)),
        "input": input_kind(cfg.model.name),
        "window": cfg.data.window,
        "stride": int(cfg.extra.get("stride", 8)),
        "fps": float(cfg.extra.get("fps", 10.0)),
        "threshold": threshold,
        "min_seconds": float(cfg.extra.get("min_seconds", 1.0)),
        "normalization": "feat_mean/feat_std buffers inside the weights"
        if input_kind(cfg.model.name) == "window_stats"
        else "hip-centred, / torso length",
        "groups": list(GROUP_IDS),
        "trained_on": {
            "manifest": cfg.data.manifest or "synthetic",
            "clips": len(clips),
            "activities": len({c.activity for c in clips}),
        },
        "cv": {
            m: {k: r[k] for k in ("new_map", "new_std", "known_map", "known_std")}
            for m, r in results.items()
        },
        "protocol": {
            "folds": int(cfg.extra.get("cv_folds", 5)),
            "seeds": list(cfg.extra.get("cv_seeds", [0, 1, 2])),
        },
        "config": config_to_dict(cfg),
    }
    meta = save_weights(model, meta, run_dir / "model.safetensors", run_dir / "model.json")
    (run_dir / "MODEL_CARD.md").write_text(model_card(meta))
    export = cfg.extra.get("export_dir", "")
    if export:
        dest = resolve_path(cfg, str(export))
        dest.mkdir(parents=True, exist_ok=True)
        for src, dst in (
            ("model.safetensors", "default.safetensors"),
            ("model.json", "default.json"),
            ("MODEL_CARD.md", "MODEL_CARD.md"),
        ):
            shutil.copyfile(run_dir / src, dest / dst)
    log.info(
        "pose_default: new mAP %.3f (extra-trees %s); threshold %.2f -> %s",
        cv["new_map"],
        results.get("extra_trees", {}).get("new_map"),
        threshold,
        run_dir,
    )
    return run_dir


def save_weights(
    model: nn.Module, meta: dict[str, Any], weights: Path, meta_path: Path
) -> dict[str, Any]:
    """safetensors weights plus a JSON meta that records their SHA-256 (returned)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    meta = {
        **meta,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "size_bytes": weights.stat().st_size,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


def _fmt(mean: float | None, std: float | None) -> str:
    return "n/a" if mean is None else f"{mean:.3f} ± {std or 0.0:.3f}"


def model_card(meta: dict[str, Any]) -> str:
    """The model card (Markdown) of a trained default model, from its metadata."""
    cv, data, proto = meta["cv"], meta["trained_on"], meta["protocol"]
    rows = "\n".join(
        f"| {m} | {_fmt(r['new_map'], r['new_std'])} | {_fmt(r['known_map'], r['known_std'])} |"
        for m, r in cv.items()
    )
    seconds = meta["window"] / meta["fps"]
    return f"""# musclemap default model: {meta["name"]} v{meta["version"]}

Maps {seconds:g} s windows of MediaPipe Pose landmarks ({meta["window"]} frames at
{meta["fps"]:g} fps, stride {meta["stride"]}) to probabilities of the 20 muscle groups; a
video's score is the mean over its windows with a person. Written by
`musclemap train configs/predict_default.yaml`.

- **Weights**: `default.safetensors`, {meta["size_bytes"]} bytes,
  SHA-256 `{meta["sha256"]}` (checked at load time).
- **Input**: {meta["input"]} ({meta["normalization"]}).
- **Threshold** for "active": {meta["threshold"]:.2f}, maximising micro-F1 on the out-of-fold
  new-activity scores of the training clips.
- **Data**: {data["clips"]} clips of {data["activities"]} exercises ({data["manifest"]}): short
  public clips, one exercise each; labels are per activity (primary and major secondary movers),
  not per person or per repetition.

## Evaluation (leave-activities-out)

{proto["folds"]} folds of activities assigned at random (the foundation's
`leave_activities_out_folds`), fold seeds {proto["seeds"]}; mean ± std over the
{proto["folds"] * len(proto["seeds"])} folds of the foundation's mAP (`average_precision_map`).
*new*: clips of the held-out activities (never seen in training); *known*: held-out clips of
training activities. Same folds for every row; `extra_trees` is the issue's quick baseline
(58 clip features + one extra-trees classifier).

| method | new mAP | known mAP |
|---|---|---|
{rows}

## Intended use and limits

For exploring which muscle groups an exercise video mainly works: coaching, teaching, app
prototypes. Not a medical device; it does not measure activation (no EMG), effort or form.
Labels are exercise-level, so the model answers "which groups does an exercise like this work",
and it cannot tell a light from a heavy load. Trained on few clips: expect errors on exercises
unlike the training ones, on several people in view (only the most prominent is followed), on
clips where the body is partly out of frame, and with unusual camera angles. A single person,
whole body visible, a few seconds of the exercise work best.
"""


def main(argv: list[str] | None = None) -> None:
    """`python -m musclemap.engine.pose_train CONFIG [--methods ...] [--set k=v ...] [--out J]`:
    the model-selection table (every method on the same leave-activities-out folds)."""
    import argparse

    from musclemap.config import load_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("config", type=Path)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["posefeat_mlp", "pose_tcn", "extra_trees", "random", "all_ones"],
    )
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value")
    parser.add_argument("--out", type=Path, help="write the JSON table here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = compare(load_config(args.config, args.set), args.methods)
    for m, r in results.items():
        print(
            f"{m:14s} new {_fmt(r['new_map'], r['new_std'])}  "
            f"known {_fmt(r['known_map'], r['known_std'])}"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
