"""Multi-label losses: BCE equals torch's, focal loss by hand (with and without alpha), float32
under low-precision logits, the builder's names."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from musclemap.engine.losses import BCELoss, FocalLoss, build_loss


def test_losses() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    bce = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    assert BCELoss()(logits, labels).item() == pytest.approx(bce.item())
    assert FocalLoss(gamma=0.0)(logits, labels).item() == pytest.approx(bce.item())
    assert FocalLoss(gamma=2.0)(logits, labels).item() < bce.item()  # easy examples down-weighted
    assert isinstance(build_loss("focal"), FocalLoss)
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("softmax")


def test_focal_loss_by_hand() -> None:
    logits, labels = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    p = [0.5, 1 / (1 + math.exp(-2.0))]
    # Positive with p = 0.5; negative with p = sigmoid(2): p_t = 1 - p.
    terms = [-math.log(p[0]) * (1 - p[0]) ** 2, -math.log(1 - p[1]) * p[1] ** 2]
    assert FocalLoss(gamma=2.0)(logits, labels).item() == pytest.approx(sum(terms) / 2, rel=1e-6)
    weighted = (0.25 * terms[0] + 0.75 * terms[1]) / 2
    got = FocalLoss(gamma=2.0, alpha=0.25)(logits, labels).item()
    assert got == pytest.approx(weighted, rel=1e-6)
    assert build_loss("focal", focal_gamma=0.0)(logits, labels).item() == pytest.approx(
        BCELoss()(logits, labels).item(), rel=1e-6)


def test_low_precision_logits_give_a_float32_loss() -> None:
    logits = torch.tensor([[3.0, -3.0]], dtype=torch.bfloat16)
    labels = torch.tensor([[1.0, 0.0]])
    for loss in (BCELoss(), FocalLoss()):
        out = loss(logits, labels)
        assert out.dtype == torch.float32 and torch.isfinite(out)
        assert out.item() == pytest.approx(loss(logits.float(), labels).item())
