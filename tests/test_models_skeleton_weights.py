"""Released ST-GCN / CTR-GCN / HD-GCN checkpoints: reference key names, strict loads, same logits.

The checkpoints are generated here with the references' key names and shapes (from their model
code: yysijie/st-gcn `net/st_gcn.py`, Uason-Chen/CTR-GCN `model/ctrgcn.py`, Jho-Yonsei/HD-GCN
`model/HDGCN.py`), written as `.pt` files and loaded back through the public loader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from musclemap.models import build_model
from musclemap.models.skeleton.weights import (
    checkpoint_family,
    pose_from_reference,
)
from musclemap.models.video.weights import CheckpointError
from musclemap.models.weights import load_pretrained

# (our model kwargs, literal key names of the reference's state dict)
CASES = {
    "stgcn": (
        {"layout": "openpose18", "strategy": "spatial"},
        ["A", "data_bn.running_var", "st_gcn_networks.4.residual.0.weight", "edge_importance.9",
         "st_gcn_networks.0.gcn.conv.weight", "st_gcn_networks.3.tcn.2.weight", "fcn.weight"],
    ),
    "ctrgcn": (
        {"layout": "ntu25", "num_person": 2},
        ["l1.gcn1.PA", "l1.gcn1.alpha", "l1.gcn1.convs.2.conv4.weight", "l5.residual.conv.weight",
         "l10.tcn1.branches.2.4.running_mean", "l1.gcn1.down.0.weight", "fc.weight"],
    ),
    "hdgcn": (
        {"layout": "ntu25", "num_person": 2},
        ["l1.gcn1.PA", "l2.gcn1.aha.edge_conv.conv.0.weight", "l2.gcn1.aha.aggregate.weight",
         "l1.gcn1.conv.5.3.conv.1.running_var", "l1.gcn1.conv_d.3.conv.0.weight",
         "l3.tcn1.branches.1.3.bias", "l8.residual.bn.weight", "fc.bias"],
    ),
}  # fmt: skip
# State-dict sizes of the full reference models (NTU-25 / OpenPose-18, spatial ST-GCN), counted
# from the reference code: every parameter and buffer, HD-GCN's `conv_d` copies included.
REFERENCE_KEYS = {"stgcn": 172, "ctrgcn": 822, "hdgcn": 3017}


pytestmark = pytest.mark.usefixtures("one_thread")


def _randomise(model: nn.Module, seed: int) -> nn.Module:
    """Every parameter and BatchNorm statistic random, so that any misplaced tensor shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return model.eval()


def _reference_state(model: nn.Module, family: str) -> dict[str, torch.Tensor]:
    """`model`'s weights under the reference's key names and shapes."""
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if family == "stgcn":
            key = re.sub(r"^blocks\.(\d+)\.importance$", r"edge_importance.\1", key)
            key = re.sub(r"^blocks\.", "st_gcn_networks.", key).replace("head.", "fcn.")
            if key == "fcn.weight":
                value = value[:, :, None, None]  # a 1x1 Conv2d in the reference
        else:
            key = re.sub(r"^blocks\.(\d+)\.", lambda m: f"l{int(m.group(1)) + 1}.", key)
            key = key.replace(".gcn.", ".gcn1.").replace(".tcn.", ".tcn1.").replace("head.", "fc.")
            key = re.sub(r"gcn1\.pa$", "gcn1.PA", key)
            if family == "hdgcn" and re.search(r"tcn1\.branches\.[01]\.3\.conv\.bias$", key):
                key, value = key.replace(".conv.bias", ".bias"), value[None, :, None, None]
        out[key] = value.clone()
    if family == "stgcn":
        out["A"] = model.blocks[0].a.clone()
    if family == "hdgcn":  # HD_Gconv keeps its loop's last `conv_d` ModuleList as a submodule
        for key in [k for k in out if re.match(r"l\d+\.gcn1\.conv\.5\.", k)]:
            out[key.replace("gcn1.conv.5.", "gcn1.conv_d.")] = out[key]
    return out


def _build(family: str, *, seed: int, **kw: object) -> nn.Module:
    torch.manual_seed(seed)
    kwargs = {**CASES[family][0], "base_channels": 8, "num_classes": 60, **kw}
    return build_model(family, **kwargs)


def _input(model: nn.Module) -> torch.Tensor:
    v, c, m = model.num_joints, model.in_channels, model.num_person
    return torch.randn(2, c, 12, v, m, generator=torch.Generator().manual_seed(1))  # (N,C,T,V,M)


@pytest.mark.parametrize("family", list(CASES))
def test_reference_key_names_and_counts(family: str) -> None:
    with torch.device("meta"):
        model = build_model(family, num_classes=60, **CASES[family][0])
    state = _reference_state(model, family)
    assert set(CASES[family][1]) <= set(state)
    assert len(state) == REFERENCE_KEYS[family]
    assert checkpoint_family(state) == family


