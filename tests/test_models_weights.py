"""`load_pretrained`, the one entry point for released checkpoints: it sends a video model to the
PySlowFast / Video Swin loader and a skeleton model to the GCN loader (file or tensors), names
a given state in its errors, and refuses a model family it has no loader for."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from musclemap.models import build_model
from musclemap.models.video.weights import CheckpointError
from musclemap.models.weights import load_pretrained


def _built(name: str, seed: int, **kwargs: object) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, **kwargs)


def _equal_except(a: nn.Module, b: nn.Module, prefix: str) -> list[str]:
    sb = b.state_dict()
    return [k for k, v in a.state_dict().items() if not k.startswith(prefix)
            and not torch.equal(v, sb[k])]


def test_a_video_release_file_loads_with_a_new_head(tmp_path: Path) -> None:
    src, dst = _built("i3d_test", 0), _built("i3d_test", 1)
    torch.save({"model_state": src.state_dict()}, tmp_path / "i3d.pyth")  # PySlowFast's format
    head = dst.state_dict()["head.projection.weight"].clone()
    report = load_pretrained(dst, tmp_path / "i3d.pyth")
    assert report.ok and _equal_except(src, dst, "head.") == []
    assert "head.projection.weight" in report.reinitialised
    assert torch.equal(dst.state_dict()["head.projection.weight"], head)  # kept, not loaded


def test_skeleton_tensors_load_with_their_head_when_asked() -> None:
    kw = {"layout": "coco17", "base_channels": 8}
    src, dst = _built("stgcn", 0, **kw), _built("stgcn", 1, **kw)
    report = load_pretrained(dst, src.state_dict(), reinit_head=False)
    assert report.ok and report.reinitialised == []
    assert _equal_except(src, dst, "nothing") == []


def test_errors_name_the_given_state_and_unknown_families() -> None:
    with pytest.raises(CheckpointError, match="my-upload"):
        load_pretrained(_built("i3d_test", 0), {"fc.weight": torch.zeros(2, 2)},
                        source="my-upload")
    with pytest.raises(CheckpointError, match="no loader for original checkpoints of Linear"):
        load_pretrained(nn.Linear(2, 2), {"weight": torch.zeros(2, 2)})
