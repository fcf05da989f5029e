"""Released checkpoints of the original skeleton repositories: ST-GCN, CTR-GCN, HD-GCN.

Nothing is downloaded. `load_skeleton_state(model, read_state_dict(path))` (what
`musclemap.models.weights.load_pretrained` runs for a skeleton model) maps a local `.pt` of
yysijie/st-gcn, Uason-Chen/CTR-GCN or Jho-Yonsei/HD-GCN onto our model of the same family, strictly,
and returns the video loaders' `LoadReport` (every key loaded, adapted, re-initialised, missing,
unexpected or mismatched). Their key names:

- ST-GCN (`net/st_gcn.py`): `data_bn`, `st_gcn_networks.{i}.{gcn.conv, tcn.*, residual.*}`,
  `edge_importance.{i}`, `fcn` (a 1x1 convolution) and `A`, the partitioned graph buffer. Our
  graph is computed, not stored, so `A` is compared with it instead: a checkpoint trained on
  another layout or partition strategy is refused rather than silently run on the wrong graph.
- CTR-GCN (`model/ctrgcn.py`): `data_bn`, `l{n}.gcn1.*` (`PA`, `alpha`, `convs`, `down`, `bn`),
  `l{n}.tcn1.branches.*`, `l{n}.residual.{conv,bn}`, `fc`.
- HD-GCN (`model/HDGCN.py`): as CTR-GCN, with `gcn1.{PA (L, 3, V, V), conv_down, conv, aha}` and
  the temporal convolutions' bias kept apart as `tcn1.branches.{b}.3.bias` (1, C, 1, 1) (ours is
  the convolution's own bias: the same sum).

The references take input `(N, C, T, V, M)`, ours `(B, M, T, V, C)`: `pose_from_reference`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

import torch
from torch import nn

from musclemap.models.skeleton.backbone import SkeletonBackbone
from musclemap.models.skeleton.ctrgcn import CTRGCNUnit, TCNGCNBlock
from musclemap.models.skeleton.hdgcn import HDGConv
from musclemap.models.skeleton.stgcn import STGCNBlock
from musclemap.models.video.weights import CheckpointError, LoadReport

FAMILIES = ("stgcn", "ctrgcn", "hdgcn")
_NAMES = {"stgcn": "ST-GCN", "ctrgcn": "CTR-GCN", "hdgcn": "HD-GCN", "musclemap": "musclemap"}
# Modules with no counterpart in the references: the classifier (new label set unless kept) and
# the multi-classification tokens of our MCT variant.
_HEAD = "head."
_NEW = "mct."


def pose_from_reference(x: torch.Tensor) -> torch.Tensor:
    """The references' input `(N, C, T, V, M)` as ours `(N, M, T, V, C)`."""
    if x.dim() != 5:
        raise ValueError(f"expected (N, C, T, V, M), got shape {tuple(x.shape)}")
    return x.permute(0, 4, 2, 3, 1)


def model_family(model: nn.Module) -> str:
    """ "stgcn", "ctrgcn" or "hdgcn" for one of our skeleton models."""
    if isinstance(model, SkeletonBackbone) and len(model.blocks):
        first = model.blocks[0]
        if isinstance(first, STGCNBlock):
            return "stgcn"
        if isinstance(first, TCNGCNBlock) and isinstance(first.gcn, HDGConv):
            return "hdgcn"
        if isinstance(first, TCNGCNBlock) and isinstance(first.gcn, CTRGCNUnit):
            return "ctrgcn"
    raise TypeError(f"{type(model).__name__} is not an ST-GCN, CTR-GCN or HD-GCN model")


def checkpoint_family(state: Mapping[str, torch.Tensor]) -> str:
    """The repository a state dict comes from, by its key names ("musclemap": ours)."""
    keys = list(state)
    if any(k.startswith("st_gcn_networks.") for k in keys):
        return "stgcn"
    if any(re.match(r"l\d+\.gcn1\.conv_down\.", k) for k in keys):
        return "hdgcn"
    if any(re.match(r"l\d+\.gcn1\.convs\.", k) for k in keys):
        return "ctrgcn"
    if any(k.startswith("blocks.") for k in keys):
        return "musclemap"
    raise CheckpointError("not an ST-GCN, CTR-GCN or HD-GCN checkpoint (no known key names)")


def reference_key(key: str, family: str) -> str:
    """Our key for a reference key (unchanged when nothing applies; then reported unexpected)."""
    if family == "stgcn":
        if m := re.match(r"edge_importance\.(\d+)$", key):
            return f"blocks.{m.group(1)}.importance"
        key = re.sub(r"^st_gcn_networks\.(\d+)\.", r"blocks.\1.", key)
        return re.sub(r"^fcn\.", _HEAD, key)
    if family in ("ctrgcn", "hdgcn"):
        if m := re.match(r"l(\d+)\.(.+)$", key):
            rest = m.group(2).replace("gcn1.", "gcn.", 1).replace("tcn1.", "tcn.", 1)
            rest = re.sub(r"^gcn\.PA$", "gcn.pa", rest)
            if family == "hdgcn":  # TemporalConv's separate bias -> its convolution's bias
                rest = re.sub(r"^(tcn\.branches\.\d+\.3)\.bias$", r"\1.conv.bias", rest)
            return f"blocks.{int(m.group(1)) - 1}.{rest}"
        return re.sub(r"^fc\.", _HEAD, key)
    return key


