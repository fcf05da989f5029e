"""`pose_tcn`: a compact temporal convolutional network on normalised joint coordinates.

Input pose `(B, M, T, V, C)`: M persons, T frames, V joints, C channels (x, y, z normalised by
torso length and hip-centred, plus visibility). Each frame's joints and their frame-to-frame
motion are embedded jointly, then dilated residual temporal convolutions see up to ~3 s of
context; the clip embedding is the mean over time and persons.
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models._registry import register_model


class TemporalBlock(nn.Module):
    """Residual dilated 1-D convolution block over time."""

    def __init__(self, *, dim: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=pad, dilation=dilation)
        self.norm = nn.BatchNorm1d(dim)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.act(self.norm(self.conv(x))))  # (N, D, T)


class PoseTCN(nn.Module):
    def __init__(
        self,
        *,
        num_joints: int,
        in_channels: int = 4,
        num_classes: int = 20,
        dim: int = 64,
        depth: int = 4,
        kernel_size: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.num_joints, self.in_channels = num_joints, in_channels
        self.num_features = dim
        # Positions and velocities of all joints -> one embedding per frame.
        self.embed = nn.Sequential(
            nn.Conv1d(2 * num_joints * in_channels, dim, 1), nn.BatchNorm1d(dim), nn.GELU()
        )
        self.blocks = nn.Sequential(
            *[
                TemporalBlock(dim=dim, kernel_size=kernel_size, dilation=2**i, dropout=dropout)
                for i in range(depth)
            ]
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        b, m, t, v, c = x.shape  # (B, M, T, V, C)
        if v != self.num_joints or c != self.in_channels:
            raise ValueError(
                f"expected {self.num_joints} joints x {self.in_channels} channels, got {v} x {c}"
            )
        x = x.reshape(b * m, t, v * c)
        vel = torch.diff(x, dim=1, prepend=x[:, :1])
        h = torch.cat([x, vel], dim=-1).transpose(1, 2)  # (B*M, 2*V*C, T)
        h = self.blocks(self.embed(h))  # (B*M, D, T)
        return h.mean(dim=2).reshape(b, m, -1).mean(dim=1)  # (B, D)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(x))  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head = nn.Linear(self.head.in_features, num_classes)


@register_model("pose_tcn")
def pose_tcn(
    *,
    num_classes: int = 20,
    num_joints: int = 33,
    in_channels: int = 4,
    dim: int = 64,
    depth: int = 4,
    kernel_size: int = 3,
    dropout: float = 0.2,
) -> PoseTCN:
    """Compact dilated TCN on joint coordinates (about 69k parameters at defaults)."""
    return PoseTCN(
        num_joints=num_joints,
        in_channels=in_channels,
        num_classes=num_classes,
        dim=dim,
        depth=depth,
        kernel_size=kernel_size,
        dropout=dropout,
    )
