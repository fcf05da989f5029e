"""Small layers shared by the video transformers (MViTv2, Video Swin)."""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models.layers import DropPath

__all__ = ["DropPath", "Mlp"]


class Mlp(nn.Module):
    """Linear -> GELU -> Linear (names `fc1`, `fc2` as in the reference checkpoints)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
