"""Skeleton attribution (gradient x input, integrated gradients) on known-answer models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from musclemap.explain.gradients import pose_attribution
from musclemap.models import build_model
from musclemap.skeleton import COCO17

M, T, V, C = 1, 16, 17, 3


class Joint7Model(nn.Module):
    """Logit 4 depends only on joint 7's x in frames 5..10: sum of w * x^2 (nonlinear)."""

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        x = pose[:, :, 5:11, 7, 0]  # (B, M, 6)
        g = (1.5 * x**2).sum((1, 2))
        out = torch.zeros(pose.shape[0], 20, dtype=pose.dtype)
        out[:, 4] = g
        return out


def _pose(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, M, T, V, C, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("method", ["integrated_gradients", "grad_input"])
def test_attribution_lies_on_joint_7_in_frames_5_to_10(method: str) -> None:
    pose = _pose()
    res = pose_attribution(Joint7Model(), pose, 4, method=method)  # type: ignore[arg-type]
    assert res.values.shape == (2, T, V)
    inside = np.zeros((T, V), dtype=bool)
    inside[5:11, 7] = True
    assert np.abs(res.values[:, ~inside]).max() == 0.0
    x = pose[:, 0, 5:11, 7, 0].numpy()
    # w x^2: gradient x input is 2 w x^2; integrated gradients from 0 is exactly w x^2.
    expected = (2 if method == "grad_input" else 1) * 1.5 * x**2
    np.testing.assert_allclose(res.values[:, 5:11, 7], expected, rtol=1e-5)


def test_integrated_gradients_is_complete_on_a_real_gcn() -> None:
    # A shifted-pose baseline: from zero a fresh ST-GCN (ReLU, zero biases) is linear along the
    # path and any step count would be exact; from here the path crosses ReLU boundaries.
    torch.manual_seed(0)
    model = build_model("stgcn", num_classes=20, layout=COCO17, base_channels=8).double()
    pose = _pose().double()
    baseline = 0.5 * torch.roll(pose, 3, dims=2)

    def gap(steps: int) -> np.ndarray:
        res = pose_attribution(model, pose, 9, steps=steps, baseline=baseline)
        return np.abs(res.delta) / np.abs(res.score - res.baseline_score)

    assert gap(32).max() < 0.02  # the attributions add up to the logit's change
    assert gap(1).max() > 0.1  # one step is far off: the check has teeth


@pytest.mark.parametrize("name", ["stgcn", "ctrgcn", "hdgcn"])
def test_every_skeleton_family_gets_a_joint_time_map(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=20, layout=COCO17, base_channels=8)
    pose = _pose()
    res = pose_attribution(model, pose, 2, method="grad_input")
    assert res.values.shape == (2, T, V) and np.isfinite(res.values).all()
    assert np.abs(res.values).sum() > 0
    with torch.no_grad():
        np.testing.assert_allclose(res.score, model(pose)[:, 2].numpy(), rtol=1e-5, atol=1e-6)


def test_closure_over_a_two_input_model() -> None:
    model = Joint7Model()
    res = pose_attribution(lambda p: model(p) * 2, _pose(), 4, steps=8)
    assert np.abs(res.values[:, 5:11, 7]).sum() > 0


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(ValueError, match=r"\(B, M, T, V, C\)"):
        pose_attribution(Joint7Model(), torch.zeros(T, V, C), 4)
    with pytest.raises(ValueError, match="unknown attribution method"):
        pose_attribution(Joint7Model(), _pose(), 4, method="shap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="baseline shape"):
        pose_attribution(Joint7Model(), _pose(), 4, baseline=torch.zeros(1, 1, T, V, C))
