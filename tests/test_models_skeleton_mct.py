"""Multi-class tokens on every GCN: token shapes per block, KD tokens, gradients to every mixer."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.skeleton import COCO17

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("name", ["stgcn", "ctrgcn", "hdgcn"])
@pytest.mark.parametrize("num_kd", [0, 1, 20])
def test_mct_tokens(name: str, num_kd: int) -> None:
    torch.manual_seed(0)
    model = build_model(
        name, layout=COCO17, base_channels=8, num_cls_tokens=20, num_kd_tokens=num_kd
    )
    x = torch.randn(2, 1, 8, 17, 3)
    out = model.forward_tokens(x)
    assert out.cls.shape == (2, 20, 32)
    assert len(out.cls_per_block) == 10
    assert [t.shape[-1] for t in out.cls_per_block] == [8] * 4 + [16] * 3 + [32] * 3
    assert out.reduction_blocks == (4, 7, 9)
    if num_kd:
        assert out.kd is not None and out.kd.shape == (2, num_kd, 32)
        assert len(out.kd_per_block) == 10
        # A distillation loss on intermediate KD tokens reaches the initial KD tokens.
        out.kd_per_block[4].pow(2).sum().backward()
        assert model.mct.kd_init.grad is not None and model.mct.kd_init.grad.abs().sum() > 0
    else:
        assert out.kd is None and out.kd_per_block == []
    model.zero_grad()
    # forward = head(mean of cls tokens); gradients reach the cls tokens and every mixer.
    logits = model(x)
    assert torch.allclose(logits, model.head(out.cls.mean(1)), atol=1e-5)
    logits.sum().backward()
    assert model.mct.cls_init.grad.abs().sum() > 0
    for mixer in model.mct.mixers:
        assert mixer.pm.weight.grad is not None and mixer.ps_nodes.weight.grad is not None
