"""Pretrained weights brought by the user: PySlowFast `.pyth`, Video Swin `.pth`, 2D ResNet-50.

Nothing is downloaded. `load_state_dict_mapped(model, read_state_dict(path))` (what
`musclemap.models.weights.load_pretrained` runs for a video model) maps a local checkpoint onto one
of our video models, re-initialises the classifier for our 20 groups, adapts the first convolution
to other input channel counts (mean over RGB, repeated: the usual cross-modality initialisation for
optical flow) and reports every missing, unexpected or mismatched key. `inflate_resnet2d(model,
path)` inflates a torchvision-layout 2D ResNet-50 (`conv1`, `layer1.0.conv1`, ...) into our 3D
ResNets, spreading each 2D kernel evenly over its temporal extent (I3D's "boring video" inflation).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musclemap.errors import MusclemapError
from musclemap.models.video.mvit import MViT, resize_rel_pos
from musclemap.models.video.resnet3d import ResNet3D
from musclemap.models.video.swin3d import SwinTransformer3D

# Classifier parameter prefixes of each family (never taken from a checkpoint of another task).
_HEADS = {ResNet3D: "head.projection.", MViT: "head.projection.", SwinTransformer3D: "head.fc_cls."}
# First convolutions, adapted when the input channel count differs (e.g. 2-channel flow).
_STEMS = re.compile(r"^(patch_embed\.proj\.weight|s1\.pathway\d_stem\.conv\.weight)$")
# MViTv2 relative position tables, resampled when built for another clip size.
_REL_POS = re.compile(r"(^|\.)rel_pos_[thw]$")


class CheckpointError(MusclemapError):
    """A checkpoint file is unreadable or does not fit the model."""


@dataclass
class LoadReport:
    """What a load did. Keys are the model's parameter/buffer names.

    Attributes:
        loaded: Keys copied from the checkpoint unchanged.
        adapted: Keys copied after a documented adaptation (channel mean, token repeat, inflation).
        reinitialised: Classifier keys left at their fresh initialisation.
        missing: Model keys the checkpoint does not provide (left at initialisation).
        unexpected: Checkpoint keys the model does not have (ignored).
        mismatched: Keys present in both with incompatible shapes (left at initialisation).
        details: For each adapted key, what was done (e.g. "linear interpolation (31, 96) ->
            (15, 96)").
    """

    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        parts = [
            f"{len(self.loaded)} loaded",
            f"{len(self.adapted)} adapted",
            f"{len(self.reinitialised)} re-initialised",
        ]
        for name in ("missing", "unexpected", "mismatched"):
            keys = getattr(self, name)
            if keys:
                shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
                parts.append(f"{len(keys)} {name} ({shown})")
        return "; ".join(parts)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, unwrapped from `model_state` / `state_dict` / `model`.

    Strips DataParallel's `module.` and mmaction's `backbone.` prefixes and renames mmaction's
    `cls_head.fc_cls.` to `head.fc_cls.`. Only tensors are unpickled (`weights_only=True`).
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file or arbitrary pickled objects
        line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{p}: not a readable checkpoint ({line})") from None
    for key in ("model_state", "state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{p}: no state dict of tensors inside")
    out = {}
    for key, value in obj.items():
        key = key.removeprefix("module.").removeprefix("backbone.")
        out[key.replace("cls_head.fc_cls.", "head.fc_cls.")] = value
    return out


def _head_prefix(model: nn.Module) -> str:
    for cls, prefix in _HEADS.items():
        if isinstance(model, cls):
            return prefix
    raise CheckpointError(
        f"no video checkpoint mapping for {type(model).__name__} "
        f"(expected one of {', '.join(c.__name__ for c in _HEADS)})"
    )


def _adapt(key: str, src: torch.Tensor, dst: torch.Tensor) -> tuple[torch.Tensor, str] | None:
    """`src` reshaped to `dst`'s shape where a documented rule applies, and the rule; else None."""
    change = f"{tuple(src.shape)} -> {tuple(dst.shape)}"
    if (
        _STEMS.match(key)
        and src.ndim == dst.ndim
        and src.shape[0] == dst.shape[0]
        and src.shape[2:] == dst.shape[2:]
    ):
        # New input modality: every input channel starts as the mean RGB filter.
        return src.mean(dim=1, keepdim=True).expand_as(dst).clone(), f"mean RGB filter {change}"
    if (
        key in ("cls_token", "kd_token")
        and src.ndim == 3
        and src.shape[1] == 1
        and src.shape[2] == dst.shape[2]
    ):
        # One pretrained class token -> MCT / KD tokens.
        return src.expand_as(dst).clone(), f"token repeated {change}"
    if _REL_POS.search(key) and src.ndim == dst.ndim == 2 and src.shape[1] == dst.shape[1]:
        # A table for another clip size: PySlowFast's loader resamples it linearly.
        return resize_rel_pos(src.float(), dst.shape[0]), f"linear interpolation {change}"
    return None


def load_state_dict_mapped(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    reinit_head: bool = True,
    source: str = "checkpoint",
) -> LoadReport:
    """Copy `state` (already in our key layout) into `model`, reporting every key.

    Args:
        model: A ResNet3D, MViT or SwinTransformer3D.
        state: Checkpoint tensors with our (= PySlowFast / Video Swin) key names.
        strict: Raise `CheckpointError` if anything is missing, unexpected or mismatched.
        reinit_head: Keep the freshly initialised classifier (a new label set) instead of loading.
        source: Name used in error messages.
    """
    head = _head_prefix(model)
    own = model.state_dict()
    report = LoadReport()
    new_state: dict[str, torch.Tensor] = {}
    state = dict(state)
    derived = set()
    if "kd_token" in own and "kd_token" not in state and "cls_token" in state:
        state["kd_token"] = state["cls_token"]  # distillation tokens start as the class token
        derived.add("kd_token")
    for key, dst in own.items():
        if key.startswith(head) and reinit_head:
            report.reinitialised.append(key)
            continue
        if key not in state:
            report.missing.append(key)
            continue
        src = state[key]
        if src.shape == dst.shape:
            new_state[key] = src.to(dst.dtype)
            if key in derived:
                report.adapted.append(key)
                report.details[key] = "copied from cls_token"
            else:
                report.loaded.append(key)
        elif (adapted := _adapt(key, src, dst)) is not None:
            new_state[key] = adapted[0].to(dst.dtype)
            report.adapted.append(key)
            report.details[key] = ("cls_token " if key in derived else "") + adapted[1]
        else:
            report.mismatched.append(f"{key} {tuple(src.shape)}->{tuple(dst.shape)}")
    report.unexpected = sorted(
        k for k in state if k not in own and not k.startswith(head) and k not in derived
    )
    if strict and not report.ok:
        raise CheckpointError(f"{source}: does not fit {type(model).__name__}: {report.summary()}")
    model.load_state_dict(new_state, strict=False)
    return report


# torchvision ResNet-50 names -> PySlowFast names (pathway 0).
_TV_CONV = {"conv1": "a", "conv2": "b", "conv3": "c"}


def resnet2d_key_to_3d(key: str) -> str | None:
    """Our ResNet3D key for a torchvision-layout ResNet key (`fc.*` -> None)."""
    if key.startswith("fc."):
        return None
    if key.startswith("conv1."):
        return "s1.pathway0_stem.conv." + key.split(".", 1)[1]
    if key.startswith("bn1."):
        return "s1.pathway0_stem.bn." + key.split(".", 1)[1]
    m = re.match(r"layer(\d)\.(\d+)\.(.+)$", key)
    if m is None:
        return key  # reported as unexpected
    stage, block, rest = int(m.group(1)) + 1, m.group(2), m.group(3)
    prefix = f"s{stage}.pathway0_res{block}."
    if conv := re.match(r"(conv[123])\.(.+)$", rest):
        return prefix + f"branch2.{_TV_CONV[conv.group(1)]}.{conv.group(2)}"
    if bn := re.match(r"bn([123])\.(.+)$", rest):
        return prefix + f"branch2.{'abc'[int(bn.group(1)) - 1]}_bn.{bn.group(2)}"
    if ds := re.match(r"downsample\.([01])\.(.+)$", rest):
        return prefix + ("branch1." if ds.group(1) == "0" else "branch1_bn.") + ds.group(2)
    return key


def _inflate(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor | None:
    """A 2D kernel repeated over time and divided by its length; extra input channels zero."""
    if (
        src.ndim != 4
        or dst.ndim != 5
        or src.shape[0] != dst.shape[0]
        or src.shape[2:] != dst.shape[3:]
        or src.shape[1] > dst.shape[1]
    ):
        return None
    t = dst.shape[2]
    out = torch.zeros_like(dst)
    # SlowFast's slow pathway also receives lateral channels: they start switched off.
    out[:, : src.shape[1]] = src.unsqueeze(2).expand(-1, -1, t, -1, -1) / t
    return out


def inflate_resnet2d(
    model: ResNet3D,
    path_or_state: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    *,
    strict: bool = False,
) -> LoadReport:
    """Inflate ImageNet 2D ResNet-50 weights (torchvision layout) into a 3D ResNet.

    The stem of a model with a different input channel count gets the mean RGB filter. With
    `strict`, anything left at initialisation other than the classifier (e.g. SlowFast's fast
    pathway, which has no 2D counterpart) raises `CheckpointError`.
    """
    state: Mapping[str, Any] = (
        path_or_state if isinstance(path_or_state, Mapping) else read_state_dict(path_or_state)
    )
    own = model.state_dict()
    report = LoadReport()
    new_state: dict[str, torch.Tensor] = {}
    mapped: set[str] = set()
    for key2d, src in state.items():
        key = resnet2d_key_to_3d(key2d)
        if key is None:
            continue
        if key not in own:
            report.unexpected.append(key2d)
            continue
        mapped.add(key)
        dst = own[key]
        if src.shape == dst.shape:
            new_state[key] = src.to(dst.dtype)
            report.loaded.append(key)
            continue
        how = f"inflated over {dst.shape[2] if dst.ndim == 5 else 0} frames"
        if src.ndim == 4 and dst.ndim == 5 and src.shape[1] == 3 and dst.shape[1] != 3:
            src = src.mean(dim=1, keepdim=True).expand(-1, dst.shape[1], -1, -1)
            how = "mean RGB filter, " + how
        inflated = _inflate(src, dst)
        if inflated is None:
            report.mismatched.append(f"{key} {tuple(src.shape)}->{tuple(dst.shape)}")
        else:
            new_state[key] = inflated.to(dst.dtype)
            report.adapted.append(key)
            report.details[key] = f"{how} {tuple(state[key2d].shape)} -> {tuple(dst.shape)}"
    head = _head_prefix(model)
    report.reinitialised = [k for k in own if k.startswith(head)]
    report.missing = [
        k
        for k in own
        if k not in mapped and not k.startswith(head) and not k.endswith("num_batches_tracked")
    ]
    if strict and not report.ok:
        raise CheckpointError(f"2D ResNet weights do not fit {model.arch}: {report.summary()}")
    model.load_state_dict(new_state, strict=False)
    return report
