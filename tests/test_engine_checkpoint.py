"""engine/checkpoint.py: atomic writes, the RNG state, pretrained starts, the re-exported reader."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap.engine import checkpoint as engine_checkpoint
from musclemap.engine.checkpoint import (
    atomic_save,
    load_pretrained_weights,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from musclemap.errors import ConfigError
from musclemap.models import checkpoint as models_checkpoint


def test_the_engine_re_exports_the_one_reader() -> None:
    assert engine_checkpoint.read_checkpoint is models_checkpoint.read_checkpoint
    assert engine_checkpoint.load_checkpoint is models_checkpoint.load_checkpoint


def test_atomic_save_leaves_no_temporary_and_reads_back(tmp_path: Path) -> None:
    state = {"model": {"w": torch.arange(6.0).view(2, 3)}, "epoch": 3, "config": {"a": [1]}}
    atomic_save(state, tmp_path / "sub" / "x.pt")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.pt"]
    back = read_checkpoint(tmp_path / "sub" / "x.pt")
    assert torch.equal(back["model"]["w"], state["model"]["w"]) and back["epoch"] == 3


def test_rng_state_round_trip_repeats_every_generator() -> None:
    gen = torch.Generator().manual_seed(5)
    saved = rng_state(gen)
    first = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=gen))  # noqa: NPY002
    set_rng_state(saved, gen)
    again = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=gen))  # noqa: NPY002
    assert first[:2] == again[:2]
    assert torch.equal(first[2], again[2]) and torch.equal(first[3], again[3])


def test_pretrained_from_a_musclemap_checkpoint_must_fit_key_for_key(tmp_path: Path) -> None:
    src = torch.nn.Linear(3, 2)
    atomic_save({"model": src.state_dict(), "config": {}}, tmp_path / "run.pt")
    dst = torch.nn.Linear(3, 2)
    assert "musclemap checkpoint, all keys loaded" in load_pretrained_weights(
        dst, tmp_path / "run.pt"
    )
    assert torch.equal(dst.weight, src.weight)
    with pytest.raises(ConfigError, match="not found"):
        load_pretrained_weights(dst, tmp_path / "none.pt")
