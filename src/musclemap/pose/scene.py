"""Numpy forward of the orientation gate's scene model (`models/scene_cnn.py`): how upright each
quarter turn of a frame's thumbnail looks, from the picture alone (floor, ceiling, walls, light).

The network was trained self-supervised to name the quarter turn given to an upright picture
(the wild clips' frames and the key-pose photos). A thumbnail is shown to it in all four turns;
turn k of the frame is upright when the four answers agree with it: its score is the summed
log-probability that `rot90(thumb, k + j)` was turned by j, over j. Pure numpy (no torch at
prediction time); batch norm was folded into the convolutions when the weights were written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _conv_s2(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 convolution, stride 2, padding 1, then ReLU: (N, H, W, I) -> (N, H/2, W/2, O) with
    torch's weight layout `w` (O, I, 3, 3)."""
    n, h, wd, c = x.shape
    pad = np.zeros((n, h + 2, wd + 2, c), x.dtype)
    pad[:, 1:-1, 1:-1] = x
    ho, wo = (h + 1) // 2, (wd + 1) // 2
    cols = np.empty((n, ho, wo, 3, 3, c), x.dtype)
    for dy in range(3):
        for dx in range(3):
            cols[:, :, :, dy, dx] = pad[:, dy : dy + 2 * ho : 2, dx : dx + 2 * wo : 2]
    kernel = w.transpose(2, 3, 1, 0).reshape(9 * c, -1)
    out = cols.reshape(n * ho * wo, 9 * c) @ kernel + b
    return np.maximum(out, 0.0).reshape(n, ho, wo, -1)


@dataclass
class SceneModel:
    """The folded weights: `convs` [(weight (O, I, 3, 3), bias (O,))], `fc` (4, F), `fc_bias`."""

    convs: list[tuple[np.ndarray, np.ndarray]]
    fc: np.ndarray
    fc_bias: np.ndarray

    @classmethod
    def from_tensors(cls, t: dict[str, np.ndarray], prefix: str = "") -> SceneModel:
        """From `export_weights`' names (under `prefix`); KeyError when one is missing."""
        convs: list[tuple[np.ndarray, np.ndarray]] = []
        while f"{prefix}conv{len(convs)}.weight" in t:
            i = len(convs)
            convs.append((t[f"{prefix}conv{i}.weight"], t[f"{prefix}conv{i}.bias"]))
        if not convs:
            raise KeyError(f"{prefix}conv0.weight")
        return cls(convs, t[f"{prefix}fc.weight"], t[f"{prefix}fc.bias"])

    def logits(self, thumbs: np.ndarray) -> np.ndarray:
        """uint8 thumbnails (B, 64, 64, 3) -> (B, 4) logits of the quarter turn each was given."""
        x = thumbs.astype(np.float32) / 255.0 - 0.5
        for w, b in self.convs:
            x = _conv_s2(x, w, b)
        flat = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # torch flattens (C, H, W)
        return flat @ self.fc.T + self.fc_bias

    def turn_scores(self, thumbs: np.ndarray) -> np.ndarray:
        """(B, 4): how upright `np.rot90(thumb, k)` looks for k = 0..3, the summed
        log-probabilities of the four turns of the thumbnail agreeing with it."""
        views = np.concatenate([np.rot90(thumbs, m, axes=(1, 2)) for m in range(4)])
        z = self.logits(np.ascontiguousarray(views)).reshape(4, len(thumbs), 4)
        logp = z - z.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        # view m = k + j of a frame upright at turn k was turned by j from upright
        return np.stack(
            [sum(logp[(k + j) % 4, :, j] for j in range(4)) for k in range(4)], axis=1
        )

    def upright_scores(self, thumbs: np.ndarray) -> np.ndarray:
        """`turn_scores` averaged with the mirrored thumbnails' (a mirrored picture is upright
        when the picture is; its turn k is the picture's turn -k)."""
        both = self.turn_scores(np.concatenate([thumbs, thumbs[:, :, ::-1]]))  # one batch
        plain, mirrored = both[: len(thumbs)], both[len(thumbs) :]
        return (plain + mirrored[:, [0, 3, 2, 1]]) / 2
