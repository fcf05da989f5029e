"""`model.pretrained` in a config: original releases and musclemap checkpoints, loaded strictly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from musclemap.config import load_config
from musclemap.engine.checkpoint import atomic_save
from musclemap.engine.train import build_experiment_model
from musclemap.errors import ConfigError, MusclemapError
from musclemap.models import build_model

KW = "model.kwargs={layout: coco17, base_channels: 8}"


def _cfg(path: Path, name: str = "ctrgcn", kwargs: str = KW):
    return load_config(None, [f"model.name={name}", kwargs, f"model.pretrained={path}"])


def _ctrgcn_release(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    # CTR-GCN's key names (model/ctrgcn.py): l{n}.gcn1 / l{n}.tcn1, PA, fc; 60 NTU classes.
    out = {}
    for key, value in model.state_dict().items():
        key = re.sub(r"^blocks\.(\d+)\.", lambda m: f"l{int(m.group(1)) + 1}.", key)
        key = key.replace(".gcn.", ".gcn1.").replace(".tcn.", ".tcn1.").replace("head.", "fc.")
        out[re.sub(r"gcn1\.pa$", "gcn1.PA", key)] = value
    return out


def test_original_release_loads_with_a_new_head(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("ctrgcn", layout="coco17", base_channels=8, num_classes=60)
    torch.save(_ctrgcn_release(src), tmp_path / "ctrgcn_ntu.pt")
    model = build_experiment_model(_cfg(tmp_path / "ctrgcn_ntu.pt"))
    assert torch.equal(model.blocks[3].gcn.pa, src.blocks[3].gcn.pa)
    assert model.head.out_features == 20  # our groups, freshly initialised


def test_musclemap_checkpoint_must_fit_every_key(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = build_model("ctrgcn", layout="coco17", base_channels=8)
    atomic_save({"model": src.state_dict(), "config": {"task": "supervised"}}, tmp_path / "a.pt")
    model = build_experiment_model(_cfg(tmp_path / "a.pt"))
    assert torch.equal(model.head.weight, src.head.weight)
    # Another width: before, a non-strict load kept the fresh weights and only logged.
    wide = build_model("ctrgcn", layout="coco17", base_channels=16)
    atomic_save({"model": wide.state_dict(), "config": {"task": "supervised"}}, tmp_path / "b.pt")
    with pytest.raises(ConfigError, match="shape mismatch"):
        build_experiment_model(_cfg(tmp_path / "b.pt"))


def test_release_of_another_family_is_one_clear_error(tmp_path: Path) -> None:
    src = build_model("ctrgcn", layout="coco17", base_channels=8)
    torch.save(_ctrgcn_release(src), tmp_path / "ctr.pt")
    with pytest.raises(MusclemapError, match="a CTR-GCN checkpoint, but the model is ST-GCN"):
        build_experiment_model(_cfg(tmp_path / "ctr.pt", "stgcn"))
    with pytest.raises(MusclemapError, match="no loader for original checkpoints of TransM3E"):
        build_experiment_model(
            _cfg(
                tmp_path / "ctr.pt",
                "transm3e",
                "model.kwargs={receiver: mvitv2_test, receiver_input_shape: [3, 4, 32, 32], "
                "sender_kwargs: {layout: coco17, base_channels: 8}}",
            )
        )
    with pytest.raises(ConfigError, match="not found"):
        build_experiment_model(_cfg(tmp_path / "missing.pt"))
