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
    load_state_dict_mapped,
    read_state_dict,
)
from musclemap.models.weights import load_pretrained


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
    assert report.details == {
        "cls_token": "token repeated (1, 1, 16) -> (1, 20, 16)",
        "kd_token": "copied from cls_token",
    }
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


def test_model_without_video_mapping_raises_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "x.pyth"
    torch.save({"model_state": {"weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(CheckpointError, match="no video checkpoint mapping for Linear"):
        load_state_dict_mapped(torch.nn.Linear(2, 2), read_state_dict(path))


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
    assert report.details["s1.pathway0_stem.conv.weight"] == (
        "inflated over 5 frames (8, 3, 7, 7) -> (8, 3, 5, 7, 7)"
    )
    assert set(report.details) == set(report.adapted)
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


def _mvitv2_release_shapes(
    depth: int, pooled: tuple[int, ...], frames: int, crop: int, classes: int = 400
) -> dict[str, tuple[int, ...]]:
    """Every tensor of a released PySlowFast MViTv2 checkpoint, derived from its yaml (EMBED_DIM
    96, NUM_HEADS 1, DIM_MUL = HEAD_MUL = 2 and POOL_Q_STRIDE (1, 2, 2) at `pooled`,
    POOL_KV_STRIDE_ADAPTIVE (1, 8, 8), kernels 3x3x3, QKV_BIAS, MLP_RATIO 4, DIM_MUL_IN_ATT,
    REL_POS_SPATIAL/TEMPORAL) and attention.py's table sizes: 2 * max(q, kv) - 1 rows from the
    block's input size floor-divided by its strides; temporal 2 * T - 1."""
    dim, heads, kv = 96, 1, [1, 8, 8]
    t, size = frames // 2, crop // 4
    shapes: dict[str, tuple[int, ...]] = {
        "patch_embed.proj.weight": (96, 3, 3, 7, 7),
        "patch_embed.proj.bias": (96,),
        "cls_token": (1, 1, 96),
    }
    for i in range(depth):
        q = 2 if i in pooled else 1
        heads *= q
        kv = [max(s // st, 1) for s, st in zip(kv, (1, q, q), strict=True)]
        out, head_dim = dim * q, dim * q // heads
        p = f"blocks.{i}."
        shapes |= {p + "norm1.weight": (dim,), p + "norm1.bias": (dim,)}
        shapes |= {p + "attn.qkv.weight": (3 * out, dim), p + "attn.qkv.bias": (3 * out,)}
        shapes |= {p + "attn.proj.weight": (out, out), p + "attn.proj.bias": (out,)}
        for n in "qkv":
            shapes[p + f"attn.pool_{n}.weight"] = (head_dim, 1, 3, 3, 3)
            shapes |= {
                p + f"attn.norm_{n}.weight": (head_dim,),
                p + f"attn.norm_{n}.bias": (head_dim,),
            }
        rows = 2 * max(size // q, size // kv[1]) - 1
        shapes |= {p + "attn.rel_pos_h": (rows, head_dim), p + "attn.rel_pos_w": (rows, head_dim)}
        shapes[p + "attn.rel_pos_t"] = (2 * t - 1, head_dim)
        shapes |= {p + "norm2.weight": (out,), p + "norm2.bias": (out,)}
        shapes |= {p + "mlp.fc1.weight": (4 * out, out), p + "mlp.fc1.bias": (4 * out,)}
        shapes |= {p + "mlp.fc2.weight": (out, 4 * out), p + "mlp.fc2.bias": (out,)}
        if q > 1:
            shapes |= {p + "proj.weight": (out, dim), p + "proj.bias": (out,)}
        size //= q
        dim = out
    shapes |= {"norm.weight": (dim,), "norm.bias": (dim,)}
    return shapes | {"head.projection.weight": (classes, dim), "head.projection.bias": (classes,)}


MVIT_RELEASES = {  # name -> (yaml, depth, pooled blocks, NUM_FRAMES, crop)
    "mvitv2_s": ("MVITv2_S_16x4", 16, (1, 3, 14), 16, 224),
    "mvitv2_b": ("MVITv2_B_32x3", 24, (2, 5, 21), 32, 224),
}


@pytest.mark.parametrize("name", sorted(MVIT_RELEASES))
def test_released_mvitv2_checkpoint_loads_strictly_into_default_model(
    name: str, tmp_path: Path
) -> None:
    yaml, depth, pooled, frames, crop = MVIT_RELEASES[name]
    shapes = _mvitv2_release_shapes(depth, pooled, frames, crop)
    gen = torch.Generator().manual_seed(0)
    state = {
        k: torch.randn(s, generator=gen) if "rel_pos" in k else torch.zeros(s)
        for k, s in shapes.items()
    }
    path = tmp_path / f"{yaml}_k400.pyth"
    torch.save({"model_state": state}, path)
    model = build_model(name, num_classes=20)  # defaults: the release's geometry
    report = load_pretrained(model, path)  # strict
    assert report.ok and not report.adapted
    assert len(report.loaded) == len(shapes) - 2
    assert torch.equal(
        model.blocks[depth - 1].attn.rel_pos_t, state[f"blocks.{depth - 1}.attn.rel_pos_t"]
    )
    if name == "mvitv2_b":
        # The benchmark's 16-frame B: the 32x3 tables are resampled to 16 frames and reported.
        b16 = build_model(name, num_classes=20, num_frames=16)
        report = load_pretrained(b16, path)
        assert report.ok and report.adapted == [f"blocks.{i}.attn.rel_pos_t" for i in range(24)]
        assert report.details["blocks.0.attn.rel_pos_t"] == (
            "linear interpolation (31, 96) -> (15, 96)"
        )
        expected = torch.nn.functional.interpolate(
            state["blocks.3.attn.rel_pos_t"].t()[None], size=15, mode="linear"
        )[0].t()
        torch.testing.assert_close(b16.blocks[3].attn.rel_pos_t, expected)


# Tensors whose shapes carry each release's geometry (temporal kernels, fusion, windows), from
# the PySlowFast Kinetics yamls (C2D/I3D/SLOW/SLOWFAST_8x8_R50: _TEMPORAL_KERNEL_BASIS, alpha 4,
# beta 1/8, FUSION_CONV_CHANNEL_RATIO 2, FUSION_KERNEL_SZ 7) and the Video Swin release configs
# (patch 2x4x4, window 8x7x7: (2*8-1)(2*7-1)^2 bias rows per head), with 400 classes.
RELEASE_GEOMETRY: dict[str, dict[str, tuple[int, ...]]] = {
    "c2d_r50": {
        "s1.pathway0_stem.conv.weight": (64, 3, 1, 7, 7),
        "s4.pathway0_res0.branch2.a.weight": (256, 512, 1, 1, 1),
        "head.projection.weight": (400, 2048),
    },
    "i3d_r50": {
        "s1.pathway0_stem.conv.weight": (64, 3, 5, 7, 7),
        "s3.pathway0_res1.branch2.a.weight": (128, 512, 1, 1, 1),
        "s4.pathway0_res2.branch2.a.weight": (256, 1024, 3, 1, 1),
        "s5.pathway0_res1.branch2.a.weight": (512, 2048, 3, 1, 1),
    },
    "slow_r50": {
        "s1.pathway0_stem.conv.weight": (64, 3, 1, 7, 7),
        "s3.pathway0_res0.branch2.a.weight": (128, 256, 1, 1, 1),
        "s4.pathway0_res0.branch2.a.weight": (256, 512, 3, 1, 1),
    },
    "slowfast_r50": {
        "s1.pathway1_stem.conv.weight": (8, 3, 5, 7, 7),
        "s1_fuse.conv_f2s.weight": (16, 8, 7, 1, 1),
        "s2.pathway0_res0.branch2.a.weight": (64, 80, 1, 1, 1),
        "s4_fuse.conv_f2s.weight": (256, 128, 7, 1, 1),
        "head.projection.weight": (400, 2304),
    },
    "swin3d_s": {
        "patch_embed.proj.weight": (96, 3, 2, 4, 4),
        "layers.0.blocks.1.attn.relative_position_bias_table": (2535, 3),
        "layers.2.blocks.17.attn.relative_position_index": (392, 392),
        "layers.3.blocks.1.attn.relative_position_bias_table": (2535, 24),
        "head.fc_cls.weight": (400, 768),
    },
    "swin3d_b": {
        "patch_embed.proj.weight": (128, 3, 2, 4, 4),
        "layers.3.blocks.1.attn.relative_position_bias_table": (2535, 32),
        "head.fc_cls.weight": (400, 1024),
    },
    "mvitv2_s": _mvitv2_release_shapes(16, (1, 3, 14), 16, 224),
    "mvitv2_b": _mvitv2_release_shapes(24, (2, 5, 21), 32, 224),
}


@pytest.mark.parametrize("name", sorted(RELEASE_GEOMETRY))
def test_named_video_model_defaults_have_release_geometry(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name, num_classes=400)
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for key, shape in RELEASE_GEOMETRY[name].items():
        assert own[key] == shape, key
