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
    """Normalise -> `members` x ([Linear -> GELU -> Dropout] x depth -> Linear head), logits
    averaged over the members (an ensemble in one module: on a few hundred clips, averaging
    independently initialised members lowers the variance that limits generalisation)."""

    feat_mean: torch.Tensor
    feat_std: torch.Tensor

    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int = 20,
        hidden: int = 128,
        depth: int = 2,
        dropout: float = 0.3,
        input_dropout: float = 0.1,
        members: int = 1,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.register_buffer("feat_mean", torch.zeros(in_features))
        self.register_buffer("feat_std", torch.ones(in_features))
        self.num_features = hidden if depth > 0 else in_features
        self.bodies = nn.ModuleList()
        for _ in range(members):
            layers: list[nn.Module] = [nn.Dropout(input_dropout)]
            width = in_features
            for _ in range(depth):
                layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
                width = hidden
            self.bodies.append(nn.Sequential(*layers))
        self.heads = nn.ModuleList(
            nn.Linear(self.num_features, num_classes) for _ in range(members)
        )

    @torch.no_grad()
    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store per-feature mean and std (std floored so constant features stay finite)."""
        self.feat_mean.copy_(mean)
        self.feat_std.copy_(std.clamp_min(1e-3))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # (B, F) -> (B, members, hidden); clamping keeps an outlier window (a bad pose) from
        # dominating.
        x = ((x - self.feat_mean) / self.feat_std).clamp(-6.0, 6.0)
        return torch.stack([body(x) for body in self.bodies], dim=1)

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's logits `(B, members, num_classes)`; training puts the loss on each
        member, so that they stay independent rather than co-adapting to their mean."""
        h = self.forward_features(x)
        return torch.stack([head(h[:, i]) for i, head in enumerate(self.heads)], dim=1)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        # (B, members, hidden) -> (B, num_classes): mean of the members' logits
        return torch.stack([head(x[:, i]) for i, head in enumerate(self.heads)], 1).mean(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.heads = nn.ModuleList(nn.Linear(self.num_features, num_classes) for _ in self.heads)


@register_model("posefeat_mlp")
def posefeat_mlp(
    *,
    num_classes: int = 20,
    in_features: int = 225,
    hidden: int = 128,
    depth: int = 2,
    dropout: float = 0.3,
    input_dropout: float = 0.1,
    members: int = 1,
) -> PoseFeatMLP:
    """Compact MLP on biomechanical window statistics (about 48k parameters at defaults)."""
    return PoseFeatMLP(
        in_features=in_features,
        num_classes=num_classes,
        hidden=hidden,
        depth=depth,
        dropout=dropout,
        input_dropout=input_dropout,
        members=members,
    )
