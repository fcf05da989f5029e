"""Tiny stand-ins for MCT backbones (tests only): they implement the `TokenOutput` interface.

`StandinVideo` takes video (B, C, T, H, W), `StandinPose` takes pose (B, M, T, V, C). Each has a
few blocks whose width doubles after a "reduction" block, like MViTv2. `registered()` adds them to
the model registry for the duration of a test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from musclemap.models import _registry
from musclemap.models.tokens import TokenOutput


class _Block(nn.Module):
    def __init__(self, dim: int, dim_out: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.mix = nn.Linear(dim, dim)  # token mixing through a mean-token residual
        self.out = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.mix(self.norm(x)).mean(1, keepdim=True)
        return self.out(torch.relu(h))


class _TokenBackbone(nn.Module):
    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int,
        num_cls_tokens: int,
        num_kd_tokens: int,
        dims: tuple[int, ...],
        reductions: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.num_cls, self.num_kd = num_cls_tokens, num_kd_tokens
        self.embed = nn.Linear(in_features, dims[0])
        self.cls_tokens = nn.Parameter(torch.randn(1, num_cls_tokens, dims[0]) * 0.02)
        self.kd_tokens = (
            nn.Parameter(torch.randn(1, num_kd_tokens, dims[0]) * 0.02) if (num_kd_tokens) else None
        )
        self.blocks = nn.ModuleList(_Block(dims[i], dims[i + 1]) for i in range(len(dims) - 1))
        self.reductions = reductions
        self.norm = nn.LayerNorm(dims[-1])
        self.head: nn.Module = nn.Linear(dims[-1], num_classes)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_tokens(self, x: torch.Tensor) -> TokenOutput:
        p = self.embed(self.patches(x))  # (B, P, D)
        b = p.shape[0]
        parts = [self.cls_tokens.expand(b, -1, -1)]
        if self.kd_tokens is not None:
            parts.append(self.kd_tokens.expand(b, -1, -1))
        z = torch.cat([*parts, p], dim=1)
        n = self.num_cls + self.num_kd
        kd_blocks, cls_blocks = [], []
        for blk in self.blocks:
            z = blk(z)
            cls_blocks.append(z[:, : self.num_cls])
            if self.num_kd:
                kd_blocks.append(z[:, self.num_cls : n])
        return TokenOutput(
            cls=z[:, : self.num_cls],
            kd=z[:, self.num_cls : n] if self.num_kd else None,
            kd_per_block=kd_blocks,
            reduction_blocks=self.reductions,
            cls_per_block=cls_blocks,
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.forward_tokens(x).cls.mean(1))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        dim = self.norm.normalized_shape[0]
        self.head = nn.Linear(dim, num_classes) if num_classes else nn.Identity()


class StandinVideo(_TokenBackbone):
    """Patches: each frame's 4x4-pooled pixels -> (B, T, C*16)."""

    def __init__(
        self,
        *,
        num_classes: int = 20,
        num_cls_tokens: int = 1,
        num_kd_tokens: int = 0,
        in_chans: int = 3,
        dims: tuple[int, ...] = (8, 8, 16, 16),
    ) -> None:
        super().__init__(
            in_features=in_chans * 16,
            num_classes=num_classes,
            num_cls_tokens=num_cls_tokens,
            num_kd_tokens=num_kd_tokens,
            dims=tuple(dims),
            reductions=(1,),
        )

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape[:3]
        pooled = nn.functional.adaptive_avg_pool3d(x, (t, 4, 4))  # (B, C, T, 4, 4)
        return pooled.permute(0, 2, 1, 3, 4).reshape(b, t, c * 16)


class StandinPose(_TokenBackbone):
    """Patches: one token per frame from all joints' coordinates, (B, M*T, V*C)."""

    def __init__(
        self,
        *,
        num_classes: int = 20,
        num_cls_tokens: int = 1,
        num_kd_tokens: int = 0,
        num_joints: int = 5,
        channels: int = 3,
        dims: tuple[int, ...] = (6, 12, 12),
    ) -> None:
        super().__init__(
            in_features=num_joints * channels,
            num_classes=num_classes,
            num_cls_tokens=num_cls_tokens,
            num_kd_tokens=num_kd_tokens,
            dims=tuple(dims),
            reductions=(0,),
        )

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        b, m, t, v, c = x.shape
        return x.reshape(b, m * t, v * c)


def standin_video(
    *, num_classes: int = 20, num_cls_tokens: int = 1, num_kd_tokens: int = 0, in_chans: int = 3
) -> StandinVideo:
    return StandinVideo(
        num_classes=num_classes,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
        in_chans=in_chans,
    )


def standin_pose(
    *, num_classes: int = 20, num_cls_tokens: int = 1, num_kd_tokens: int = 0, num_joints: int = 5
) -> StandinPose:
    return StandinPose(
        num_classes=num_classes,
        num_cls_tokens=num_cls_tokens,
        num_kd_tokens=num_kd_tokens,
        num_joints=num_joints,
    )


def register() -> None:
    """Add the stand-ins to the registry (idempotent; used in spawned DDP workers too)."""
    _registry._MODELS.setdefault("standin_video", standin_video)
    _registry._MODELS.setdefault("standin_pose", standin_pose)


@contextlib.contextmanager
def registered() -> Iterator[None]:
    register()
    try:
        yield
    finally:
        _registry._MODELS.pop("standin_video", None)
        _registry._MODELS.pop("standin_pose", None)


# Small inputs matching the stand-ins: video (3, 4, 8, 8), pose (1, 6, 5, 3).
VIDEO_SHAPE = (3, 4, 8, 8)
POSE_SHAPE = (1, 6, 5, 3)
STANDIN_KW = dict(
    receiver="standin_video",
    sender="standin_pose",
    receiver_input_shape=VIDEO_SHAPE,
    sender_input_shape=POSE_SHAPE,
)
