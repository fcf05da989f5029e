"""Token distillation: KL definition, positions, pairing, projection."""

from __future__ import annotations

import pytest
import torch

from musclemap.models.distill import (
    TokenDistiller,
    pair_positions,
    select_positions,
    token_kl_divergence,
)
from musclemap.models.tokens import TokenOutput


def test_kl_zero_for_identical_tokens_positive_otherwise() -> None:
    torch.manual_seed(0)
    a = torch.randn(2, 20, 8)
    assert token_kl_divergence(a, a.clone()).item() == pytest.approx(0.0, abs=1e-7)
    # A constant shift per token leaves the softmax unchanged: still zero.
    assert token_kl_divergence(a + 3.0, a).item() == pytest.approx(0.0, abs=1e-6)
    assert token_kl_divergence(torch.randn(2, 20, 8), a).item() > 1e-3


def test_kl_matches_hand_computation() -> None:
    r = torch.tensor([[[0.0, 0.0]]])
    s = torch.tensor([[[1.0, 0.0]]])
    ps = torch.softmax(s, -1)[0, 0]
    expected = float((ps * (ps.log() - torch.log(torch.tensor([0.5, 0.5])))).sum())
    assert token_kl_divergence(r, s).item() == pytest.approx(expected, rel=1e-6)


def test_kl_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        token_kl_divergence(torch.zeros(1, 2, 3), torch.zeros(1, 3, 3))


def test_positions() -> None:
    # MViTv2-S: 16 blocks, reductions after blocks 1, 3, 14 -> SP adds the last block.
    assert select_positions(16, (1, 3, 14), "sp") == [1, 3, 14, 15]
    assert select_positions(16, (1, 3, 14), "fl") == [15]
    assert select_positions(4, (1,), "de") == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown distillation position"):
        select_positions(4, (), "xx")


def test_pairing_by_relative_depth() -> None:
    assert pair_positions([1, 3, 14, 15], [2, 9]) == [(1, 2), (3, 2), (14, 9), (15, 9)]
    assert pair_positions([15], [0, 9]) == [(15, 9)]
    assert pair_positions([0, 1, 2], [0, 1, 2]) == [(0, 0), (1, 1), (2, 2)]


def _out(tokens: list[torch.Tensor]) -> TokenOutput:
    return TokenOutput(cls=tokens[-1], kd=tokens[-1], kd_per_block=tokens, cls_per_block=tokens)


def test_distiller_projects_receiver_and_detaches_sender() -> None:
    torch.manual_seed(0)
    rec = [torch.randn(2, 3, 4, requires_grad=True), torch.randn(2, 3, 8, requires_grad=True)]
    snd = [torch.randn(2, 3, 6, requires_grad=True)]
    kd = TokenDistiller(pairs=[(0, 0), (1, 0)], receiver_dims=[4, 8], sender_dims=[6])
    loss = kd(_out(rec), _out(snd))
    loss.backward()
    assert loss.item() > 0
    assert rec[0].grad is not None and rec[1].grad is not None
    assert snd[0].grad is None  # sender detached by default
    assert [type(p).__name__ for p in kd.proj] == ["Linear", "Linear"]


def test_distiller_identity_when_widths_match_and_zero_on_equal_tokens() -> None:
    t = [torch.randn(2, 3, 4)]
    kd = TokenDistiller(pairs=[(0, 0)], receiver_dims=[4], sender_dims=[4], detach_sender=False)
    assert type(kd.proj[0]).__name__ == "Identity"
    assert kd(_out(t), _out([t[0].clone()])).item() == pytest.approx(0.0, abs=1e-7)
