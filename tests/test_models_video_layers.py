"""The video transformers' MLP (fc1 -> GELU -> fc2, named as the reference checkpoints) and the
shared DropPath it re-exports."""

from __future__ import annotations

import torch

from musclemap.models import layers
from musclemap.models.video import layers as video_layers
from musclemap.models.video.layers import Mlp


def test_mlp_by_hand_and_checkpoint_names() -> None:
    torch.manual_seed(0)
    mlp = Mlp(4, 8, 3)
    assert set(mlp.state_dict()) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    x = torch.randn(2, 5, 4)  # (B, tokens, C)
    hidden = torch.nn.functional.gelu(x @ mlp.fc1.weight.T + mlp.fc1.bias)
    torch.testing.assert_close(mlp(x), hidden @ mlp.fc2.weight.T + mlp.fc2.bias)
    assert mlp(x).shape == (2, 5, 3)


def test_drop_path_is_the_shared_one() -> None:
    assert video_layers.DropPath is layers.DropPath
    drop = video_layers.DropPath(0.5).train()
    out = drop(torch.ones(64, 3))
    kept = out[:, 0] > 0
    assert 0 < kept.sum() < 64  # whole samples dropped, survivors scaled by 1 / keep
    assert torch.equal(out[kept], torch.full((int(kept.sum()), 3), 2.0))
