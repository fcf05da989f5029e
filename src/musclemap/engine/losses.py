"""Multi-label losses on logits: BCE (the paper) and sigmoid focal loss (the authors' config).

The paper's Eq. for MCT writes Softmax over the muscle groups; the task is multi-label (several
groups are active at once), so each group gets an independent sigmoid instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """Sigmoid focal loss (Lin et al. 2017), mean over clips and groups.

    Args:
        gamma: focusing parameter (0 gives BCE).
        alpha: weight of positives in [0, 1], or None for no class balancing.
    """

    def __init__(self, *, gamma: float = 2.0, alpha: float | None = None) -> None:
        super().__init__()
        self.gamma, self.alpha = gamma, alpha

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logits, labels = logits.float(), labels.float()  # (B, C) each
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        p = torch.sigmoid(logits)
        p_t = p * labels + (1 - p) * (1 - labels)
        loss = bce * (1 - p_t) ** self.gamma
        if self.alpha is not None:
            loss = loss * (self.alpha * labels + (1 - self.alpha) * (1 - labels))
        return loss.mean()


class BCELoss(nn.Module):
    """Binary cross-entropy with logits, computed in float32 (safe under autocast)."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


def build_loss(name: str, *, focal_gamma: float = 2.0) -> nn.Module:
    """ "bce" or "focal"."""
    if name == "bce":
        return BCELoss()
    if name == "focal":
        return FocalLoss(gamma=focal_gamma)
    raise ValueError(f"unknown loss {name!r} (bce, focal)")
