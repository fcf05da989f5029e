"""Grad-CAM / HiResCAM: known-answer models, and every video family's target layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from musclemap.explain.gradcam import CamTarget, cam_target, grad_cam
from musclemap.models import build_model
from musclemap.skeleton import COCO17

T, H, W = 8, 16, 16


class QuadrantModel(nn.Module):
    """Logit `g` reads only channel `ch[g]` of frame 3's top-left quadrant (by construction).

    Features: a 1x1x1 conv gives two channels, ReLU(x_red - x_blue) and ReLU(x_blue - x_red);
    group 0 sums channel 0 over frame 3, top-left quadrant; group 1 sums channel 1 over frame 5,
    bottom-right quadrant; the other logits are constants.
    """

    cam_layer = "features"

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, 2, 1, bias=False), nn.ReLU())
        with torch.no_grad():
            self.features[0].weight.zero_()
            self.features[0].weight[0, 0] = 1.0
            self.features[0].weight[0, 2] = -1.0
            self.features[0].weight[1, 0] = -1.0
            self.features[0].weight[1, 2] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)  # (B, 2, T, H, W)
        g0 = f[:, 0, 3, : H // 2, : W // 2].sum((1, 2))
        g1 = f[:, 1, 5, H // 2 :, W // 2 :].sum((1, 2))
        rest = torch.zeros(x.shape[0], 18)
        return torch.cat([g0[:, None], g1[:, None], rest], dim=1)


def _mass(cam: np.ndarray, t: int, rows: slice, cols: slice) -> float:
    return float(cam[t, rows, cols].sum() / cam.sum())


def test_hirescam_finds_the_only_pixels_the_logit_reads() -> None:
    torch.manual_seed(0)
    video = torch.rand(1, 3, T, H, W)  # red and blue everywhere, so every position activates
    res = grad_cam(QuadrantModel(), video, 0, method="hirescam")
    assert res.cam.shape == (1, T, H, W)
    assert res.cam.min() >= 0 and res.cam.max() == pytest.approx(1.0)
    # Trilinear upsampling from an equal-size grid is the identity: all mass in the quadrant.
    assert _mass(res.cam[0], 3, slice(0, H // 2), slice(0, W // 2)) == pytest.approx(1.0)


def test_gradcam_follows_the_channel_the_group_reads() -> None:
    # A red patch (channel 0) top-left in frame 3, a blue patch (channel 1) bottom-right in
    # frame 5, grey elsewhere (both channels 0): Grad-CAM's channel weights pick the patch of
    # the channel each group reads, although the weights themselves are global.
    video = torch.full((1, 3, T, H, W), 0.5)
    video[0, 0, 3, :4, :4] = 1.0
    video[0, 2, 5, -4:, -4:] = 1.0
    model = QuadrantModel()
    red = grad_cam(model, video, 0).cam[0]
    blue = grad_cam(model, video, 1).cam[0]
    assert _mass(red, 3, slice(0, 4), slice(0, 4)) == pytest.approx(1.0)
    assert _mass(blue, 5, slice(H - 4, H), slice(W - 4, W)) == pytest.approx(1.0)


def test_no_positive_evidence_is_an_all_zero_map() -> None:
    res = grad_cam(QuadrantModel(), torch.rand(1, 3, T, H, W), 7)  # a constant logit
    assert res.peak[0] == 0 and not res.cam.any()


VIDEO_MODELS = {
    "i3d_test": ((1, 3, 8, 32, 32), "s5", "output"),
    "slowfast_test": ((1, 3, 8, 32, 32), "s5", "output"),
    "swin3d_test": ((1, 3, 4, 32, 32), "layers.1", "output"),
    "mvitv2_test": ((1, 3, 8, 32, 32), "blocks.2", "input"),
}


@pytest.mark.parametrize("name", VIDEO_MODELS)
def test_every_video_family_gets_a_map_over_the_clip(name: str) -> None:
    torch.manual_seed(0)
    shape, module, read = VIDEO_MODELS[name]
    model = build_model(name, num_classes=20)
    assert cam_target(model) == CamTarget(module, read, 1 if read == "input" else 0)
    video = torch.randn(*shape)
    with torch.no_grad():
        logits = model.eval()(video)[0]
    # The top group: with a pooled linear head, its positive logit is positive evidence somewhere.
    group = int(logits.argmax())
    for method in ("gradcam", "hirescam"):
        res = grad_cam(model, video, group, method=method)
        assert res.cam.shape == (1, *shape[2:])
        assert np.isfinite(res.cam).all() and res.cam.min() >= 0
        assert res.peak[0] > 0 and res.cam.max() == pytest.approx(1.0)
        assert res.score[0] == pytest.approx(float(logits[group]), abs=1e-5)


def test_mvit_cam_of_a_batch_is_the_cam_of_each_clip() -> None:
    # float64: a fresh MViT's token maps are tiny (~1e-7) and float32 rounding would dominate.
    torch.manual_seed(0)
    model = build_model("mvitv2_test", num_classes=20).double()
    video = torch.randn(2, 3, 8, 32, 32, dtype=torch.float64)
    res = grad_cam(model, video, 3, method="hirescam")
    single = grad_cam(model, video[1:], 3, method="hirescam")
    # Batching does not mix clips (eval mode: no batch statistics, no dropout).
    np.testing.assert_allclose(res.cam[1], single.cam[0], atol=1e-5)


def test_transm3e_with_and_without_pose() -> None:
    torch.manual_seed(0)
    model = build_model(
        "transm3e",
        num_classes=20,
        receiver="mvitv2_test",
        receiver_input_shape=(3, 8, 32, 32),
        sender="hdgcn",
        sender_kwargs={"layout": COCO17, "base_channels": 8},
        sender_input_shape=(1, 8, 17, 3),
    )
    assert cam_target(model) == CamTarget("receiver.blocks.2", "input", 40)
    video, pose = torch.randn(1, 3, 8, 32, 32), torch.randn(1, 1, 8, 17, 3)
    alone = grad_cam(model, video, 5)
    both = grad_cam(model, video, 5, other=pose)
    assert alone.cam.shape == both.cam.shape == (1, 8, 32, 32)
    assert alone.peak[0] > 0
    with torch.no_grad():
        assert both.score[0] == pytest.approx(float(model(video, pose)[0, 5]), abs=1e-5)


def test_unknown_family_and_bad_hint_are_clear() -> None:
    with pytest.raises(ValueError, match="cam_layer"):
        cam_target(build_model("stgcn", layout=COCO17, base_channels=8))
    model = QuadrantModel()
    model.cam_layer = "nope"
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        grad_cam(model, torch.rand(1, 3, T, H, W), 0)
    with pytest.raises(ValueError, match="unknown CAM method"):
        grad_cam(QuadrantModel(), torch.rand(1, 3, T, H, W), 0, method="lime")  # type: ignore[arg-type]
