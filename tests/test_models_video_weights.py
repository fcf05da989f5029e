"""Checkpoint mapping: files written in the original key layouts load back exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from musclemap.errors import MusclemapError
from musclemap.models import build_model
from musclemap.models.video.resnet3d import ResNet3D
from musclemap.models.video.weights import (
    CheckpointError,
    inflate_resnet2d,
    load_pretrained,
    read_state_dict,
)


def _same_except_head(a: torch.nn.Module, b: torch.nn.Module, head: str) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    for key, value in sa.items():
        if not key.startswith(head):
            assert torch.equal(value, sb[key]), key


def test_pyslowfast_pyth_round_trip_reinitialises_head(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("i3d_test", num_classes=400)
    # PySlowFast's checkpoint layout: DataParallel prefix inside "model_state", cfg as text.
    state = {f"module.{k}": v for k, v in src.state_dict().items()}
    path = tmp_path / "I3D_8x8_R50.pyth"
    torch.save({"epoch": 196, "model_state": state, "cfg": "MODEL:\n  ARCH: i3d\n"}, path)
    dst = build_model("i3d_test", num_classes=20)
    report = load_pretrained(dst, path)
    assert report.ok and not report.adapted
    assert report.reinitialised == ["head.projection.weight", "head.projection.bias"]
    _same_except_head(src, dst, "head.")
    assert dst.head.projection.weight.shape == (20, src.num_features)


def test_mvit_single_cls_token_fills_mct_and_kd_tokens(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("mvitv2_test", num_classes=400)
    path = tmp_path / "MViTv2_S_16x4_k400.pyth"
    torch.save({"model_state": src.state_dict()}, path)
    dst = build_model("mvitv2_test", num_classes=20, num_cls_tokens=20, num_kd_tokens=1)
    report = load_pretrained(dst, path)
    assert sorted(report.adapted) == ["cls_token", "kd_token"]
    assert torch.equal(dst.cls_token[0, 7], src.cls_token[0, 0])
    assert torch.equal(dst.kd_token[0, 0], src.cls_token[0, 0])
    for key, value in src.state_dict().items():
        if key not in ("cls_token",) and not key.startswith("head."):
            assert torch.equal(value, dst.state_dict()[key]), key


def test_video_swin_release_pth_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("swin3d_test", num_classes=400)
    # mmaction2 Recognizer3D layout of the release: "backbone." + "cls_head.fc_cls.".
    state = {}
    for key, value in src.state_dict().items():
        state[
            key.replace("head.fc_cls.", "cls_head.fc_cls.")
            if key.startswith("head.")
            else f"backbone.{key}"
        ] = value
    path = tmp_path / "swin_small_patch244_window877_kinetics400_1k.pth"
    torch.save({"meta": {"epoch": 30, "mmcv_version": "1.3.1"}, "state_dict": state}, path)
    assert "head.fc_cls.weight" in read_state_dict(path)
    dst = build_model("swin3d_test", num_classes=20)
    report = load_pretrained(dst, path)
    assert report.ok and report.reinitialised == ["head.fc_cls.weight", "head.fc_cls.bias"]
    _same_except_head(src, dst, "head.")


def test_rgb_weights_into_flow_model_use_mean_filter(tmp_path: Path) -> None:
    src = build_model("mvitv2_test", num_classes=20)
    path = tmp_path / "rgb.pyth"
    torch.save({"model_state": src.state_dict()}, path)
    dst = build_model("mvitv2_test", num_classes=20, in_channels=2)
    report = load_pretrained(dst, path)
    assert report.adapted == ["patch_embed.proj.weight"]
    mean = src.patch_embed.proj.weight.mean(dim=1)
    assert torch.allclose(dst.patch_embed.proj.weight[:, 1], mean)


def test_mismatch_is_reported_and_strict_raises(tmp_path: Path) -> None:
    path = tmp_path / "i3d.pyth"
    torch.save({"model_state": build_model("i3d_test").state_dict()}, path)
    dst = build_model("slowfast_test")
    with pytest.raises(CheckpointError, match="i3d.pyth"):
        load_pretrained(dst, path)
    report = load_pretrained(dst, path, strict=False)
    assert report.missing and report.mismatched and not report.ok
    assert any(k.startswith("s1_fuse") for k in report.missing)


def test_unreadable_checkpoint_raises_named_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pyth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(MusclemapError, match="broken.pyth"):
        load_pretrained(build_model("i3d_test"), bad)
    with pytest.raises(CheckpointError, match="not found"):
        read_state_dict(tmp_path / "missing.pth")


def _torchvision_key(key: str) -> str:
    """Our C2D key -> torchvision ResNet key, written independently of weights.py."""
    key = key.replace("s1.pathway0_stem.conv.", "conv1.").replace("s1.pathway0_stem.bn.", "bn1.")
    m = re.match(r"s(\d)\.pathway0_res(\d+)\.(.+)$", key)
    if m is None:
        return key.replace("head.projection.", "fc.")
    rest = m.group(3)
    for ours, theirs in (
        ("branch2.a_bn.", "bn1."),
        ("branch2.b_bn.", "bn2."),
        ("branch2.c_bn.", "bn3."),
        ("branch2.a.", "conv1."),
        ("branch2.b.", "conv2."),
        ("branch2.c.", "conv3."),
        ("branch1_bn.", "downsample.1."),
        ("branch1.", "downsample.0."),
    ):
        rest = rest.replace(ours, theirs)
    return f"layer{int(m.group(1)) - 1}.{m.group(2)}.{rest}"


def _resnet2d_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    c2d = ResNet3D(arch="c2d", width=8, depths=(1, 2, 1, 1), num_classes=1000)
    for p in c2d.parameters():
        torch.nn.init.normal_(p)
    out = {}
    for key, value in c2d.state_dict().items():
        out[_torchvision_key(key)] = value.squeeze(2) if value.ndim == 5 else value
    return out


def test_inflate_2d_resnet_into_i3d(tmp_path: Path) -> None:
    state2d = _resnet2d_state(0)
    path = tmp_path / "resnet50_imagenet.pth"
    torch.save(state2d, path)
    i3d = ResNet3D(arch="i3d", width=8, depths=(1, 2, 1, 1))
    report = inflate_resnet2d(i3d, path, strict=True)
    assert report.ok and report.adapted
    stem = i3d.s1.pathway0_stem.conv.weight  # (64/8, 3, 5, 7, 7)
    assert stem.shape[2] == 5
    # A static clip gives the 2D response: the inflated kernel sums to the 2D kernel.
    torch.testing.assert_close(stem.sum(dim=2), state2d["conv1.weight"])
    torch.testing.assert_close(
        i3d.s3.pathway0_res1.branch2.b.weight[:, :, 0], state2d["layer2.1.conv2.weight"]
    )
    assert torch.equal(
        i3d.s2.pathway0_res0.branch1_bn.running_var, state2d["layer1.0.downsample.1.running_var"]
    )


def test_inflate_into_slowfast_reports_fast_pathway_missing() -> None:
    state2d = _resnet2d_state(1)
    sf = ResNet3D(arch="slowfast", width=8, depths=(1, 2, 1, 1))
    report = inflate_resnet2d(sf, state2d)
    assert any("pathway1" in k for k in report.missing)
    # Lateral input channels of the slow pathway start at zero; the 2D part is inflated.
    w = sf.s2.pathway0_res0.branch2.a.weight  # (8, 8 + 2, 1, 1, 1)
    assert torch.equal(w[:, 8:], torch.zeros_like(w[:, 8:]))
    torch.testing.assert_close(w[:, :8, 0], state2d["layer1.0.conv1.weight"])
    with pytest.raises(CheckpointError):
        inflate_resnet2d(sf, state2d, strict=True)