def _adapt(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor | None:
    # Same values, another shape: ST-GCN's 1x1-conv classifier, HD-GCN's (1, C, 1, 1) biases.
    if src.numel() == dst.numel() and src.squeeze().shape == dst.squeeze().shape:
        return src.reshape(dst.shape)
    return None


def _check_graph(model: SkeletonBackbone, graph: torch.Tensor, report: LoadReport) -> None:
    own: torch.Tensor = model.blocks[0].a  # type: ignore[assignment]  # a registered buffer
    if graph.shape != own.shape:
        report.mismatched.append(f"A {tuple(graph.shape)}->{tuple(own.shape)} (another graph)")
    elif not torch.allclose(graph.float(), own, atol=1e-6):
        diff = (graph.float() - own).abs().max().item()
        report.mismatched.append(
            f"A (values differ by up to {diff:.3g}: another layout or strategy)"
        )


def _resolve_aliases(
    mapped: dict[str, torch.Tensor], model: SkeletonBackbone, report: LoadReport
) -> None:
    """HD-GCN's `HD_Gconv` keeps its loop variable `self.conv_d`, so its state dict repeats the
    last level's branch as `gcn1.conv_d.*`: drop the copy once it equals the original."""
    for key in [k for k in mapped if ".gcn.conv_d." in k]:
        m = re.match(r"blocks\.(\d+)\.gcn\.conv_d\.(.+)$", key)
        gcn = model.blocks[int(m.group(1))].gcn if m else None
        if m is None or not isinstance(gcn, HDGConv):
            continue  # reported as unexpected
        value = mapped.pop(key)
        target = f"blocks.{m.group(1)}.gcn.conv.{gcn.num_levels - 1}.{m.group(2)}"
        if target not in mapped:
            mapped[target] = value
        elif not torch.equal(mapped[target], value):
            report.mismatched.append(f"{key} (differs from its original {target})")


def _match(
    own: Mapping[str, torch.Tensor],
    mapped: Mapping[str, torch.Tensor],
    *,
    reinit_head: bool,
    report: LoadReport,
) -> dict[str, torch.Tensor]:
    """The tensors to copy into the model's keys `own`; every key lands in one report list."""
    new_state: dict[str, torch.Tensor] = {}
    for key, dst in own.items():
        if (key.startswith(_HEAD) and reinit_head) or (key.startswith(_NEW) and key not in mapped):
            report.reinitialised.append(key)
        elif key not in mapped:
            if not key.endswith("num_batches_tracked"):  # absent from pre-0.4.1 checkpoints
                report.missing.append(key)
        elif mapped[key].shape == dst.shape:
            new_state[key] = mapped[key].to(dst.dtype)
            report.loaded.append(key)
        elif (adapted := _adapt(mapped[key], dst)) is not None:
            new_state[key] = adapted.to(dst.dtype)
            report.adapted.append(key)
        else:
            report.mismatched.append(f"{key} {tuple(mapped[key].shape)}->{tuple(dst.shape)}")
    return new_state


def _hint(report: LoadReport, family: str) -> str:
    text = " ".join(report.mismatched)
    if "data_bn." in text and family != "stgcn":
        return " (the reference normalises M*V*C inputs: build with its num_person and layout)"
    if any(m.startswith("A ") for m in report.mismatched):
        return " (build with the checkpoint's layout, strategy and max_hop)"
    return ""


def load_skeleton_state(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    reinit_head: bool = True,
    source: str = "checkpoint",
) -> LoadReport:
    """Copy a reference (or our own) state dict into an ST-GCN / CTR-GCN / HD-GCN model.

    Args:
        model: a `stgcn`, `ctrgcn` or `hdgcn` model of the checkpoint's family.
        state: the checkpoint's tensors, with the reference's key names.
        strict: raise `CheckpointError` if anything is missing, unexpected or mismatched.
        reinit_head: keep the fresh classifier (our 20 groups) instead of loading the checkpoint's.
        source: name used in error messages.
    """
    family = model_family(model)
    found = checkpoint_family(state)
    if found not in (family, "musclemap"):
        raise CheckpointError(
            f"{source}: a {_NAMES[found]} checkpoint, but the model is {_NAMES[family]}"
        )
    own = model.state_dict()
    report = LoadReport()
    mapped: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}  # our key -> the checkpoint's, to report unexpected keys as named
    for key, value in state.items():
        if key == "A" and family == "stgcn":
            _check_graph(cast(SkeletonBackbone, model), value, report)
        else:
            ours = reference_key(key, found)
            mapped[ours], origin[ours] = value, key
    if family == "hdgcn":
        _resolve_aliases(mapped, cast(SkeletonBackbone, model), report)
    new_state = _match(own, mapped, reinit_head=reinit_head, report=report)
    report.unexpected = sorted(
        origin[k] for k in mapped if k not in own and not (reinit_head and k.startswith(_HEAD))
    )
    if strict and not report.ok:
        raise CheckpointError(
            f"{source}: does not fit {_NAMES[family]}: {report.summary()}{_hint(report, family)}"
        )
    model.load_state_dict(new_state, strict=False)
    return report
