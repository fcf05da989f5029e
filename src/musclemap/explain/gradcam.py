"""Grad-CAM for the video models and TransM3E's RGB branch: which parts of a clip drove a group.

Input: video `(B, C, T, H, W)`. Output: one map `(B, T, H, W)` in [0, 1] per clip, upsampled from
the target layer's feature grid to the clip (trilinear).

Target layer per family (the last layer whose features still have a space-time grid and feed
the classifier):

- C2D / I3D / Slow / SlowFast (`ResNet3D`): the output of `s5` (res5), every pathway; SlowFast's
  two pathway maps are upsampled to the clip and added.
- Video Swin (`SwinTransformer3D`): the output of the last stage `layers[-1]` `(B, C, D, H, W)`.
- MViTv2 (`MViT`): the tokens *entering* the last block. Its output tokens reach the logits only
  through the class token(s), which are read after that block, so the gradient on its output
  patch tokens is zero; at its input the patch tokens feed the class token through attention.
  The prefix (class and distillation) tokens are dropped and the rest reshaped to `T' x H' x W'`.
- TransM3E: the MViTv2 rule on its receiver (`receiver.blocks[-1]`); with the pose given, the
  score is the mean of both branches' logits, as the model predicts.
- Any other model: set `model.cam_layer = "dotted.submodule"` whose output is `(B, C, T, H, W)`
  (or a list of such); that hint also overrides the rules above.

Methods: "gradcam" (Selvaraju et al. 2017, the paper's Fig. 6): channel weights are the
space-time mean of the gradient, map = ReLU(sum_c w_c A_c). "hirescam" (Draelos & Carin 2020):
the element-wise gradient x activation summed over channels, which only lights up positions
that actually reach the score (exact for a linear head on the features).
Sigmoids are not applied: the score is the group's logit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Method = Literal["gradcam", "hirescam"]
METHODS: tuple[str, ...] = ("gradcam", "hirescam")


@dataclass(frozen=True)
class CamTarget:
    """Where the features are read: a submodule's output, or its first input (tokens)."""

    module: str  # dotted path, e.g. "s5", "layers.3", "receiver.blocks.15"
    read: Literal["output", "input"] = "output"
    num_prefix: int = 0  # class / distillation tokens before the patch tokens ("input" only)


@dataclass
class CamResult:
    cam: np.ndarray  # (B, T, H, W) float32 in [0, 1] (all zero where nothing drove the score)
    score: np.ndarray  # (B,) the group's logit
    peak: np.ndarray  # (B,) the map's maximum before normalisation (0: no positive evidence)
    target: CamTarget


def cam_target(model: nn.Module) -> CamTarget:
    """The documented target layer of `model` (see the module docstring).

    Raises:
        ValueError: A model of no known family without a `cam_layer` hint.
    """
    from musclemap.models.transm3e import TransM3E
    from musclemap.models.video.mvit import MViT
    from musclemap.models.video.resnet3d import ResNet3D
    from musclemap.models.video.swin3d import SwinTransformer3D

    hint = getattr(model, "cam_layer", None)
    if isinstance(hint, str):
        return CamTarget(hint)
    if isinstance(model, TransM3E):
        inner = cam_target(model.receiver)
        return CamTarget(f"receiver.{inner.module}", inner.read, inner.num_prefix)
    if isinstance(model, ResNet3D):
        return CamTarget("s5")
    if isinstance(model, SwinTransformer3D):
        return CamTarget(f"layers.{len(model.layers) - 1}")
    if isinstance(model, MViT):
        return CamTarget(f"blocks.{len(model.blocks) - 1}", "input", model.num_prefix)
    raise ValueError(
        f"no Grad-CAM target layer known for {type(model).__name__}; set "
        "model.cam_layer = '<submodule>' (output (B, C, T, H, W)), or use the skeleton "
        "attribution (musclemap.explain.gradients) for pose models"
    )


