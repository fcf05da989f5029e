"""One entry point for the original repositories' released checkpoints of every model family.

`load_pretrained(model, path)` picks the family's loader: PySlowFast / Video Swin checkpoints for
the video models (`musclemap.models.video.weights`), ST-GCN / CTR-GCN / HD-GCN `.pt` files for the
skeleton models (`musclemap.models.skeleton.weights`). Both are strict by default and return a
`LoadReport`; nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

from musclemap.models.skeleton.backbone import SkeletonBackbone
from musclemap.models.skeleton.weights import load_skeleton_state
from musclemap.models.video import weights as video_weights
from musclemap.models.video.mvit import MViT
from musclemap.models.video.resnet3d import ResNet3D
from musclemap.models.video.swin3d import SwinTransformer3D
from musclemap.models.video.weights import CheckpointError, LoadReport


def load_pretrained(
    model: nn.Module,
    path_or_state: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    reinit_head: bool = True,
    source: str = "",
) -> LoadReport:
    """Load an original repository's checkpoint (a file, or its tensors) into `model`.

    The classifier is re-initialised unless `reinit_head=False`. Raises `CheckpointError` when
    the checkpoint does not fit, or when the model's family has no such loader. `source` names
    a given state in error messages.
    """
    if isinstance(model, SkeletonBackbone):
        load = load_skeleton_state
    elif isinstance(model, ResNet3D | MViT | SwinTransformer3D):
        load = video_weights.load_state_dict_mapped
    else:
        raise CheckpointError(
            f"no loader for original checkpoints of {type(model).__name__} "
            "(supported: ResNet3D, MViT, Swin3D, ST-GCN, CTR-GCN, HD-GCN)"
        )
    if isinstance(path_or_state, Mapping):
        state, name = path_or_state, source or "checkpoint"
    else:
        state, name = video_weights.read_state_dict(path_or_state), source or str(path_or_state)
    return load(model, state, strict=strict, reinit_head=reinit_head, source=name)
