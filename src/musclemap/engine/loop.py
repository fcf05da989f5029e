"""The training and evaluation loops, readable top to bottom (no runner, no hooks).

Task differences (plain supervised vs. TransM3E with distillation) live in the `compute_loss`
function a task passes in; the loops only run forward/backward/step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from musclemap.data.samples import Batch

# (model, batch on device) -> (loss to minimise, named scalar parts for the logs)
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    step: int = 0  # optimisation steps taken
    best: float = float("-inf")  # best mean validation mAP so far
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EvalResult:
    clip_ids: list[str]
    scores: np.ndarray  # (N, num_classes) sigmoid probabilities, mean over test views
    loss: float


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


def model_inputs(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, ...]:
    """Positional inputs: (video,) or (pose,), plus the second modality of two-branch models."""
    main = batch.video if batch.video is not None else batch.pose
    if main is None:
        raise ValueError("batch has neither video nor pose")
    other_field = getattr(unwrap(model), "other_input", None)
    if other_field is None:
        return (main,)
    other = batch.pose if other_field == "pose" else batch.aux
    return (main,) if other is None else (main, other)


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager:
    """bf16/fp16 autocast on GPU; a no-op on CPU or with amp="none"."""
    if amp == "none" or device.type != "cuda":
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"unknown amp {amp!r} (none, bf16, fp16)")
    return torch.autocast(device_type="cuda", dtype=AMP_DTYPES[amp])


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    *,
    compute_loss: LossFn,
    state: TrainState,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    amp: str = "none",
    accum_steps: int = 1,
    grad_clip: float | None = None,
    max_steps: int = 0,
    on_step: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """One pass over `loader`; returns mean loss parts. Steps every `accum_steps` micro-batches.

    The loss is divided by the number of micro-batches in the step so that accumulated gradients
    equal those of one big batch; DDP all-reduces only on the micro-batch that steps.
    """
    model.train()
    totals: dict[str, float] = {}
    count = 0
    num = len(loader)
    optimizer.zero_grad(set_to_none=True)
    for i, batch in enumerate(loader):
        if max_steps and state.step >= max_steps:
            break
        group_start = i - i % accum_steps
        group_size = min(accum_steps, num - group_start)
        stepping = i - group_start == group_size - 1
        batch = batch.to(device)
        no_sync = getattr(model, "no_sync", None)  # DDP: all-reduce only when stepping
        sync = no_sync() if no_sync is not None and not stepping else contextlib.nullcontext()
        with sync:
            with autocast(device, amp):
                loss, parts = compute_loss(model, batch)
            scaler.scale(loss / group_size).backward()
        for k, v in {"loss": loss, **parts}.items():
            totals[k] = totals.get(k, 0.0) + float(v.detach())
        count += 1
        if not stepping:
            continue
        if grad_clip and grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        if on_step is not None:
            on_step({"loss": float(loss.detach()), "lr": optimizer.param_groups[0]["lr"]})
    return {k: v / max(count, 1) for k, v in totals.items()}


def _multiview(
    inputs: tuple[torch.Tensor, ...], batch: Batch
) -> tuple[tuple[torch.Tensor, ...], int]:
    """Flatten test views (B, V, C, T, H, W) -> (B*V, ...); other inputs repeated per view."""
    video = batch.video
    if video is None or video.ndim != 6:
        return inputs, 1
    b, v = video.shape[:2]
    out = [video.flatten(0, 1)]
    for x in inputs[1:]:
        if x is batch.aux and x.ndim == 6:
            out.append(x.flatten(0, 1))
        else:
            out.append(x.repeat_interleave(v, dim=0))
    return tuple(out), v


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device,
    amp: str = "none",
    criterion: nn.Module | None = None,
) -> EvalResult:
    """Sigmoid scores per clip (mean over test views) and the mean loss on this process's shard."""
    model.eval()
    ids: list[str] = []
    scores: list[np.ndarray] = []
    loss_sum, n = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        inputs, views = _multiview(model_inputs(model, batch), batch)
        with autocast(device, amp):
            logits = model(*inputs).float()  # (B*V, C)
        logits = logits.view(len(batch.clip_ids), views, -1)
        probs = torch.sigmoid(logits).mean(1)  # (B, C)
        if criterion is not None:
            loss_sum += float(criterion(logits.mean(1), batch.labels)) * len(batch.clip_ids)
            n += len(batch.clip_ids)
        ids += batch.clip_ids
        scores.append(probs.cpu().numpy())
    width = scores[0].shape[1] if scores else 0
    return EvalResult(
        ids,
        np.concatenate(scores) if scores else np.zeros((0, width)),
        loss_sum / n if n else float("nan"),
    )
