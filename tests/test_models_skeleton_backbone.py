"""SkeletonBackbone: the block plan, input checks, features vs head, tokens only with MCT."""

from __future__ import annotations

import pytest
import torch

from musclemap.models import build_model
from musclemap.models.skeleton.backbone import block_channels
from musclemap.skeleton import COCO17

pytestmark = pytest.mark.usefixtures("one_thread")


def test_block_plan_widens_and_strides() -> None:
    plan = block_channels(3, base=8)
    assert plan[0] == (3, 8, 1)  # multiplier 0: the input's channels
    assert [c for _, c, _ in plan] == [8] * 4 + [16] * 3 + [32] * 3
    assert [i for i, (_, _, s) in enumerate(plan) if s == 2] == [4, 7]
    assert all(plan[i][1] == plan[i + 1][0] for i in range(len(plan) - 1))  # blocks chain


def test_wrong_input_shapes_raise() -> None:
    model = build_model("ctrgcn", layout=COCO17, base_channels=8)
    with pytest.raises(ValueError, match="joints"):
        model(torch.randn(1, 1, 8, 33, 3))
    with pytest.raises(ValueError, match="num_person"):
        model(torch.randn(1, 2, 8, 17, 3))


def test_forward_is_head_of_features() -> None:
    torch.manual_seed(0)
    model = build_model("stgcn", layout=COCO17, base_channels=8).eval()
    x = torch.randn(2, 1, 8, 17, 3)
    feats = model.forward_features(x)
    assert feats.shape == (2, model.num_features) == (2, 32)
    torch.testing.assert_close(model(x), model.forward_head(feats))


def test_forward_tokens_needs_mct() -> None:
    model = build_model("stgcn", layout=COCO17, base_channels=8)
    with pytest.raises(RuntimeError, match="num_cls_tokens"):
        model.forward_tokens(torch.randn(1, 1, 8, 17, 3))
    with pytest.raises(ValueError, match="num_cls_tokens"):
        build_model("stgcn", layout=COCO17, num_kd_tokens=20)