@pytest.mark.parametrize("family", list(CASES))
def test_reference_checkpoint_loads_strictly_with_equal_logits(family: str, tmp_path: Path) -> None:
    src = _randomise(_build(family, seed=0), seed=0)
    path = tmp_path / f"{family}.pt"
    # The references save `model.state_dict()` of a DataParallel model: "module." prefixes.
    torch.save({f"module.{k}": v for k, v in _reference_state(src, family).items()}, path)
    dst = _build(family, seed=1).eval()
    report = load_pretrained(dst, path, reinit_head=False)
    assert report.ok and not report.reinitialised
    adapted = {"stgcn": ["head.weight"], "ctrgcn": [], "hdgcn": 20}[family]
    if isinstance(adapted, int):  # HD-GCN's separate biases of the 2 dilated branches x 10 blocks
        assert len(report.adapted) == adapted and all("conv.bias" in k for k in report.adapted)
    else:
        assert report.adapted == adapted
    x = _input(src)
    with torch.no_grad():
        torch.testing.assert_close(dst(pose_from_reference(x)), src(pose_from_reference(x)))


@pytest.mark.parametrize("family", list(CASES))
def test_new_head_by_default(family: str) -> None:
    src = _randomise(_build(family, seed=0), seed=0)
    dst = _build(family, seed=1, num_classes=20).eval()
    report = load_pretrained(dst, _reference_state(src, family))
    assert report.ok and report.reinitialised == ["head.weight", "head.bias"]
    x = pose_from_reference(_input(src))
    with torch.no_grad():
        torch.testing.assert_close(dst.forward_features(x), src.forward_features(x))
        assert dst(x).shape == (2, 20)


def test_mct_tokens_start_fresh() -> None:
    src = _randomise(_build("hdgcn", seed=0), seed=0)
    dst = _build("hdgcn", seed=1, num_cls_tokens=20)
    report = load_pretrained(dst, _reference_state(src, "hdgcn"))
    assert report.ok
    assert any(k.startswith("mct.") for k in report.reinitialised)


def test_wrong_graph_is_refused() -> None:
    # A spatial (reference code) ST-GCN checkpoint into the paper-wording partition: same shapes,
    # another graph; loading it would run the weights on the wrong adjacency.
    state = _reference_state(_build("stgcn", seed=0), "stgcn")
    paper = _build("stgcn", seed=1, strategy="spatial_paper")
    with pytest.raises(CheckpointError, match=r"A \(values differ.*strategy"):
        load_pretrained(paper, state)
    uniform = _build("stgcn", seed=1, strategy="uniform")
    with pytest.raises(CheckpointError, match="mismatched"):
        load_pretrained(uniform, state)


def test_strict_errors_name_the_keys() -> None:
    state = _reference_state(_build("ctrgcn", seed=0), "ctrgcn")
    with pytest.raises(CheckpointError, match="a CTR-GCN checkpoint, but the model is HD-GCN"):
        load_pretrained(_build("hdgcn", seed=0), state)
    del state["l3.gcn1.PA"]
    state["l3.gcn1.extra"] = torch.zeros(1)
    model = _build("ctrgcn", seed=0)
    with pytest.raises(CheckpointError, match=r"1 missing \(blocks\.2\.gcn\.pa\).*l3\.gcn1\.extra"):
        load_pretrained(model, state)
    report = load_pretrained(model, state, strict=False)
    assert report.missing == ["blocks.2.gcn.pa"] and report.unexpected == ["l3.gcn1.extra"]
    one_person = _build("ctrgcn", seed=0, num_person=1)
    with pytest.raises(CheckpointError, match="num_person"):
        load_pretrained(one_person, _reference_state(_build("ctrgcn", seed=0), "ctrgcn"))
    with pytest.raises(CheckpointError, match="no known key names"):
        load_pretrained(model, {"conv.weight": torch.zeros(1)})


def test_our_own_key_names_load_too() -> None:
    src = _randomise(_build("stgcn", seed=0), seed=0)
    dst = _build("stgcn", seed=1).eval()
    report = load_pretrained(dst, src.state_dict(), reinit_head=False)
    assert report.ok and len(report.loaded) == len(dst.state_dict())


def test_generic_loader_dispatches(tmp_path: Path) -> None:
    src = _randomise(_build("ctrgcn", seed=0), seed=0)
    torch.save(_reference_state(src, "ctrgcn"), tmp_path / "ctr.pt")
    report = load_pretrained(_build("ctrgcn", seed=1), tmp_path / "ctr.pt")
    assert report.ok and report.reinitialised == ["head.weight", "head.bias"]
    with pytest.raises(CheckpointError, match="no loader for original checkpoints of Linear"):
        load_pretrained(nn.Linear(2, 2), tmp_path / "ctr.pt")


def test_pose_from_reference() -> None:
    x = torch.arange(2 * 3 * 4 * 5 * 2).reshape(2, 3, 4, 5, 2)  # (N, C, T, V, M)
    y = pose_from_reference(x)
    assert y.shape == (2, 2, 4, 5, 3) and y[1, 1, 2, 3, 0] == x[1, 0, 2, 3, 1]
