"""3D ResNet family: parameter counts (meta device), forward/backward on tiny variants."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.models.video.resnet3d import ResNet3D

# Measured from PySlowFast (8x8 configs) with 20 classes.
REFERENCE_PARAMS = {
    "c2d_r50": 23_549_012,
    "i3d_r50": 27_264_852,
    "slow_r50": 31_675_476,
    "slowfast_r50": 33_690_588,
}


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_parameter_count_matches_reference(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name, num_classes=20, in_channels=3)
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - REFERENCE_PARAMS[name]) / REFERENCE_PARAMS[name] < 0.01
    assert count == REFERENCE_PARAMS[name]  # the layout is PySlowFast's, exactly


@pytest.mark.parametrize("arch", ["c2d", "i3d", "slow", "slowfast"])
def test_tiny_forward_backward_every_parameter_gets_gradient(arch: str) -> None:
    torch.manual_seed(0)
    model = ResNet3D(arch=arch, num_classes=5, width=8, depths=(1, 1, 1, 1))
    x = torch.randn(2, 3, 8, 32, 32)  # (B, C, T, H, W)
    logits = model(x)
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()
    logits.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_slowfast_takes_both_pathways_from_one_clip() -> None:
    model = build_model("slowfast_test", num_classes=4)
    x = torch.arange(16, dtype=torch.float32).view(1, 1, 16, 1, 1).expand(1, 3, 16, 2, 2)
    slow, fast = model.pathways(x)
    assert fast.shape[2] == 16 and slow.shape[2] == 4  # T / alpha
    assert slow[0, 0, :, 0, 0].tolist() == [0.0, 5.0, 10.0, 15.0]  # evenly spread over the clip
    with pytest.raises(ValueError, match="alpha"):
        model.pathways(torch.zeros(1, 3, 2, 8, 8))


@pytest.mark.parametrize("frames", [6, 17, 18])
def test_slowfast_clip_length_not_a_multiple_of_alpha_is_one_clear_error(frames: int) -> None:
    # Fast steps after the alpha-strided lateral conv: ceil(T / 4); slow frames: T // 4.
    model = build_model("slowfast_test").eval()
    with pytest.raises(ValueError, match=f"multiple of alpha=4, got {frames}"):
        model(torch.zeros(1, 3, frames, 32, 32))
    assert model(torch.zeros(1, 3, 20, 32, 32)).shape == (1, 20)


def test_single_pathway_clip_shorter_than_temporal_pool_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="i3d needs at least 2 frames, got 1"):
        build_model("i3d_test").eval()(torch.zeros(1, 3, 1, 32, 32))
    slow = ResNet3D(arch="slow", width=8, depths=(1, 1, 1, 1)).eval()  # no temporal pool
    assert slow(torch.zeros(1, 3, 1, 32, 32)).shape == (1, 20)


def test_flow_input_channels_and_reset_classifier() -> None:
    model = build_model("i3d_test", num_classes=20, in_channels=2)
    model.eval()
    assert model(torch.randn(1, 2, 4, 32, 32)).shape == (1, 20)
    model.reset_classifier(7)
    assert model(torch.randn(1, 2, 4, 32, 32)).shape == (1, 7)


def test_unknown_kwarg_is_rejected_at_build_time() -> None:
    with pytest.raises(TypeError):
        build_model("c2d_r50", num_classes=20, not_a_kwarg=1)
