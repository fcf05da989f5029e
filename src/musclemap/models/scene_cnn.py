"""The orientation gate's scene model: which quarter turn a picture was given (RotNet-style).

Four 3x3 stride-2 convolutions (batch norm, ReLU) take a 64x64 RGB thumbnail to a 4x4 map,
kept in place (where the floor, ceiling and light sit is the cue, so no global pooling), then a
linear layer scores the four counter-clockwise quarter turns. Trained self-supervised by
`benchmarks/orientation_scene.py`; at prediction time `musclemap.pose.scene` runs the same
forward in numpy (batch norm folded into the convolutions by `export_weights`). Not in the
model registry: that is for muscle-group models (`num_classes` logits, tests/
test_registry_contract.py); this one is a part of the orientation gate, built as `SceneCnn()`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

SIZE = 64


class SceneCnn(nn.Module):
    def __init__(self, *, widths: Sequence[int] = (16, 32, 48, 64), dropout: float = 0.3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w),
                       nn.ReLU(inplace=True)]  # fmt: skip
            cin = w
        self.features = nn.Sequential(*layers)
        side = SIZE // 2 ** len(widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin * side**2, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (B, 3, 64, 64) as `prepare` gives -> (B, 4) logits of the turn applied."""
        return self.head(self.features(x))


def prepare(thumbs: np.ndarray) -> torch.Tensor:
    """uint8 thumbnails (B, 64, 64, 3) -> the network's input (B, 3, 64, 64), centred."""
    x = torch.from_numpy(np.ascontiguousarray(thumbs)).float().div_(255.0).sub_(0.5)
    return x.permute(0, 3, 1, 2).contiguous()


def export_weights(model: SceneCnn) -> dict[str, np.ndarray]:
    """float32 arrays for `musclemap.pose.scene.SceneModel`: convolutions with their batch norm
    folded in (`conv{i}.weight` (O, I, 3, 3), `conv{i}.bias`), `fc.weight`, `fc.bias`."""
    out: dict[str, np.ndarray] = {}
    mods = list(model.features)
    convs = [(m, mods[i + 1]) for i, m in enumerate(mods) if isinstance(m, nn.Conv2d)]
    for i, (conv, bn) in enumerate(convs):
        assert isinstance(bn, nn.BatchNorm2d) and bn.running_var is not None
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        out[f"conv{i}.weight"] = (conv.weight.detach() * scale[:, None, None, None]).numpy()
        out[f"conv{i}.bias"] = (bn.bias.detach() - bn.running_mean * scale).numpy()  # type: ignore[operator]
    fc = model.head[-1]
    assert isinstance(fc, nn.Linear)
    out["fc.weight"], out["fc.bias"] = fc.weight.detach().numpy(), fc.bias.detach().numpy()
    return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}
