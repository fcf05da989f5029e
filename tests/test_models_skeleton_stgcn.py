"""ST-GCN, CTR-GCN, HD-GCN: every layout builds, runs forward/backward, counts match references."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model, list_models
from musclemap.skeleton import COCO17, LAYOUTS, MEDIAPIPE33, NTU25, OPENPOSE18

MODELS = ("stgcn", "ctrgcn", "hdgcn")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Many tiny ops: OpenMP threads only add spin-wait overhead on a shared, loaded CPU.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _count(name: str, **kw: object) -> int:
    # Meta device: no memory or init cost, so the full-size table stays fast.
    with torch.device("meta"):
        model = build_model(name, num_classes=20, in_channels=3, **kw)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("stgcn", {"layout": OPENPOSE18}, 2_635_624),
        ("stgcn", {"layout": COCO17}, 2_635_268),
        ("stgcn", {"layout": OPENPOSE18, "strategy": "spatial"}, 3_079_480),
        ("ctrgcn", {"layout": COCO17, "num_person": 2}, 1_426_216),
        ("ctrgcn", {"layout": NTU25, "num_person": 2}, 1_436_392),
        ("hdgcn", {"layout": NTU25, "num_person": 2}, 1_649_700),
    ],
)
def test_parameter_counts_match_references(name: str, kwargs: dict, expected: int) -> None:
    assert abs(_count(name, **kwargs) - expected) <= 0.01 * expected


@pytest.mark.parametrize(("name", "layout"), [("ctrgcn", COCO17), ("hdgcn", NTU25)])
def test_one_person_default_differs_only_by_input_norm(name: str, layout) -> None:
    two = _count(name, layout=layout, num_person=2)
    # BatchNorm1d over M * V * C features: weight + bias per feature.
    assert two - _count(name, layout=layout) == 2 * layout.num_joints * 3


def test_distance_partition_has_one_subset_per_hop() -> None:
    uniform = _count("stgcn", layout=COCO17)
    distance = _count("stgcn", layout=COCO17, strategy="distance", max_hop=1)
    spatial = _count("stgcn", layout=COCO17, strategy="spatial")
    assert uniform < distance < spatial


def test_models_registered() -> None:
    assert set(MODELS) <= set(list_models("*gcn"))


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_every_layout(name: str, layout) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=20, layout=layout, in_channels=3, base_channels=16)
    x = torch.randn(2, 1, 8, layout.num_joints, 3)  # (B, M, T, V, C)
    logits = model(x)
    assert logits.shape == (2, 20)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert not no_grad, no_grad
    model.reset_classifier(5)
    assert model(x).shape == (2, 5)


@pytest.mark.parametrize("name", MODELS)
def test_full_width_mediapipe_3d_input(name: str) -> None:
    model = build_model(name, layout=MEDIAPIPE33, in_channels=3).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 16, 33, 3))
    assert out.shape == (1, 20)


@pytest.mark.parametrize("name", MODELS)
def test_layout_by_name(name: str) -> None:
    # As a user (or a YAML config) writes it: the name of a layout instead of the object.
    by_name = build_model(name, layout="openpose18", base_channels=8)
    assert by_name.num_joints == 18
    assert by_name(torch.randn(1, 1, 8, 18, 3)).shape == (1, 20)
    with pytest.raises(KeyError, match="unknown skeleton layout 'coco18'"):
        build_model(name, layout="coco18", base_channels=8)


def test_two_channel_input_and_multi_person_stgcn() -> None:
    model = build_model("stgcn", layout=COCO17, in_channels=2, base_channels=8)
    assert model(torch.randn(2, 2, 8, 17, 2)).shape == (2, 20)


def test_wrong_input_shapes_raise() -> None:
    model = build_model("ctrgcn", layout=COCO17, base_channels=8)
    with pytest.raises(ValueError, match="joints"):
        model(torch.randn(1, 1, 8, 33, 3))
    with pytest.raises(ValueError, match="num_person"):
        model(torch.randn(1, 2, 8, 17, 3))
    with pytest.raises(TypeError):
        build_model("hdgcn", layuot=COCO17)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("num_kd", [0, 1, 20])
def test_mct_tokens(name: str, num_kd: int) -> None:
    torch.manual_seed(0)
    model = build_model(
        name, layout=COCO17, base_channels=8, num_cls_tokens=20, num_kd_tokens=num_kd
    )
    x = torch.randn(2, 1, 8, 17, 3)
    out = model.forward_tokens(x)
    assert out.cls.shape == (2, 20, 32)
    assert len(out.cls_per_block) == 10
    assert [t.shape[-1] for t in out.cls_per_block] == [8] * 4 + [16] * 3 + [32] * 3
    assert out.reduction_blocks == (4, 7, 9)
    if num_kd:
        assert out.kd is not None and out.kd.shape == (2, num_kd, 32)
        assert len(out.kd_per_block) == 10
        # A distillation loss on intermediate KD tokens reaches the initial KD tokens.
        out.kd_per_block[4].pow(2).sum().backward()
        assert model.mct.kd_init.grad is not None and model.mct.kd_init.grad.abs().sum() > 0
    else:
        assert out.kd is None and out.kd_per_block == []
    model.zero_grad()
    # forward = head(mean of cls tokens); gradients reach the cls tokens and every mixer.
    logits = model(x)
    assert torch.allclose(logits, model.head(out.cls.mean(1)), atol=1e-5)
    logits.sum().backward()
    assert model.mct.cls_init.grad.abs().sum() > 0
    for mixer in model.mct.mixers:
        assert mixer.pm.weight.grad is not None and mixer.ps_nodes.weight.grad is not None


def test_forward_tokens_needs_mct() -> None:
    model = build_model("stgcn", layout=COCO17, base_channels=8)
    with pytest.raises(RuntimeError, match="num_cls_tokens"):
        model.forward_tokens(torch.randn(1, 1, 8, 17, 3))
    with pytest.raises(ValueError, match="num_cls_tokens"):
        build_model("stgcn", layout=COCO17, num_kd_tokens=20)
