"""`posefeat_mlp`: a compact MLP on biomechanical window statistics.

Input `(B, F)`: the statistics of one window of per-frame biomechanical features (joint angles,
inclination against gravity, limb heights, speeds; see `musclemap.pose.features.window_stats`,
F = 225 for the current feature set). The feature normalisation (mean, std over the training
windows) is part of the module as buffers, so a checkpoint alone maps raw features to logits.
"""

from __future__ import annotations

import torch
from torch import nn

from musclemap.models._registry import register_model


class PoseFeatMLP(nn.Module):
    """Normalise -> [Linear -> GELU -> Dropout] x depth -> Linear head."""

    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int = 20,
        hidden: int = 128,
        depth: int = 2,
        dropout: float = 0.3,
        input_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_features = hidden
        self.register_buffer("feat_mean", torch.zeros(in_features))
        self.register_buffer("feat_std", torch.ones(in_features))
        layers: list[nn.Module] = [nn.Dropout(input_dropout)]
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    @torch.no_grad()
    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store per-feature mean and std (std floored so constant features stay finite)."""
        self.feat_mean.copy_(mean)
        self.feat_std.copy_(std.clamp_min(1e-3))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # (B, F) -> (B, hidden); clamping keeps an outlier window (a bad pose) from dominating.
        x = ((x - self.feat_mean) / self.feat_std).clamp(-6.0, 6.0)
        return self.body(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head = nn.Linear(self.head.in_features, num_classes)


@register_model("posefeat_mlp")
def posefeat_mlp(
    *,
    num_classes: int = 20,
    in_features: int = 225,
    hidden: int = 128,
    depth: int = 2,
    dropout: float = 0.3,
    input_dropout: float = 0.1,
) -> PoseFeatMLP:
    """Compact MLP on biomechanical window statistics (about 48k parameters at defaults)."""
    return PoseFeatMLP(
        in_features=in_features,
        num_classes=num_classes,
        hidden=hidden,
        depth=depth,
        dropout=dropout,
        input_dropout=input_dropout,
    )
