"""Task "pose_default": train the predict command's window model on poses, and select it.

`fit(cfg)` runs the leave-activities-out evaluation (k folds x seeds, the foundation's folds and
mAP), chooses the activation threshold on the out-of-fold scores, trains the final model on every
clip and writes `run_dir/{model.safetensors, model.json, cv.json}`; `extra.export_dir` also
copies them into the package as the default weights (`default.safetensors`, `default.json`).

Two model families read the same windows (`cfg.data.window` frames at `extra.fps`, stride
`extra.stride`): "window_stats" models (`posefeat_mlp`) see biomechanical statistics of the
window, "joints" models (`pose_tcn`) see normalised joint coordinates. A clip's score is the mean
of its windows' probabilities. `compare(cfg, names)` evaluates several models plus the extra-trees
quick baseline and the random / all-ones baselines on the same folds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.config import ExperimentConfig, config_to_dict, resolve_path, save_config
from musclemap.errors import ConfigError, DatasetError
from musclemap.metrics import average_precision_map, split_table
from musclemap.models import build_model
from musclemap.models.pose.posefeat import PoseFeatMLP
from musclemap.pose import features as feats
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS, to_multi_hot

log = logging.getLogger(__name__)

INPUT_KINDS = {"posefeat_mlp": "window_stats", "pose_tcn": "joints"}
SYNTHETIC_LABELS = {
    "squat": ("quadriceps", "gluteus", "hamstring", "lower_back"),
    "biceps_curl": ("biceps", "forearms"),
    "shoulder_press": ("shoulder", "triceps", "upper_back"),
}


@dataclass
class ClipPoses:
    """One clip's poses, labels and the windows cut from them (both input kinds)."""

    clip_id: str
    activity: str
    labels: np.ndarray  # (20,)
    stats: np.ndarray  # (2, N, F): window statistics, [original, mirrored]
    joints: np.ndarray  # (2, N, window, 33, 4): normalised joints, [original, mirrored]
    baseline: np.ndarray  # (58,) the quick baseline's clip features


def input_kind(model_name: str) -> str:
    if model_name not in INPUT_KINDS:
        raise ConfigError(
            f"model {model_name!r} is not a pose window model; use one of {', '.join(INPUT_KINDS)}"
        )
    return INPUT_KINDS[model_name]


