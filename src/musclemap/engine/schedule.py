"""Learning-rate schedules per optimisation step: linear warm-up then cosine (or constant)."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def lr_factor(
    step: int, *, total_steps: int, warmup_steps: int, min_ratio: float, kind: str = "cosine"
) -> float:
    """Multiplier of the base learning rate at optimisation step `step` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if kind == "constant":
        return 1.0
    if kind != "cosine":
        raise ValueError(f"unknown scheduler {kind!r} (cosine, constant)")
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    kind: str,
    total_steps: int,
    warmup_steps: int,
    base_lr: float,
    min_lr: float,
) -> LambdaLR:
    """A LambdaLR stepped once per optimisation step."""
    lr_factor(0, total_steps=total_steps, warmup_steps=0, min_ratio=0.0, kind=kind)  # validate
    ratio = min_lr / base_lr if base_lr > 0 else 0.0

    def factor(step: int) -> float:
        return lr_factor(
            step, total_steps=total_steps, warmup_steps=warmup_steps, min_ratio=ratio, kind=kind
        )

    return LambdaLR(optimizer, factor)
