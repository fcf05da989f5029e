"""Windows of poses for the predict command's models: clip data and the training loop.

Two model families read the same windows (`cfg.data.window` frames at `extra.fps`, stride
`extra.stride`): "window_stats" models (`posefeat_mlp`) see biomechanical statistics of the
window, "joints" models (`pose_tcn`) see normalised joint coordinates. Every clip is kept with its
left/right mirror (bilateral labels). A clip's score is the mean of its windows' probabilities.
Used by `musclemap.engine.pose_train` (task "pose_default": evaluation, selection, export).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from musclemap.config import ExperimentConfig, resolve_path
from musclemap.errors import ConfigError
from musclemap.models import build_model
from musclemap.models.pose.posefeat import PoseFeatMLP
from musclemap.pose import features as feats
from musclemap.taxonomy import NUM_GROUPS, to_multi_hot

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
    views = [(world, image), feats.flip_landmarks(world, image)]  # original, mirrored
    stats, joints = (
        np.stack(
            [
                feats.window_inputs(w, i, fps, window=window, stride=stride, kind=kind)[1]
                for w, i in views
            ]
        )
        for kind in ("window_stats", "joints")
    )
    return ClipPoses(
        clip_id,
        activity,
        labels.astype(np.float32),
        stats,
        joints,
        feats.baseline_clip_features(world, fps),
    )


def load_clips(cfg: ExperimentConfig) -> tuple[list[ClipPoses], list[Any]]:
    """Clips (poses + windows) and their manifest rows, from `cfg.data.manifest` or synthetic."""
    window, stride = cfg.data.window, int(cfg.extra.get("stride", 8))
    if cfg.data.synthetic:
        return _synthetic_clips(cfg.data.synthetic_clips, window=window, stride=stride), []
    from musclemap.data.manifest import read_manifest, require_files
    from musclemap.pose.base import load_pose_file

    rows = read_manifest(resolve_path(cfg, cfg.data.manifest))
    require_files(rows, "skeleton")  # every missing pose file at once, before any work
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
def window_probabilities(
    model: nn.Module, kind: str, x: np.ndarray, *, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Sigmoid probabilities `(N, 20)` of windows (window statistics or joint windows)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device)
    if kind == "joints":
        t = t[:, None]  # (N, M=1, T, V, C)
    return torch.sigmoid(model(t)).cpu().numpy()


def clip_scores(model: nn.Module, kind: str, clips: list[ClipPoses]) -> dict[str, np.ndarray]:
    """Clip score = mean window probability (unmirrored windows)."""
    out = {}
    for c in clips:
        x = c.stats[0] if kind == "window_stats" else c.joints[0]
        out[c.clip_id] = window_probabilities(model, kind, x).mean(0)
    return out


def build_kwargs(cfg: ExperimentConfig) -> dict[str, Any]:
    kwargs = dict(cfg.model.kwargs)
    if input_kind(cfg.model.name) == "window_stats":
        kwargs.setdefault("in_features", feats.NUM_WINDOW_FEATURES)
    return kwargs