@contextmanager
def _capture(model: nn.Module, target: CamTarget) -> Iterator[dict[str, Any]]:
    """Record the target's output (or positional inputs) during the forward pass."""
    try:
        module = model.get_submodule(target.module)
    except AttributeError:
        raise ValueError(f"{type(model).__name__} has no submodule {target.module!r}") from None
    store: dict[str, Any] = {}

    def on_output(_m: nn.Module, _args: Any, out: Any) -> None:
        store["value"] = out

    def on_input(_m: nn.Module, args: Any) -> None:
        store["value"] = args

    if target.read == "output":
        handle = module.register_forward_hook(on_output)
    else:
        handle = module.register_forward_pre_hook(on_input)
    try:
        yield store
    finally:
        handle.remove()


def _leaves(value: Any, target: CamTarget) -> tuple[list[torch.Tensor], Callable]:
    """The captured tensors to differentiate, and how to turn one into `(B, C, t, h, w)`."""
    if target.read == "input":
        tokens, thw = value[0], [int(s) for s in value[1]]

        def as_grid(x: torch.Tensor) -> torch.Tensor:
            patches = x[:, target.num_prefix :]  # (B, N, D)
            return patches.reshape(x.shape[0], *thw, x.shape[-1]).permute(0, 4, 1, 2, 3)

        return [tokens], as_grid
    maps = list(value) if isinstance(value, list | tuple) else [value]
    if not maps or any(not torch.is_tensor(m) or m.ndim != 5 for m in maps):
        raise ValueError(f"target {target.module!r} must output (B, C, T, H, W) tensor(s)")
    return maps, lambda x: x


def grad_cam(
    model: nn.Module,
    video: torch.Tensor,
    group: int,
    *,
    other: torch.Tensor | None = None,
    method: Method = "gradcam",
    target: CamTarget | None = None,
) -> CamResult:
    """Attribution map of muscle group `group` over each clip of `video` `(B, C, T, H, W)`.

    Args:
        model: A video model (or TransM3E); put in eval mode here.
        video: The model's input clip(s).
        group: Logit index (taxonomy order).
        other: TransM3E's second input (pose or RGB difference); None scores the RGB branch.
        method: "gradcam" or "hirescam" (see the module docstring).
        target: Override of the family's target layer.
    """
    if method not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose {', '.join(METHODS)}")
    model.eval()
    target = target or cam_target(model)
    # A leaf that needs grad keeps a graph even when every parameter is frozen.
    clip = video.detach().clone().requires_grad_(True)
    with torch.enable_grad(), _capture(model, target) as store:
        logits = model(clip) if other is None else model(clip, other)
        if "value" not in store:
            raise ValueError(f"target {target.module!r} was not run by the forward pass")
        score = logits[:, group]  # (B,)
        leaves, as_grid = _leaves(store["value"], target)
        grads = torch.autograd.grad(score.sum(), leaves, allow_unused=True)
    size = tuple(video.shape[2:])  # (T, H, W)
    total = torch.zeros(video.shape[0], *size)
    for act, grad in zip(leaves, grads, strict=True):
        if grad is None:
            continue  # a pathway that does not reach this logit
        a, g = as_grid(act.detach()).float(), as_grid(grad).float()  # (B, C, t, h, w)
        if method == "gradcam":
            cam = (g.mean(dim=(2, 3, 4), keepdim=True) * a).sum(1)
        else:
            cam = (g * a).sum(1)
        cam = F.interpolate(cam.clamp(min=0)[:, None], size=size, mode="trilinear")[:, 0]
        total += cam.cpu()
    peak = total.flatten(1).amax(1)  # (B,)
    norm = total / peak.clamp(min=1e-12)[:, None, None, None]
    return CamResult(
        cam=norm.numpy().astype(np.float32),
        score=score.detach().cpu().numpy(),
        peak=peak.numpy(),
        target=target,
    )
