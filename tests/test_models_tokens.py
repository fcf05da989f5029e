"""The token interface: defaults that are not shared between outputs, and every MCT backbone
family (video and skeleton) answering `forward_tokens` with a `TokenOutput` of its widths."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.models.tokens import TokenOutput

pytestmark = pytest.mark.usefixtures("one_thread")


def test_defaults_are_empty_and_independent() -> None:
    a, b = TokenOutput(cls=torch.zeros(1, 2, 3)), TokenOutput(cls=torch.zeros(1, 2, 3))
    assert a.kd is None and a.reduction_blocks == () and a.kd_per_block == []
    a.kd_per_block.append(torch.zeros(1))
    a.cls_per_block.append(torch.zeros(1))
    assert b.kd_per_block == [] and b.cls_per_block == []  # no list shared between outputs


@pytest.mark.parametrize(
    ("name", "kwargs", "x"),
    [
        ("mvitv2_test", {}, torch.randn(2, 3, 4, 32, 32)),
        ("stgcn", {"layout": "coco17", "base_channels": 8}, torch.randn(2, 1, 8, 17, 3)),
    ],
)
def test_backbones_answer_with_token_outputs(name: str, kwargs: dict, x: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_cls_tokens=20, num_kd_tokens=1, **kwargs).eval()
    with torch.no_grad():
        out = model.forward_tokens(x)
    assert isinstance(out, TokenOutput)
    width = out.cls.shape[-1]
    assert out.cls.shape == (2, 20, width) and out.kd is not None and out.kd.shape == (2, 1, width)
    assert len(out.kd_per_block) == len(out.cls_per_block) > 0
    assert out.reduction_blocks and max(out.reduction_blocks) < len(out.kd_per_block)
    torch.testing.assert_close(out.kd_per_block[-1], out.kd)  # the last block's tokens