def clip_windows(
    world: np.ndarray, image: np.ndarray | None, fps: float, *, window: int, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window starts `(N,)`, statistics `(N, F)` and joint windows `(N, window, 33, 4)`."""
    starts = feats.window_starts(len(world), window, stride)
    frames = feats.frame_features(world, fps, image)
    stats = feats.feature_windows(frames, starts, window, fps)
    joints = feats.joint_windows(feats.normalized_joints(world), starts, window)
    return starts, stats, joints


def prepare_clip(
    clip_id: str,
    activity: str,
    labels: np.ndarray,
    world: np.ndarray,
    image: np.ndarray | None,
    fps: float,
    *,
    window: int,
    stride: int,
) -> ClipPoses:
    _, s0, j0 = clip_windows(world, image, fps, window=window, stride=stride)
    fw, fi = feats.flip_landmarks(world, image)
    _, s1, j1 = clip_windows(fw, fi, fps, window=window, stride=stride)
    return ClipPoses(
        clip_id,
        activity,
        labels.astype(np.float32),
        np.stack([s0, s1]),
        np.stack([j0, j1]),
        feats.baseline_clip_features(world, fps),
    )


def load_clips(cfg: ExperimentConfig) -> tuple[list[ClipPoses], list[Any]]:
    """Clips (poses + windows) and their manifest rows, from `cfg.data.manifest` or synthetic."""
    window, stride = cfg.data.window, int(cfg.extra.get("stride", 8))
    if cfg.data.synthetic:
        return _synthetic_clips(cfg.data.synthetic_clips, window=window, stride=stride), []
    from musclemap.data.manifest import read_manifest
    from musclemap.pose.base import load_pose_file

    rows = read_manifest(resolve_path(cfg, cfg.data.manifest))
    missing = [r.clip_id for r in rows if r.skeleton is None]
    if missing:
        raise DatasetError(
            f"{len(missing)} manifest rows have no skeleton file (e.g. "
            f"{missing[0]}); run `musclemap data poses MANIFEST --out DIR` first"
        )
    clips = []
    for r in rows:
        seq = load_pose_file(r.skeleton or "")  # every row has one (checked above)
        if not seq.valid.any():
            log.warning("no person in %s; skipped", r.clip_id)
            continue
        clips.append(
            prepare_clip(
                r.clip_id,
                r.activity,
                r.labels,
                seq.world,
                seq.image,
                seq.fps,
                window=window,
                stride=stride,
            )
        )
    kept = {c.clip_id for c in clips}
    return clips, [r for r in rows if r.clip_id in kept]


def _synthetic_clips(n: int, *, window: int, stride: int) -> list[ClipPoses]:
    """Generated squats, curls and presses (smoke runs and tests; no files needed)."""
    from musclemap.demo import synthetic_landmarks

    names = list(SYNTHETIC_LABELS)
    clips = []
    for i in range(n):
        ex = names[i % len(names)]
        world, image = synthetic_landmarks(
            ex, seconds=4.0 + i % 3, period_s=2.0 + 0.3 * (i % 4), seed=i
        )
        clips.append(
            prepare_clip(
                f"synthetic_{i}_{ex}",
                ex,
                to_multi_hot(SYNTHETIC_LABELS[ex]),
                world,
                image,
                10.0,
                window=window,
                stride=stride,
            )
        )
    return clips


def _augment_joints(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random yaw about the vertical axis (camera views vary) and scale jitter. (N, T, V, 4)"""
    n = x.shape[0]
    yaw = (torch.rand(n, generator=gen) - 0.5) * (2 * np.pi / 3)  # +-60 degrees
    c, s = torch.cos(yaw)[:, None, None], torch.sin(yaw)[:, None, None]
    scale = 0.9 + 0.2 * torch.rand(n, 1, 1, generator=gen)
    out = x.clone()
    px, pz = x[..., 0], x[..., 2]
    out[..., 0] = (c * px + s * pz) * scale
    out[..., 1] = x[..., 1] * scale
    out[..., 2] = (-s * px + c * pz) * scale
    return out


def _mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each window with another of the batch (inputs and multi-hot labels alike): new
    activities are often mixtures of known movements, and blending smooths between them."""
    lam = torch.distributions.Beta(alpha, alpha).sample((len(x),))
    lam = torch.maximum(lam, 1 - lam)  # the first window stays dominant
    perm = torch.randperm(len(x), generator=gen)
    shape = (-1,) + (1,) * (x.dim() - 1)
    return lam.view(shape) * x + (1 - lam.view(shape)) * x[perm], (
        lam[:, None] * y + (1 - lam[:, None]) * y[perm]
    )


def _window_tensors(
    clips: list[ClipPoses], kind: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All training windows (both mirrors), their labels and per-window weights (1 per clip)."""
    xs, ys, ws = [], [], []
    for c in clips:
        x = c.stats if kind == "window_stats" else c.joints
        x = x.reshape(-1, *x.shape[2:])
        xs.append(x)
        ys.append(np.repeat(c.labels[None], len(x), 0))
        ws.append(np.full(len(x), 1.0 / len(x)))
    w = np.concatenate(ws)
    return (
        torch.from_numpy(np.concatenate(xs)),
        torch.from_numpy(np.concatenate(ys)),
        torch.from_numpy(w / w.mean()).float(),
    )


def build_window_model(cfg: ExperimentConfig) -> nn.Module:
    return build_model(cfg.model.name, num_classes=NUM_GROUPS, **build_kwargs(cfg))


def train_model(cfg: ExperimentConfig, clips: list[ClipPoses], *, seed: int) -> nn.Module:
    """Train one window model on `clips` (a readable loop: AdamW, cosine LR, weighted BCE)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    kind = input_kind(cfg.model.name)
    model = build_window_model(cfg)
    x, y, w = _window_tensors(clips, kind)
    if isinstance(model, PoseFeatMLP):
        model.set_normalization(x.mean(0), x.std(0))
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )
    steps_per_epoch = max(1, int(np.ceil(len(x) / cfg.train.batch_size)))
    total = cfg.train.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total, eta_min=cfg.optim.min_lr)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    mixup = float(cfg.extra.get("mixup", 0.0))
    model.train()
    for _ in range(cfg.train.epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * cfg.train.batch_size : (i + 1) * cfg.train.batch_size]
            xb = x[idx]
            yb, wb = y[idx], w[idx]
            if kind == "joints":
                xb = _augment_joints(xb, gen)[:, None]  # (B, M=1, T, V, C)
            if mixup > 0:
                xb, yb = _mixup(xb, yb, mixup, gen)
            if isinstance(model, PoseFeatMLP):  # an ensemble: one loss per member
                logits = model.member_logits(xb)  # (B, members, C)
                loss = loss_fn(logits, yb[:, None].expand_as(logits)).mean((1, 2))
            else:
                loss = loss_fn(model(xb), yb).mean(1)
            loss = (loss * wb).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def window_probabilities(model: nn.Module, kind: str, x: np.ndarray) -> np.ndarray:
    """Sigmoid probabilities `(N, 20)` of windows (window statistics or joint windows)."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    if kind == "joints":
        t = t[:, None]  # (N, M=1, T, V, C)
    return torch.sigmoid(model(t)).numpy()


def clip_scores(model: nn.Module, kind: str, clips: list[ClipPoses]) -> dict[str, np.ndarray]:
    """Clip score = mean window probability (unmirrored windows)."""
    out = {}
    for c in clips:
        x = c.stats[0] if kind == "window_stats" else c.joints[0]
        out[c.clip_id] = window_probabilities(model, kind, x).mean(0)
    return out


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


def build_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    kwargs = dict(cfg.model.kwargs)
    if input_kind(cfg.model.name) == "window_stats":
        kwargs.setdefault("in_features", feats.NUM_WINDOW_FEATURES)
    return kwargs


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
