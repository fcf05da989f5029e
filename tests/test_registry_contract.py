"""The contract of every registered model (`list_models()`).

Each model builds with its defaults (only `num_classes` given; the TransM3E ablations and late-
fusion modes on tiny backbones, see TINY), runs forward on a small input to finite
`(2, num_classes)` logits, gives every parameter a gradient, `reset_classifier` changes the output
width, and its parameter count equals the reference implementation's where a reference count
exists. A model registered without an input rule below fails here, so none escapes the
contract. Names starting with "_" are test-only registrations (tests/test_models_registry.py).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from musclemap.models import build_model, list_models
from musclemap.models.late_fusion import LateFusion
from musclemap.models.pose.keypose_mlp import KeyPoseMLP
from musclemap.models.skeleton.backbone import SkeletonBackbone
from musclemap.models.transm3e import TransM3E, TransM3EOutput
from musclemap.models.video.mvit import MViT
from musclemap.models.video.resnet3d import ResNet3D
from musclemap.models.video.swin3d import SwinTransformer3D

# Parameters of the defaults with 20 classes, as counted from the reference implementations
# (docs/video_models.md, docs/skeleton_models.md). CTR-GCN: the reference's 1,426,216 on COCO-17
# sizes its input BatchNorm for two persons; our default of one has 2 * 17 * 3 fewer. Not listed:
# HD-GCN on COCO-17 (the reference only builds NTU-25: tests/test_models_skeleton_hdgcn.py), the
# TransM3E family (no public code), the `*_test` sizes and musclemap's own pose models. mvitv2_b's
# default clip length follows its released 32x3 checkpoint (tests/test_models_video_mvit.py).
REFERENCE_PARAMS = {
    "c2d_r50": 23_549_012,
    "i3d_r50": 27_264_852,
    "slow_r50": 31_675_476,
    "slowfast_r50": 33_690_588,
    "mvitv2_s": 34_245_524,
    "mvitv2_b": 50_937_908,  # 32x3 geometry (51.2M with the 400-class Kinetics head)
    "swin3d_s": 49_524_458,
    "swin3d_b": 87_659_484,
    "stgcn": 2_635_268,
    "ctrgcn": 1_426_216 - 2 * 17 * 3,
}
NAMES = [n for n in list_models() if not n.startswith("_")]
VIDEO = (ResNet3D, MViT, SwinTransformer3D)
# The TransM3E ablations and the other late-fusion modes share the full-size backbones checked
# with `transm3e`, `transm3e_rgbdiff` and `late_fusion_sum`; to keep the contract fast they run on
# tiny backbones (their own defaults otherwise): a full-size TransM3E costs ~5-10 s to build and
# run on a CPU.
FULL_SIZE = {"transm3e", "transm3e_rgbdiff", "late_fusion_sum"}
TINY = {
    "receiver": "mvitv2_test",
    "receiver_input_shape": (3, 4, 32, 32),
    "sender_kwargs": {"base_channels": 8},
}
SLOW = FULL_SIZE | {"swin3d_b"}


def _kwargs(name: str) -> dict:
    composite = name.startswith(("transm3e", "late_fusion"))
    return dict(TINY) if composite and name not in FULL_SIZE else {}


pytestmark = pytest.mark.usefixtures("one_thread")


def _video(model: nn.Module) -> torch.Tensor:
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv3d))
    return torch.randn(2, conv.in_channels, 8, 32, 32)  # (B, C, T, H, W)


def _pose(model: nn.Module) -> torch.Tensor:
    m = getattr(model, "num_person", 1)
    return torch.randn(2, m, 8, model.num_joints, model.in_channels)  # (B, M, T, V, C)


def _inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    if isinstance(model, TransM3E | LateFusion):
        other = model.sender
        assert other is not None
        return _video(model.receiver), (
            _pose(other) if model.other_input == "pose" else _video(other)
        )
    if isinstance(model, SkeletonBackbone):
        return (_pose(model),)
    if isinstance(model, KeyPoseMLP):
        return (torch.randn(2, model.in_features),)
    if isinstance(model, VIDEO):
        return (_video(model),)
    pytest.fail(f"no contract input for {type(model).__name__}: add a rule to {__file__}")


def _loss(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    if isinstance(model, TransM3E):  # the training path: both heads and the distillation loss
        out = model(*inputs, with_losses=True)
        assert isinstance(out, TransM3EOutput)
        return out.logits.sum() + out.kd_loss
    return model(*inputs).sum()


def test_every_model_is_covered() -> None:
    assert {"stgcn", "ctrgcn", "hdgcn", "mvitv2_s", "transm3e"} <= set(NAMES)
    assert set(REFERENCE_PARAMS) <= set(NAMES)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NAMES]
)
def test_contract(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=20, **_kwargs(name))
    if name in REFERENCE_PARAMS:
        assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[name]
    model.train()
    inputs = _inputs(model)
    logits = model(*inputs)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 20)
    assert torch.isfinite(logits).all()
    _loss(model, inputs).backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f"parameters without a gradient: {no_grad[:5]}"
    model.reset_classifier(5)
    with torch.no_grad():
        assert model.eval()(*inputs).shape == (2, 5)


def test_transm3e_sender_input_follows_its_layout() -> None:
    # The default sender shape comes from the sender's own layout (it was fixed at 33 joints).
    model = build_model("transm3e", **{**TINY, "sender_kwargs": {"layout": "mediapipe33"}})
    pose = torch.randn(2, 1, 8, 33, 3)
    assert model(torch.randn(2, 3, 4, 32, 32), pose).shape == (2, 20)
    with pytest.raises(ValueError, match="input shape of a MViT sender"):
        build_model("transm3e", **{**TINY, "sender": "mvitv2_test", "sender_kwargs": None})
