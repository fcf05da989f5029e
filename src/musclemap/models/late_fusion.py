"""Late-fusion baselines of Table VI: two MCT backbones fused after their last layer.

Inputs as TransM3E: video (B, C, T, H, W) and pose (B, M, T, V, C) (or a second video).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from musclemap.models._registry import register_model
from musclemap.models.transm3e import forward_tokens, pose_input_shape, probe_tokens, token_backbone


class LateFusion(nn.Module):
    """Table VI baselines: two MCT backbones fused after their last layer (sum / concat / mul).

    Each branch's feature is the LayerNorm of the mean of its classification tokens (B, D_i);
    "sum" and "mul" first project both to the receiver's width, "concat" joins them. One head.
    """

    def __init__(
        self,
        *,
        receiver: nn.Module,
        sender: nn.Module,
        receiver_input_shape: Sequence[int],
        sender_input_shape: Sequence[int],
        num_classes: int = 20,
        mode: str = "sum",
    ) -> None:
        super().__init__()
        if mode not in ("sum", "concat", "mul"):
            raise ValueError(f"late fusion mode must be sum, concat or mul, got {mode!r}")
        self.mode, self.num_classes, self.other_input = mode, num_classes, "pose"
        self.receiver, self.sender = receiver, sender
        dim_r = probe_tokens(receiver, receiver_input_shape).cls.shape[-1]
        dim_s = probe_tokens(sender, sender_input_shape).cls.shape[-1]
        self.norm_r, self.norm_s = nn.LayerNorm(dim_r), nn.LayerNorm(dim_s)
        self.proj_s = nn.Identity() if mode == "concat" else nn.Linear(dim_s, dim_r)
        self.proj_r = nn.Identity() if mode == "concat" else nn.Linear(dim_r, dim_r)
        self.head = nn.Linear(dim_r + dim_s if mode == "concat" else dim_r, num_classes)

    def forward_features(self, video: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        if other is None:
            raise ValueError("late fusion needs both modalities")
        f_r = self.proj_r(self.norm_r(forward_tokens(self.receiver, video).cls.mean(1)))  # (B, D)
        f_s = self.proj_s(self.norm_s(forward_tokens(self.sender, other).cls.mean(1)))
        if self.mode == "concat":
            return torch.cat([f_r, f_s], dim=-1)
        return f_r + f_s if self.mode == "sum" else f_r * f_s

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def forward(self, video: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(video, other))

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.head = nn.Linear(self.head.in_features, num_classes)


def late_fusion(
    *,
    mode: str,
    num_classes: int = 20,
    receiver: str = "mvitv2_s",
    receiver_kwargs: dict | None = None,
    receiver_input_shape: Sequence[int] = (3, 16, 224, 224),
    sender: str = "hdgcn",
    sender_kwargs: dict | None = None,
    sender_input_shape: Sequence[int] | None = None,
    sender_input: str = "pose",
    num_cls_tokens: int = 20,
) -> LateFusion:
    """Late fusion of an RGB MViTv2-S and an HD-GCN (Table VI); `mode` = sum | concat | mul.

    The sender's input shape defaults to 64 frames of its own layout, as TransM3E's.
    """
    rec = token_backbone(
        receiver, receiver_kwargs, num_classes=num_classes, num_cls=num_cls_tokens, num_kd=0
    )
    snd = token_backbone(
        sender, sender_kwargs, num_classes=num_classes, num_cls=num_cls_tokens, num_kd=0
    )
    if sender_input_shape is None:
        sender_input_shape = pose_input_shape(snd)
    model = LateFusion(
        receiver=rec,
        sender=snd,
        receiver_input_shape=receiver_input_shape,
        sender_input_shape=sender_input_shape,
        num_classes=num_classes,
        mode=mode,
    )
    model.other_input = sender_input
    return model


for _mode in ("sum", "concat", "mul"):
    register_model(f"late_fusion_{_mode}")(partial(late_fusion, mode=_mode))
