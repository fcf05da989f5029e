"""Per-joint, per-time attribution of a skeleton model: gradient x input, integrated gradients.

Input pose `(B, M, T, V, C)` (ST-GCN / CTR-GCN / HD-GCN, TransM3E's pose branch through a
closure). Output `(B, T, V)`: the attribution of each joint at each frame, summed over its
channels and the persons. Signed: positive = this joint's coordinates raise the group's logit
relative to the baseline, negative = they lower it.

- "grad_input": gradient x input (Shrikumar et al. 2016), one backward pass; exact for a model
  linear in its input, a first-order estimate otherwise.
- "integrated_gradients" (Sundararajan et al. 2017): `(x - x0) * mean_k grad f(x0 + a_k (x - x0))`
  over `steps` midpoints `a_k`. Its sum over all inputs approaches `f(x) - f(x0)` (completeness);
  `AttributionResult.delta` reports the gap. The default baseline is all zeros: every joint at
  the origin, which the skeleton pipeline's normalisation puts at the hip centre, i.e. "no pose".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

Method = Literal["integrated_gradients", "grad_input"]
METHODS: tuple[str, ...] = ("integrated_gradients", "grad_input")


@dataclass
class AttributionResult:
    values: np.ndarray  # (B, T, V) signed attribution per frame and joint
    score: np.ndarray  # (B,) the group's logit at the input
    baseline_score: np.ndarray  # (B,) at the baseline (integrated gradients; else NaN)
    delta: np.ndarray  # (B,) completeness gap: values.sum - (score - baseline_score)


def _group_logit(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, group: int):
    return model(x)[:, group]  # (B,)


def pose_attribution(
    model: Callable[[torch.Tensor], torch.Tensor],
    pose: torch.Tensor,
    group: int,
    *,
    method: Method = "integrated_gradients",
    steps: int = 32,
    baseline: torch.Tensor | None = None,
) -> AttributionResult:
    """Joint x time attribution of muscle group `group` for each pose clip.

    Args:
        model: A skeleton model, or any callable mapping pose `(B, M, T, V, C)` to logits
            `(B, num_classes)` (e.g. `lambda p: transm3e(video, p)`). nn.Modules are put in eval.
        pose: Model input `(B, M, T, V, C)`.
        group: Logit index (taxonomy order).
        method: "integrated_gradients" or "grad_input".
        steps: Integration steps (integrated gradients).
        baseline: Reference input of `pose`'s shape; default zeros.
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose {', '.join(METHODS)}")
    if pose.ndim != 5:
        raise ValueError(f"expected pose (B, M, T, V, C), got shape {tuple(pose.shape)}")
    if steps < 1:
        raise ValueError("steps must be >= 1")
    if isinstance(model, nn.Module):
        model.eval()
    x = pose.detach()
    x0 = torch.zeros_like(x) if baseline is None else baseline.detach().to(x)
    if x0.shape != x.shape:
        raise ValueError(f"baseline shape {tuple(x0.shape)} differs from pose {tuple(x.shape)}")
    with torch.no_grad():
        score = _group_logit(model, x, group)
    nan = torch.full_like(score, float("nan"))
    if method == "grad_input":
        grad = _gradient(model, x, group)
        attr, base_score = grad * x, nan
    else:
        grad = torch.zeros_like(x)
        for k in range(steps):
            alpha = (k + 0.5) / steps  # midpoint rule
            grad += _gradient(model, x0 + alpha * (x - x0), group)
        attr = (x - x0) * grad / steps
        with torch.no_grad():
            base_score = _group_logit(model, x0, group)
    values = attr.sum(dim=(1, 4))  # (B, T, V): channels and persons
    delta = values.flatten(1).sum(1) - (score - base_score)
    return AttributionResult(
        values=values.detach().cpu().numpy(),
        score=score.cpu().numpy(),
        baseline_score=base_score.cpu().numpy(),
        delta=delta.detach().cpu().numpy(),
    )


def _gradient(
    model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, group: int
) -> torch.Tensor:
    point = x.clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(_group_logit(model, point, group).sum(), point)
    return grad
